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
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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

export const description =
  'Bytes per key held on a node (limiter with 60 buckets, each key hit once per node), after a full GC, each point in a fresh process: ' +
  'one node alone, and three nodes over loopback WebSockets in one process where every node hits every key (three replicas\' cells per key on each node). ' +
  'heap = V8 heap used; external = memory outside the heap (the cells\' typed arrays); rss = resident set. The daemon sizes maxKeys from a memory limit with the largest rss figure (src/daemon/memory-budget.ts). ' +
  'Row "processes": the resident set of an idle `tallymesh start --memory-limit 1GiB` (one limiter, no keys): the launcher that sets the heap limit and the daemon it runs (cli/heap-limit.ts), from /proc.';

export const targets: readonly Target[] = [];

const round = (n: number): number => Math.round(n * 10) / 10;

export async function runScenario(): Promise<ResultRow[]> {
  const rows: ResultRow[] = [await measureProcesses()];
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

/** VmRSS of a process, in bytes, from /proc. */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
}

/** Starts an idle daemon through the CLI with a memory limit and reads the RSS of the launcher and of the daemon. */
async function measureProcesses(): Promise<ResultRow> {
  const cli = path.join(HERE, '..', 'cli', 'main.js');
  const launcher = spawn(process.execPath, [cli, 'start', '--port', '0', '--memory-limit', '1GiB', '--log-level', 'warn', '--limiter', 'name=api,limit=100,window=60s'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      launcher.once('exit', (code) => reject(new Error(`tallymesh start exited with ${code}`)));
      launcher.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('tallymesh listening on')) resolve();
      });
    });
    // Let startup garbage be collected and the daemon settle.
    await sleep(3000);
    const children = (await readFile(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
    if (children.length !== 1 || !Number.isInteger(children[0])) throw new Error(`expected one daemon process under the launcher, found ${children.join(',')}`);
    const launcherRss = await rssOf(launcher.pid as number);
    const daemonRss = await rssOf(children[0]);
    console.error(`  processes: launcher ${round(launcherRss / 2 ** 20)} MiB, daemon ${round(daemonRss / 2 ** 20)} MiB resident`);
    return { name: 'processes', launcherRssMb: round(launcherRss / 2 ** 20), daemonIdleRssMb: round(daemonRss / 2 ** 20), totalRssMb: round((launcherRss + daemonRss) / 2 ** 20) };
  } finally {
    if (launcher.exitCode === null && launcher.signalCode === null) {
      launcher.kill('SIGTERM');
      await new Promise((resolve) => launcher.once('exit', resolve));
    }
  }
}

export { runScenario as run };
