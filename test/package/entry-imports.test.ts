/**
 * Which third-party packages each entry of the built package loads, through
 * ESM `import` and CommonJS `require` alike. Each probe is a fresh `node`
 * process that resolves `tallymesh...` by self-reference (this repository's
 * package.json `exports`, the same map the tarball ships) with
 * load-recorder.mjs preloaded, which logs every file either module system
 * resolves. Needs `npm run build` (dist/ and dist/cjs/).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RECORDER = fileURLToPath(new URL('./load-recorder.mjs', import.meta.url));
/** The daemon stack and the CLI: what the embedded library must not load. */
const HEAVY = ['commander', 'msgpackr', 'pino', 'prom-client', 'ws', 'yaml'];

type Mode = 'import' | 'require';

interface Loaded {
  /** Third-party packages (`node_modules/<name>`), sorted. */
  packages: string[];
  /** This package's own files, relative to the repository. */
  own: string[];
}

let logDir = '';
let probes = 0;

beforeAll(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'tallymesh-loads-'));
});
afterAll(async () => {
  await rm(logDir, { recursive: true, force: true });
});

/** Runs `body` (an ESM module or a CommonJS script) in a fresh node and returns what it loaded. */
async function probe(mode: Mode, body: string): Promise<Loaded> {
  const log = join(logDir, `probe-${++probes}.log`);
  const args = mode === 'import' ? ['--input-type=module', '-e', body] : ['-e', body];
  await promisify(execFile)(process.execPath, ['--import', RECORDER, ...args], {
    cwd: ROOT,
    env: { ...process.env, TALLYMESH_LOAD_LOG: log },
    timeout: 20_000,
  });
  const lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
  const packages = new Set<string>();
  const own = new Set<string>();
  for (const line of lines) {
    const path = line.startsWith('file:') ? fileURLToPath(line) : line;
    for (const m of path.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)) packages.add(m[1]!);
    if (path.startsWith(ROOT) && !path.includes('node_modules')) own.add(path.slice(ROOT.length).replace(/^\//, ''));
  }
  return { packages: [...packages].sort(), own: [...own].sort() };
}

const load = (mode: Mode, specifier: string): Promise<Loaded> =>
  probe(mode, mode === 'import' ? `await import(${JSON.stringify(specifier)});` : `require(${JSON.stringify(specifier)});`);

describe.each<Mode>(['import', 'require'])('entries loaded with %s', (mode) => {
  const build = mode === 'import' ? 'dist/src/' : 'dist/cjs/src/';
  const otherBuild = mode === 'import' ? 'dist/cjs/' : 'dist/src/';

  it('tallymesh loads no third-party package, from its own build only', async () => {
    const { packages, own } = await load(mode, 'tallymesh');
    expect(packages).toEqual([]);
    expect(own).toContain(`${build}index.js`);
    expect(own.filter((f) => f.startsWith(otherBuild))).toEqual([]);
  });

  it('tallymesh/http loads no third-party package', async () => {
    const { packages, own } = await load(mode, 'tallymesh/http');
    expect(packages).toEqual([]);
    expect(own).toContain(`${build}http/index.js`);
  });

  it('createMesh loads the transport (ws, msgpackr) when called, and no daemon stack', async () => {
    const body =
      mode === 'import'
        ? `const { createMesh } = await import('tallymesh');
           const mesh = await createMesh({ nodeId: 'probe', port: 0 });
           await mesh.close();`
        : `require('tallymesh').createMesh({ nodeId: 'probe', port: 0 })
             .then((mesh) => mesh.close())
             .catch((err) => { console.error(err); process.exitCode = 1; });`;
    const { packages, own } = await probe(mode, body);
    expect(packages).toEqual(expect.arrayContaining(['msgpackr', 'ws']));
    for (const name of ['commander', 'pino', 'prom-client', 'yaml']) expect(packages).not.toContain(name);
    expect(own).toContain(`${build}mesh/port/ws-listener.js`);
  });

  it('tallymesh/daemon loads the daemon stack but not the CLI', async () => {
    const { packages } = await load(mode, 'tallymesh/daemon');
    expect(packages).toEqual(expect.arrayContaining(['msgpackr', 'pino', 'prom-client', 'ws', 'yaml']));
    expect(packages).not.toContain('commander');
  });

  it('tallymesh/client loads ws and msgpackr, and nothing of the daemon stack or the mesh', async () => {
    const { packages, own } = await load(mode, 'tallymesh/client');
    expect(packages).toEqual(expect.arrayContaining(['msgpackr', 'ws']));
    for (const name of ['commander', 'pino', 'prom-client', 'yaml']) expect(packages).not.toContain(name);
    expect(own).toContain(`${build}client/index.js`);
    expect(own).toContain(`${build}stream/stream-codec.js`);
    expect(own.filter((f) => f.includes('/daemon/') || f.includes('/mesh/') || f.includes('/limiter/'))).toEqual([]);
    expect(own.filter((f) => f.startsWith(otherBuild))).toEqual([]);
  });

  it('tallymesh/sim loads neither the daemon stack nor the WebSocket transport', async () => {
    const { packages, own } = await load(mode, 'tallymesh/sim');
    for (const name of HEAVY.filter((n) => n !== 'msgpackr')) expect(packages).not.toContain(name);
    expect(own).toContain(`${build}sim/index.js`);
  });
});
