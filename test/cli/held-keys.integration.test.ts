/**
 * Issue 9, defect 1 ("Held keys grow on merging nodes"), against three real
 * daemons started through the CLI. Sweeping used to run only when a node
 * created a key itself or overflowed: every key a peer touched stayed held
 * after it expired. Under 500 new keys/s with a 2 s window (about 1,000 live
 * keys), every node held 2,900–3,000 keys of `--max-keys 3000` within 10 s,
 * and new keys met `onOverflow` (default `allow`): a new key with limit 5 was
 * admitted 6 times of 8. Now the gossip tick sweeps a paced share of the
 * slots, slots created by a merge pay for sweeps too, and held keys track
 * live keys on every node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonProcess } from './cli-process.js';
import { clusterView as cluster, consumeOnce, startCliCluster, type CliCluster } from './cli-cluster.js';

const WINDOW_MS = 2_000;
const MAX_KEYS = 3_000;
const KEYS_PER_SEC = 500;
const LOAD_MS = 10_000;
/** Keys per batch request; one batch every BATCH_MS, round-robin over the nodes. */
const BATCH_MS = 100;
const COMMON = [
  '--limiter', `name=api,limit=5,window=${WINDOW_MS / 1000}s`,
  '--max-keys', String(MAX_KEYS),
  '--gossip-interval', '20ms',
  '--log-level', 'warn',
];

let running: CliCluster | undefined;
let nodes: DaemonProcess[] = [];

afterAll(() => running?.stop());

async function consume(url: string, key: string): Promise<boolean> {
  return consumeOnce(url, 'api', key);
}

beforeAll(async () => {
  running = await startCliCluster(['a', 'b', 'c'], COMMON);
  nodes = running.nodes;
}, 30_000);

describe('held keys under key churn on a 3-node cluster (window 2 s, --max-keys 3000)', () => {
  it('track live keys on every node, and a new key with limit 5 is admitted 5 times of 8', async () => {
    /** When each key was sent (the load's own log: the truth for "live"). */
    const sentAt: number[] = [];
    const peak = [0, 0, 0];
    let worstRatio = 0;
    const started = Date.now();
    let batch = 0;
    let next = started;
    // A new key with limit 5, asked 8 times on one node while the churn runs (from 6 s on, when a full node would overflow).
    const target = nodes[2].url;
    let asked = 0;
    let admitted = 0;
    while (Date.now() - started < LOAD_MS) {
      const node = nodes[batch % nodes.length];
      const requests = [];
      for (let i = 0; i < (KEYS_PER_SEC * BATCH_MS) / 1000; i++) requests.push({ limiter: 'api', key: `churn:${batch}:${i}` });
      const res = await fetch(`${node.url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requests }) });
      expect(res.status).toBe(200);
      const now = Date.now();
      for (let i = 0; i < requests.length; i++) sentAt.push(now);
      batch++;
      // After the first two windows held keys should have reached their steady state.
      if (now - started > 2 * WINDOW_MS && batch % 5 === 0) {
        const live = sentAt.filter((t) => now - t <= WINDOW_MS + WINDOW_MS / 10).length;
        const held = await Promise.all(nodes.map(async (n) => (await cluster(n.url)).keys.total));
        held.forEach((h, i) => (peak[i] = Math.max(peak[i], h)));
        worstRatio = Math.max(worstRatio, ...held.map((h) => h / live));
      }
      if (now - started > 6_000 && asked < 8) {
        asked++;
        if (await consume(target, 'fresh:limit-5')) admitted++;
      }
      next += BATCH_MS;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
    console.log(`held keys peak per node ${peak.join(', ')} (about ${(KEYS_PER_SEC * WINDOW_MS * 1.1) / 1000} live); worst held/live ${worstRatio.toFixed(2)}; new key admitted ${admitted} of ${asked}`);

    expect(asked).toBe(8);
    expect.soft(admitted).toBe(5);

    const overflows = await Promise.all(nodes.map(async (n) => (await cluster(n.url)).limiters[0].overflows));
    expect.soft(overflows).toEqual([0, 0, 0]);
    // Held keys track live keys (a sweep lap every half window: about a quarter of a window's keys of slack), far from the bound.
    expect.soft(Math.max(...peak)).toBeLessThan(MAX_KEYS * 0.6);
    expect.soft(worstRatio).toBeLessThan(1.6);
  }, 40_000);
});
