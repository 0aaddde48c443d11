/**
 * The package as users get it: `npm pack` the build once, install the
 * tarball into a temporary ESM project and a temporary CommonJS project
 * (dependencies from the registry or npm's cache), and use it from there —
 * `import`, `require`, a two-node mesh over loopback WebSockets, the bin,
 * TypeScript consumers compiled to CommonJS and NodeNext with the current
 * TypeScript and with the stated minimum (5.4), and every ```ts block of
 * README.md and docs/*.md compiled against the packed declarations.
 * Needs `npm run build` (dist/ and dist/cjs/).
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractSnippets, snippetModule } from './doc-snippets.js';
import { installProject, packTarball, ROOT, run, TS_MINIMUM } from './pack.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const requireHere = createRequire(import.meta.url);
/** Versions installed here, so the consumers resolve from npm's cache. */
const installed = (name: string): string => (requireHere(`${name}/package.json`) as { version: string }).version;
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

let tmp = '';
let esm = '';
let cjs = '';
const tsc: Record<string, string> = { current: requireHere.resolve('typescript/bin/tsc'), minimum: '' };

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tallymesh-consumer-'));
  esm = join(tmp, 'esm');
  cjs = join(tmp, 'cjs');
  const tarball = await packTarball(tmp);
  const typesNode = `@types/node@${installed('@types/node')}`;
  await Promise.all([
    installProject(esm, { name: 'esm-consumer', type: 'module' }, [
      tarball,
      typesNode,
      // For the documentation's Express and Fastify blocks.
      `express@${installed('express')}`,
      `@types/express@${installed('@types/express')}`,
      `fastify@${installed('fastify')}`,
    ]),
    installProject(cjs, { name: 'cjs-consumer', type: 'commonjs' }, [tarball, typesNode]),
    installProject(join(tmp, 'ts-minimum'), { name: 'ts-minimum' }, [`typescript@${TS_MINIMUM}`]),
  ]);
  tsc.minimum = join(tmp, 'ts-minimum', 'node_modules', 'typescript', 'bin', 'tsc');
}, 180_000);

afterAll(async () => {
  if (tmp !== '') await rm(tmp, { recursive: true, force: true });
});

/** Runs a JavaScript file (or `-e` code) with node in `cwd` and parses the JSON line it prints last. */
async function node<T>(cwd: string, args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, args, cwd, 30_000);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

describe('the packed package in consumer projects', () => {
  it('ESM: import { createLimiter, createMesh } from "tallymesh", and every entry', async () => {
    const code = `
      import { createLimiter, createMesh } from 'tallymesh';
      import { expressRateLimit } from 'tallymesh/http';
      import { loadConfig } from 'tallymesh/daemon';
      import { runSimulation } from 'tallymesh/sim';
      import { createClient } from 'tallymesh/client';
      const api = createLimiter({ name: 'api', limit: 1, windowMs: 1000 });
      console.log(JSON.stringify({
        allowed: [api.consume('k').allowed, api.consume('k').allowed],
        types: [createMesh, expressRateLimit, loadConfig, runSimulation, createClient].map((f) => typeof f),
      }));`;
    const out = await node<{ allowed: boolean[]; types: string[] }>(esm, ['--input-type=module', '-e', code]);
    expect(out).toEqual({ allowed: [true, false], types: ['function', 'function', 'function', 'function', 'function'] });
  });

  it('CommonJS: require("tallymesh"), require("tallymesh/http") and the other entries', async () => {
    const code = `
      const { createLimiter, createMesh, isTallymeshError } = require('tallymesh');
      const http = require('tallymesh/http');
      const api = createLimiter({ name: 'api', limit: 1, windowMs: 1000 });
      let refused = false;
      try { api.consume('k', 0); } catch (err) { refused = isTallymeshError(err); }
      console.log(JSON.stringify({
        allowed: [api.consume('k').allowed, api.consume('k').allowed],
        refused,
        http: ['rateLimit', 'expressRateLimit', 'fastifyRateLimit'].map((n) => typeof http[n]),
        others: [createMesh, require('tallymesh/daemon').startDaemon, require('tallymesh/sim').runSimulation, require('tallymesh/client').createClient].map((f) => typeof f),
        version: require('tallymesh/package.json').version,
        resolved: require.resolve('tallymesh').split('node_modules/')[1],
      }));`;
    const out = await node<Record<string, unknown>>(cjs, ['-e', code]);
    expect(out).toEqual({
      allowed: [true, false],
      refused: true,
      http: ['function', 'function', 'function'],
      others: ['function', 'function', 'function', 'function'],
      version: pkg.version,
      resolved: 'tallymesh/dist/cjs/src/index.js',
    });
  });

  it('CommonJS: two createMesh nodes over loopback WebSockets converge on a count', async () => {
    await copyFile(join(FIXTURES, 'mesh-consumer.cjs'), join(cjs, 'mesh-consumer.cjs'));
    const out = await node<{ remaining: number[] }>(cjs, ['mesh-consumer.cjs']);
    expect(out.remaining).toEqual([95, 95]);
  });

  // The RLS port loads its .proto files from beside its modules: both builds must ship them.
  it.each([
    { build: 'ESM', project: () => esm, args: ['--input-type=module', '-e'], load: "const { loadConfig, startDaemon } = await import('tallymesh/daemon');" },
    { build: 'CommonJS', project: () => cjs, args: ['-e'], load: "const { loadConfig, startDaemon } = require('tallymesh/daemon');" },
  ])('$build: the daemon serves the Envoy rate limit service from the installed package’s .proto files', async ({ project, args, load }) => {
    const rlsFile = join(project(), 'ratelimit.yaml');
    await writeFile(rlsFile, 'domain: edge\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: second, requests_per_unit: 10}\n');
    const code = `(async () => {
      ${load}
      const { config } = loadConfig({ flags: { port: '0', logLevel: 'silent', limiter: ['name=api,limit=1,window=1s'], rlsPort: '0', rlsConfig: ${JSON.stringify(rlsFile)} } });
      const daemon = await startDaemon(config);
      const port = daemon.rlsPort;
      await daemon.close();
      console.log(JSON.stringify({ port: typeof port }));
    })();`;
    expect(await node<{ port: string }>(project(), [...args, code])).toEqual({ port: 'number' });
  });

  it('the bin runs from the installed package', async () => {
    const { stdout } = await run(join(esm, 'node_modules', '.bin', 'tallymesh'), ['--version'], esm);
    expect(stdout.trim()).toBe(pkg.version);
  });

  // The current TypeScript checks how each module mode resolves the declarations
  // (the `import` and `require` conditions, and `typesVersions` for node10);
  // the minimum one also checks the declarations themselves (skipLibCheck off),
  // in both builds' copies. esModuleInterop as `tsc --init` sets it: pino's own
  // declarations (under tallymesh/daemon) need it in a CommonJS project.
  it.each([
    { mode: 'CommonJS (module commonjs)', project: () => cjs, module: 'commonjs', ts: 'current', skipLibCheck: true },
    { mode: 'NodeNext ESM', project: () => esm, module: 'nodenext', ts: 'current', skipLibCheck: true },
    { mode: 'NodeNext CommonJS', project: () => cjs, module: 'nodenext', ts: 'current', skipLibCheck: true },
    { mode: 'CommonJS (module commonjs)', project: () => cjs, module: 'commonjs', ts: 'minimum', skipLibCheck: false },
    { mode: 'NodeNext ESM', project: () => esm, module: 'nodenext', ts: 'minimum', skipLibCheck: false },
  ])('a TypeScript consumer, $mode, type-checks with the $ts TypeScript and runs', async ({ project, module, ts, skipLibCheck }) => {
    const dir = join(project(), `ts-${module}-${ts}`);
    await mkdir(dir, { recursive: true });
    await copyFile(join(FIXTURES, 'consumer.ts'), join(dir, 'consumer.ts'));
    const compilerOptions = {
      module,
      moduleResolution: module === 'commonjs' ? 'node10' : 'nodenext',
      target: 'ES2022',
      lib: ['ES2022'],
      types: ['node'],
      strict: true,
      esModuleInterop: true,
      skipLibCheck,
      outDir: 'out',
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }, null, 2));
    const { stdout } = await run(process.execPath, [tsc[ts]!, '-p', 'tsconfig.json', '--pretty', 'false', '--listFiles'], dir, 60_000);
    // Each condition brings its own declarations: ESM the dist/ ones, CommonJS (and node10's typesVersions) dist/cjs/.
    const declarations = stdout.split('\n').filter((f) => f.includes('/node_modules/tallymesh/')).map((f) => f.split('/node_modules/tallymesh/')[1]);
    const [mine, other] = project() === esm ? ['dist/src/', 'dist/cjs/'] : ['dist/cjs/src/', 'dist/src/'];
    for (const entry of ['', 'http/', 'daemon/', 'sim/', 'client/']) expect(declarations).toContain(`${mine}${entry}index.d.ts`);
    expect(declarations.filter((f) => f!.startsWith(other))).toEqual([]);
    const out = await node<Record<string, unknown>>(dir, ['out/consumer.js']);
    expect(out).toEqual({
      allowed: [true, true, false],
      refused: 'TALLYMESH_ERR_COST_INVALID',
      middleware: ['function', 'function'],
      policy: '"api";q=100;w=60',
      limiters: ['api'],
      scenarioSeed: 7,
      meshRemaining: 7,
      client: 'fail-closed',
    });
  });

  it('every ts block of README.md and docs/*.md type-checks against the packed declarations', async () => {
    const docs = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const dir = join(esm, 'snippets');
    await mkdir(dir, { recursive: true });
    const files: string[] = [];
    for (const doc of docs) {
      const snippets = extractSnippets(await readFile(join(ROOT, doc), 'utf8'));
      if (snippets.length === 0) continue;
      const file = `${doc.replace(/[/.]/g, '_')}.ts`;
      await writeFile(join(dir, file), snippetModule(doc, snippets));
      files.push(file);
    }
    expect(files).toContain('README_md.ts');
    const compilerOptions = { module: 'nodenext', target: 'ES2022', lib: ['ES2022'], types: ['node'], strict: true, noEmit: true, skipLibCheck: true };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }, null, 2));
    // On failure the message names the generated file and line; each block there starts with `// <doc>:<line>`.
    await run(process.execPath, [tsc.current!, '-p', 'tsconfig.json', '--pretty', 'false'], dir, 60_000).catch(async (err: Error) => {
      const listings = await Promise.all(files.map(async (f) => `--- ${f}\n${numbered(await readFile(join(dir, f), 'utf8'))}`));
      throw new Error(`${err.message}\n${listings.join('\n')}`);
    });
  });
});

/** `text` with line numbers, for failure messages. */
function numbered(text: string): string {
  return text
    .split('\n')
    .map((l, i) => `${String(i + 1).padStart(4)}  ${l}`)
    .join('\n');
}
