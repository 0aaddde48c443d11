/**
 * Scenario "mesh": replication over real loopback WebSockets, five nodes in
 * five processes. Convergence time under load, gossip bandwidth with and
 * without a large idle key set, admission accuracy at four gossip intervals,
 * and the time for a new node to join a cluster holding 100,000 keys.
 *
 * The measurements live in mesh-phases.ts, the process plumbing in
 * mesh-cluster.ts / mesh-node.ts, the IPC protocol in mesh-ipc.ts.
 */
import os from 'node:os';
import { killChildrenOnSignals } from './mesh/mesh-cluster.js';
import {
  ACC_DURATION_MS,
  ACC_INTERVALS,
  ACC_LIMIT,
  ACC_OFFERED_PER_SEC,
  ACC_WINDOW_MS,
  BANDWIDTH_MEASURE_MS,
  BG_KEYS,
  GOSSIP_MS,
  HOT_KEYS,
  IDLE_KEYS,
  JOIN_CLUSTER,
  JOIN_KEYS,
  LOAD_PER_SEC,
  LOAD_TICK_MS,
  log,
  measureAccuracy,
  measureBandwidth,
  measureConvergence,
  measureJoin,
  NODES,
  PROBES,
  TOUCH_PER_SEC,
} from './mesh/mesh-phases.js';
import type { ResultRow } from './lib/scenario.js';
import type { Target } from './lib/targets.js';

const n = (v: number): string => v.toLocaleString('en-US');

/** Printed by the runner and copied into docs/benchmarks.md. */
export const description = [
  `${NODES} mesh nodes, each in its own process (child_process.fork), over real loopback WebSockets (port 0, shared secret),`,
  `gossip interval ${GOSSIP_MS} ms; a fresh cluster per measurement. Load is generated inside each node process in batches every`,
  `${LOAD_TICK_MS} ms. Times taken in different processes come from one machine-wide monotonic clock (process.hrtime, CLOCK_MONOTONIC),`,
  'so they are subtracted directly, with no offset estimation.',
  `convergence: under ${n(LOAD_PER_SEC)} decisions/s spread over the nodes (${n(BG_KEYS)} keys), ${PROBES} probes (a few at a time, each on`,
  'a fresh key): one node consumes it while the four others poll it every 1 ms; the time from the admitted decision until the',
  'last of them counts it (HDR histogram; a probe not seen within 15 s counts as 15 s).',
  `bandwidth: gossip bytes sent per second per node (bytesOut summed over peers, averaged over nodes, over ${BANDWIDTH_MEASURE_MS / 1000} s)`,
  `with ${n(LOAD_PER_SEC)} decisions/s on ${HOT_KEYS} hot keys; again after one hit on each of ${n(IDLE_KEYS)} idle keys (10-minute window, so`,
  `still live; laid down at ${n(TOUCH_PER_SEC)} new keys/s per node), once every node holds them and no repair or snapshot has run`,
  'for 3 digest intervals. fullStateBytesPerSec: a',
  `MessagePack-encoded full snapshot of one node's live window × ${1000 / GOSSIP_MS} intervals/s × ${NODES - 1} peers.`,
  `accuracy: one key, limit ${n(ACC_LIMIT)} per ${ACC_WINDOW_MS / 1000} s shared by ${NODES} nodes, offered ${n(ACC_OFFERED_PER_SEC)}/s (10× the limit)`,
  `evenly for ${ACC_DURATION_MS / 1000} s; each generator logs its admitted times, and admittedRatio is the most admitted in any`,
  `${ACC_WINDOW_MS / 1000} s window starting after the first window (warm-up), divided by the limit; cluster restarted per gossip interval.`,
  `join: ${JOIN_CLUSTER} nodes holding ${n(JOIN_KEYS)} live keys (laid down the same way, replicated and settled);`,
  'a new process joins through one seed; readyMs runs from its createMesh call to whenReady(), keysAtReady is what it holds then.',
].join(' ');

/** Goals from issue 3. */
export const targets: readonly Target[] = [
  {
    id: 'convergence-p99',
    description: `convergence p99 ≤ 2 × gossip interval + 10 ms`,
    row: { name: 'convergence' },
    figure: 'p99Ms',
    op: '<=',
    threshold: 2 * GOSSIP_MS + 10,
  },
  {
    id: 'bandwidth-idle',
    description: `gossip with ${n(IDLE_KEYS)} idle keys ≤ 1.1× hot keys only`,
    row: { name: 'bandwidth' },
    figure: 'ratioIdle',
    op: '<=',
    threshold: 1.1,
  },
  {
    id: 'bandwidth-full-state',
    description: 'full state every interval ≥ 20× gossip with idle keys',
    row: { name: 'bandwidth' },
    figure: 'ratioFull',
    op: '>=',
    threshold: 20,
  },
  {
    id: 'accuracy-20',
    description: `admitted ≤ 1.03× limit in any window, gossip ${GOSSIP_MS} ms`,
    row: { name: 'accuracy', gossipIntervalMs: GOSSIP_MS },
    figure: 'admittedRatio',
    op: '<=',
    threshold: 1.03,
  },
  {
    id: 'join-ready',
    description: `join ready ≤ 2,000 ms with ${n(JOIN_KEYS)} keys`,
    row: { name: 'join' },
    figure: 'readyMs',
    op: '<=',
    threshold: 2000,
  },
  {
    id: 'join-complete',
    description: `joiner holds all ${n(JOIN_KEYS)} keys when ready`,
    row: { name: 'join' },
    figure: 'keysAtReady',
    op: '>=',
    threshold: JOIN_KEYS,
  },
];

/**
 * Runs every measurement in turn. A measurement that fails is logged and
 * leaves its row out (its targets then read "missing") and the run's exit
 * code non-zero, while the other figures are still written.
 */
export async function run(): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const removeSignalHandlers = killChildrenOnSignals();
  const step = async (label: string, measure: () => Promise<ResultRow>): Promise<void> => {
    // Other processes on the machine slow every node alike; the load makes a noisy figure explainable.
    log(`${label}… (load average ${os.loadavg()[0].toFixed(2)})`);
    try {
      rows.push(await measure());
    } catch (err) {
      process.exitCode = 1;
      log(`FAILED ${label}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  };
  try {
    await step('convergence', measureConvergence);
    await step('bandwidth', measureBandwidth);
    for (const interval of ACC_INTERVALS) await step(`accuracy, gossip ${interval} ms`, () => measureAccuracy(interval));
    await step('join', measureJoin);
  } finally {
    removeSignalHandlers();
  }
  return rows;
}
