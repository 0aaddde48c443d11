#!/usr/bin/env node
/**
 * Runs before the two tsc builds (`npm run build`):
 * - removes from dist/ what the build no longer emits — an output whose `.ts`
 *   source is gone (a moved or deleted file would otherwise ship from a stale
 *   dist/), a CommonJS output outside the folders the CommonJS build compiles,
 *   and source maps (the build emits none);
 * - writes dist/cjs/package.json (`"type": "commonjs"`), which makes Node and
 *   TypeScript read dist/cjs/ as CommonJS inside this `"type": "module"` package;
 * - copies the folders of files tsc does not touch beside the compiled
 *   modules that load them, in both builds: the `.proto` files of Envoy's
 *   rate limit service (src/rls/proto/) and the dashboard's HTML, CSS,
 *   JavaScript and vendored uPlot (src/daemon/ui/static/); a copy whose
 *   original is gone is removed like any stale output.
 *
 * Outputs that are still emitted stay for tsc to overwrite: a build never
 * empties dist/ under a process running from it.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/** The CommonJS build's output folder, under dist/. */
const CJS_DIR = 'cjs';
/** Top-level source folders the CommonJS build compiles (see tsconfig.cjs.json). */
const CJS_SOURCES = new Set(['crdt', 'transport', 'src']);
const CJS_MANIFEST = `${CJS_DIR}/package.json`;
/** Folders of static files, copied as they are into dist/ and dist/cjs/ (their loaders are in both builds). */
const STATIC_DIRS = ['src/rls/proto', 'src/daemon/ui/static'];

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
  const path = parts.join('/');
  if (STATIC_DIRS.some((dir) => path.startsWith(`${dir}/`))) return path;
  const m = /^(.*)\.(?:d\.ts|js)$/.exec(path);
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
for (const dir of STATIC_DIRS) {
  for (const build of ['', `${CJS_DIR}/`]) cpSync(join(ROOT, dir), join(DIST, `${build}${dir}`), { recursive: true });
}
if (removed > 0) console.log(`tidy-dist: removed ${removed} stale file(s) from dist/`);
