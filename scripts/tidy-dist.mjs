#!/usr/bin/env node
/**
 * Runs before the two tsc builds (`npm run build`):
 * - removes from dist/ what the build no longer emits — an output whose `.ts`
 *   source is gone (a moved or deleted file would otherwise ship from a stale
 *   dist/), a CommonJS output outside the folders the CommonJS build compiles,
 *   and source maps (the build emits none);
 * - writes dist/cjs/package.json (`"type": "commonjs"`), which makes Node and
 *   TypeScript read dist/cjs/ as CommonJS inside this `"type": "module"` package;
 * - copies the `.proto` files of the Envoy rate limit service (src/rls/proto/)
 *   beside the modules that load them, in both builds (tsc copies no assets).
 *
 * Outputs that are still emitted stay for tsc to overwrite: a build never
 * empties dist/ under a process running from it.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/** The CommonJS build's output folder, under dist/. */
const CJS_DIR = 'cjs';
/** Top-level source folders the CommonJS build compiles (see tsconfig.cjs.json). */
const CJS_SOURCES = new Set(['crdt', 'transport', 'src']);
const CJS_MANIFEST = `${CJS_DIR}/package.json`;
/** Assets copied as they are into both builds: their dist/ path mirrors the source path. */
const ASSET_DIRS = ['src/rls/proto'];
const ASSET_RE = /\.proto$/;

/**
 * The source a dist/ file was compiled from (`src/a.ts` for `src/a.js`,
 * `src/a.d.ts` and `cjs/src/a.js`), or null when the build does not emit it.
 */
function sourceOf(rel) {
  const parts = rel.split('/');
  if (parts[0] === CJS_DIR) {
    parts.shift();
    if (!CJS_SOURCES.has(parts[0])) return null;
  }
  const rel2 = parts.join('/');
  if (ASSET_RE.test(rel2)) return rel2;
  const m = /^(.*)\.(?:d\.ts|js)$/.exec(rel2);
  return m === null ? null : `${m[1]}.ts`;
}

let removed = 0;

/** Deletes what is stale under `dir`; returns true when `dir` ends up empty. */
function prune(dir, rel) {
  let empty = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const entryRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      if (prune(path, entryRel)) rmdirSync(path);
      else empty = false;
      continue;
    }
    const source = entryRel === CJS_MANIFEST ? CJS_MANIFEST : sourceOf(entryRel);
    if (source === CJS_MANIFEST || (source !== null && existsSync(join(ROOT, source)))) {
      empty = false;
    } else {
      rmSync(path);
      removed++;
    }
  }
  return empty;
}

if (existsSync(DIST)) prune(DIST, '');
mkdirSync(join(DIST, CJS_DIR), { recursive: true });
writeFileSync(join(DIST, CJS_MANIFEST), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
/** Every asset file under `dir` (relative to the repository root). */
function assets(dir) {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => ASSET_RE.test(f))
    .map((f) => `${dir}/${f.split('\\').join('/')}`);
}
for (const asset of ASSET_DIRS.flatMap(assets)) {
  for (const target of [join(DIST, asset), join(DIST, CJS_DIR, asset)]) {
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(ROOT, asset), target);
  }
}
if (removed > 0) console.log(`tidy-dist: removed ${removed} stale file(s) from dist/`);
