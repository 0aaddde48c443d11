/**
 * Scenario "memory": what one key costs a node, the figure the daemon sizes
 * `maxKeys` from when it is given a memory limit instead (`--memory-limit` or
 * the cgroup's `memory.max`; see src/daemon/memory-budget.ts, whose constants
 * test/src/daemon/memory-budget.test.ts checks against this file's results).
 *
 * Each row is one process of its own (bench/memory/fill-keys.ts, a fresh heap
 * under `--expose-gc`): one node alone, or three nodes linked over loopback
 * WebSockets where every node hits every key (so each node holds three
 * replicas' cells per key: the costliest steady state of a three-node
 * cluster). Figures per key held on a node, after a full GC: the V8 heap,
 * the memory outside it (the window cells' typed arrays), and the RSS.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { rssBytesOf } from './daemon/daemon-processes.js';
import type { ResultRow } from './lib/scenario.js';
import type { Target } from './lib/targets.js';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Nodes in the process, and keys each node takes a hit on. */
const POINTS: ReadonlyArray<{ nodes: number; keys: number }> = [
  { nodes: 1, keys: 100_000 },
  { nodes: 1, keys: 1_000_000 },
  { nodes: 3, keys: 100_000 },
  { nodes: 3, keys: 1_000_000 },
];

/** The memory limit of the fit row, and how far past the key bound it pushes. */
const FIT_LIMIT_MIB = 256;
const FIT_NODES = 3;
const FIT_OVERSHOOT = 1.1;
const BATCH = 1000;

export const description =
  'Bytes per key held on a node (limiter with 60 buckets, each key hit once per node), after a full GC, each point in a fresh process: ' +
  'one node alone, and three nodes over loopback WebSockets in one process where every node hits every key (three replicas\' cells per key on each node). ' +
  'heap = V8 heap used; external = memory outside the heap (the cells\' typed arrays); rss = resident set. The daemon sizes maxKeys from a memory limit with the largest rss figure (src/daemon/memory-budget.ts). ' +
  'Row "fit": three daemons started with --memory-limit 256MiB, each hit on 1.1 × the key bound they sized (the last tenth overflows); the peak resident set of a node (launcher + daemon, sampled every 100 ms) against the limit. ' +
  'Row "processes": the resident set of an idle `tallymesh start --memory-limit 1GiB` (one limiter, no keys): the launcher that sets the heap limit and the daemon it runs (cli/heap-limit.ts), from /proc.';

export const targets: readonly Target[] = [
  {
    id: 'memory-fit',
    description: `three daemons filled past the key bound they sized from --memory-limit ${FIT_LIMIT_MIB}MiB stay within it (peak RSS / limit)`,
    row: { name: `fit: ${FIT_NODES} daemons, --memory-limit ${FIT_LIMIT_MIB}MiB` },
    figure: 'peakRssShareOfLimit',
    op: '<=',
    threshold: 1,
  },
];

const round = (n: number): number => Math.round(n * 10) / 10;

export async function runScenario(): Promise<ResultRow[]> {
  const rows: ResultRow[] = [await measureProcesses(), await measureFit()];
  for (const { nodes, keys } of POINTS) {
    const { stdout } = await run(process.execPath, ['--expose-gc', path.join(HERE, 'memory', 'fill-keys.js'), String(nodes), String(keys)], {
      maxBuffer: 1 << 20,
    });
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
    const row: ResultRow = {
      name: `${nodes} node${nodes === 1 ? '' : 's'}, ${keys.toLocaleString('en-US')} keys`,
      nodes,
      keys,
      buckets: r.buckets,
      heapBytesPerKey: round(r.heapBytesPerKey),
      externalBytesPerKey: round(r.externalBytesPerKey),
      rssBytesPerKey: round(r.rssBytesPerKey),
      baseRssMb: round(r.baseRssBytes / 2 ** 20),
      fillSeconds: round(r.fillMs / 1000),
    };
    console.error(`  ${row.name}: heap ${row.heapBytesPerKey} B, external ${row.externalBytesPerKey} B, rss ${row.rssBytesPerKey} B per key`);
    rows.push(row);
  }
  return rows;
}

/** The daemon a launcher runs (cli/heap-limit.ts): its one child. */
async function daemonUnder(launcher: number): Promise<number> {
  const children = (await readFile(`/proc/${launcher}/task/${launcher}/children`, 'utf8')).trim().split(/\s+/).map(Number);
  if (children.length !== 1 || !Number.isInteger(children[0])) throw new Error(`expected one daemon process under the launcher, found ${children.join(',')}`);
  return children[0];
}

/** Starts `tallymesh start <args>` and resolves with the process and its URL once it listens. */
async function startCli(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const cli = path.join(HERE, '..', 'cli', 'main.js');
  const child = spawn(process.execPath, [cli, 'start', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`tallymesh start exited with ${code}: ${out}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /tallymesh listening on (\S+)/.exec(out);
      if (m !== null) resolve(m[1]);
    });
  });
  return { child, url };
}

async function stopCli(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** Starts an idle daemon through the CLI with a memory limit and reads the RSS of the launcher and of the daemon. */
async function measureProcesses(): Promise<ResultRow> {
  const { child: launcher } = await startCli(['--port', '0', '--memory-limit', '1GiB', '--log-level', 'warn', '--limiter', 'name=api,limit=100,window=60s']);
  try {
    // Let startup garbage be collected and the daemon settle.
    await sleep(3000);
    const launcherRss = rssBytesOf(launcher.pid as number);
    const daemonRss = rssBytesOf(await daemonUnder(launcher.pid as number));
    console.error(`  processes: launcher ${round(launcherRss / 2 ** 20)} MiB, daemon ${round(daemonRss / 2 ** 20)} MiB resident`);
    return { name: 'processes', launcherRssMb: round(launcherRss / 2 ** 20), daemonIdleRssMb: round(daemonRss / 2 ** 20), totalRssMb: round((launcherRss + daemonRss) / 2 ** 20) };
  } finally {
    await stopCli(launcher);
  }
}


/**
 * Row "fit": three daemons started with `--memory-limit 256MiB` (so each sizes
 * its own key bound), linked; every node takes a hit on each of 1.1 × maxKeys
 * keys (so each holds three replicas' cells per key, and the last tenth
 * overflows). The largest resident set of a node (launcher + daemon, sampled
 * every 100 ms through the fill and 10 s after) against the limit.
 */
async function measureFit(): Promise<ResultRow> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tallymesh-memory-fit-'));
  const secretFile = path.join(dir, 'secret');
  await writeFile(secretFile, 'a-secret-for-the-memory-fit-row', { mode: 0o600 });
  const nodes: Array<{ child: ChildProcess; url: string; daemon: number }> = [];
  let peak = 0;
  let sampling = true;
  try {
    for (let i = 0; i < FIT_NODES; i++) {
      const peers = nodes.map((n) => new URL(n.url).host);
      const { child, url } = await startCli([
        '--id', `fit${i}`, '--port', '0', '--secret-file', secretFile, '--memory-limit', `${FIT_LIMIT_MIB}MiB`, '--log-level', 'error',
        '--limiter', 'name=api,limit=1000000,window=1h', ...(peers.length > 0 ? ['--peers', peers.join(',')] : []),
      ]);
      nodes.push({ child, url, daemon: await daemonUnder(child.pid as number) });
    }
    const sampler = (async () => {
      while (sampling) {
        for (const n of nodes) peak = Math.max(peak, rssBytesOf(n.child.pid as number) + rssBytesOf(n.daemon));
        await sleep(100);
      }
    })();
    const cluster = async (url: string) => (await (await fetch(`${url}/v1/cluster`)).json()) as { keys: { total: number; max: number }; limiters: Array<{ overflows: number }> };
    const maxKeys = (await cluster(nodes[0].url)).keys.max;
    const keys = Math.ceil(maxKeys * FIT_OVERSHOOT);
    const started = Date.now();
    for (let k = 0; k < keys; k += BATCH) {
      const requests = Array.from({ length: Math.min(BATCH, keys - k) }, (_, i) => ({ limiter: 'api', key: `user:${k + i}` }));
      await Promise.all(
        nodes.map(async (n) => {
          const res = await fetch(`${n.url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requests }) });
          if (!res.ok) throw new Error(`batch at ${k}: HTTP ${res.status}`);
          await res.arrayBuffer();
        }),
      );
    }
    const fillSeconds = (Date.now() - started) / 1000;
    await sleep(10_000);
    sampling = false;
    await sampler;
    const views = await Promise.all(nodes.map((n) => cluster(n.url)));
    const row: ResultRow = {
      name: `fit: ${FIT_NODES} daemons, --memory-limit ${FIT_LIMIT_MIB}MiB`,
      limitMb: FIT_LIMIT_MIB,
      maxKeys,
      keysOffered: keys,
      heldKeysMin: Math.min(...views.map((v) => v.keys.total)),
      overflows: views.reduce((n, v) => n + v.limiters.reduce((m, l) => m + l.overflows, 0), 0),
      peakRssMb: round(peak / 2 ** 20),
      peakRssShareOfLimit: Math.round((peak / (FIT_LIMIT_MIB * 2 ** 20)) * 1000) / 1000,
      fillSeconds: round(fillSeconds),
    };
    console.error(`  fit: ${row.heldKeysMin} keys held (bound ${maxKeys}), peak RSS ${row.peakRssMb} MiB of ${FIT_LIMIT_MIB} MiB`);
    return row;
  } finally {
    sampling = false;
    await Promise.all(nodes.map((n) => stopCli(n.child)));
    await rm(dir, { recursive: true, force: true });
  }
}

export { runScenario as run };
