/**
 * What `npm pack` would ship (`npm pack --dry-run --json`) and what
 * package.json promises about it: the LICENSE, README and docs it links to,
 * a file behind every `exports` condition, no source maps, no benchmarks or
 * tests, runtime dependencies that are exactly what the shipped code imports,
 * no install-time scripts, and `engines` and the README saying the same.
 * Needs `npm run build`.
 */
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { packedFiles, ROOT, TS_MINIMUM } from './pack.js';

interface Manifest {
  name: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: unknown;
  typesVersions: Record<string, Record<string, string[]>>;
  engines: { node: string };
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Manifest;
let files: string[] = [];
let shipped = new Set<string>();

beforeAll(async () => {
  files = await packedFiles();
  shipped = new Set(files);
}, 60_000);

/** Every string leaf of an `exports` map (its targets). */
function targets(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (node === null || typeof node !== 'object') return [];
  return Object.values(node).flatMap(targets);
}

const clean = (path: string): string => posix.normalize(path).replace(/^\.\//, '');

describe('the packed file list', () => {
  it('has the LICENSE, the README, package.json and the docs the README links to', () => {
    for (const f of ['LICENSE', 'README.md', 'package.json']) expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThan(0);
  });

  it('has a file behind every exports condition, main, types, typesVersions and bin', () => {
    const wanted = [...targets(pkg.exports), pkg.main, pkg.types, ...Object.values(pkg.bin)];
    for (const paths of Object.values(pkg.typesVersions)) wanted.push(...Object.values(paths).flat());
    expect(wanted.length).toBeGreaterThan(20);
    for (const target of wanted) expect(files, target).toContain(clean(target));
    // Every entry has both builds, each with its declarations.
    for (const entry of ['', 'http/', 'daemon/', 'sim/', 'client/']) {
      for (const build of ['dist/src/', 'dist/cjs/src/']) {
        expect(files).toContain(`${build}${entry}index.js`);
        expect(files).toContain(`${build}${entry}index.d.ts`);
      }
    }
    expect(files).toContain('dist/cjs/package.json');
  });

  it('has the dashboard files (the page, its modules, the vendored uPlot and its license) beside both builds of their server', () => {
    for (const build of ['dist/src/', 'dist/cjs/src/']) {
      expect(files).toContain(`${build}daemon/ui/ui-assets.js`);
      for (const name of ['index.html', 'app.js', 'dashboard.css', 'favicon.svg', 'vendor/uPlot.iife.min.js', 'vendor/uPlot.min.css', 'vendor/uPlot.LICENSE.txt']) {
        expect(files).toContain(`${build}daemon/ui/static/${name}`);
      }
    }
  });

  it('has no source maps, TypeScript sources, benchmarks or tests', () => {
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /(^|\/)(bench|test)\//.test(f))).toEqual([]);
  });

  it('every relative link of the shipped Markdown points at a shipped file', async () => {
    const broken: string[] = [];
    for (const doc of files.filter((f) => f.endsWith('.md'))) {
      const text = await readFile(join(ROOT, doc), 'utf8');
      for (const [, href] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(href!) || href!.startsWith('#')) continue;
        const target = posix.normalize(posix.join(posix.dirname(doc), href!.split('#')[0]!));
        if (!shipped.has(target)) broken.push(`${doc}: ${href}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('package.json', () => {
  it('depends at run time on exactly the packages the shipped code imports', async () => {
    const imported = new Set<string>();
    const builtins = new Set(builtinModules);
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      // preProcessFile sees import, export-from, import() and require(), and skips comments (TSDoc examples).
      const { importedFiles } = ts.preProcessFile(await readFile(join(ROOT, file), 'utf8'), true, true);
      for (const { fileName } of importedFiles) {
        if (fileName.startsWith('.') || fileName.startsWith('node:') || builtins.has(fileName)) continue;
        const parts = fileName.split('/');
        const name = fileName.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
        if (name !== pkg.name) imported.add(name);
      }
    }
    expect([...imported].sort()).toEqual(Object.keys(pkg.dependencies).sort());
  });

  it('runs no script when installed, and builds before start, test and bench', () => {
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[hook], hook).toBeUndefined();
    for (const hook of ['prestart', 'pretest', 'prebench', 'prepack']) expect(pkg.scripts[hook]).toBe('npm run build');
    expect(pkg.scripts.pretallymesh).toContain('build-if-missing');
  });

  it('states the same Node.js and TypeScript minimums as the README', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const node = /^>=(\d+)\.(\d+)\.\d+$/.exec(pkg.engines.node);
    expect(node, pkg.engines.node).not.toBeNull();
    expect(readme).toContain(`Needs Node.js ${node![1]}.${node![2]} or later`);
    const tsMinor = TS_MINIMUM.split('.').slice(0, 2).join('.');
    expect(readme).toContain(`TypeScript ${tsMinor} or later`);
    expect((pkg as unknown as Record<string, string>)['//']).toContain(`TypeScript >= ${tsMinor}`);
  });
});
