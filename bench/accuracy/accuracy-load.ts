/**
 * The accuracy scenario's load generator: an open loop offering a rate of
 * `POST /v1/consume` batches (25 requests each, as the issue measured) to
 * every node, keys drawn from one hot key or a Zipf distribution, and its own
 * log of every admitted decision: the time (the midpoint of the request's
 * send and its answer, epoch ms, the daemons' clock: one machine), the node
 * and the key. Also: scheduled actions (cut, heal) at set times, and the
 * machine's CPU saturation over the run from /proc/stat.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';

/** Requests per HTTP batch. */
export const BATCH = 25;
/** Pacing tick. */
const TICK_MS = 5;
/** Batches in flight per node at most; past it the offer is dropped (and counted: `offeredPerSec` is what went out). */
const MAX_IN_FLIGHT = 32;

/** Draws a key per request. */
export type KeyPicker = () => string;

/** The golden ratio's fractional part: `frac(n·φ)` spreads draws evenly over [0, 1) (a low-discrepancy sequence). */
const PHI = (Math.sqrt(5) - 1) / 2;

/**
 * Keys `k0 … k(n−1)` drawn with probability ∝ 1 / (rank + 1)^s, by inverting
 * the distribution at `frac(start + i·φ)`: every run draws the same keys, as
 * evenly spread as a sequence can be; also returns each key's share of the load.
 */
export function zipfKeys(n: number, s: number, start = 0): { pick: KeyPicker; share: (key: string) => number } {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) cdf.push((acc += w / total));
  let u = start;
  return {
    pick: () => {
      u = (u + PHI) % 1;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid] < u) lo = mid + 1;
        else hi = mid;
      }
      return `k${lo}`;
    },
    share: (key) => weights[Number(key.slice(1))] / total,
  };
}

/** What {@link runLoad} offers. */
export interface LoadPlan {
  /** Base URLs of the nodes, load spread evenly. */
  urls: readonly string[];
  limiter: string;
  /** Requests per second offered to the cluster. */
  offeredPerSec: number;
  pick: KeyPicker;
  durationMs: number;
  /** Run at `atMs` after the start (cut, heal). */
  actions?: ReadonlyArray<{ atMs: number; run: () => void }>;
}

/** The load generator's log. */
export interface LoadLog {
  startedAt: number;
  endedAt: number;
  /** Admitted times, per key, per node index. */
  admitted: Map<string, number[][]>;
  /** Requests sent per second (what was really offered). */
  offeredPerSec: number;
  /** Requests that failed (HTTP error or no answer). */
  failed: number;
  /** Fraction of the machine's CPU time busy over the run (all cores). */
  cpuBusy: number;
  /** Wall times the actions ran. */
  actionTimes: number[];
}

/** Busy and total jiffies of all cores, from /proc/stat (zeros where it cannot be read). */
function cpuTimes(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = v[3] + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

function post(agent: http.Agent, url: URL, body: string): Promise<Array<{ allowed: boolean }>> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: '/v1/consume', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${data.slice(0, 200)}`));
          resolve((JSON.parse(data) as { results: Array<{ allowed: boolean }> }).results);
        });
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Offers the plan's load for its duration and resolves with the log once every request is answered. */
export async function runLoad(plan: LoadPlan): Promise<LoadLog> {
  const nodes = plan.urls.map((u) => ({ url: new URL(u), agent: new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT }), owed: 0, inFlight: 0 }));
  const admitted = new Map<string, number[][]>();
  const record = (key: string, node: number, at: number): void => {
    let perNode = admitted.get(key);
    if (perNode === undefined) admitted.set(key, (perNode = plan.urls.map(() => [])));
    perNode[node].push(at);
  };
  let sent = 0;
  let failed = 0;
  const pending = new Set<Promise<void>>();
  const cpu0 = cpuTimes();
  const startedAt = Date.now();
  const actions = [...(plan.actions ?? [])].sort((a, b) => a.atMs - b.atMs);
  const actionTimes: number[] = [];
  let last = startedAt;
  while (Date.now() - startedAt < plan.durationMs) {
    const now = Date.now();
    while (actions.length > 0 && now - startedAt >= actions[0].atMs) {
      actions.shift()!.run();
      actionTimes.push(Date.now());
    }
    const perNode = (plan.offeredPerSec * (now - last)) / 1000 / nodes.length;
    last = now;
    nodes.forEach((n, i) => {
      n.owed += perNode;
      while (n.owed >= BATCH) {
        n.owed -= BATCH;
        if (n.inFlight >= MAX_IN_FLIGHT) continue;
        const keys = Array.from({ length: BATCH }, plan.pick);
        const body = JSON.stringify({ requests: keys.map((key) => ({ limiter: plan.limiter, key })) });
        const sentAt = Date.now();
        n.inFlight++;
        sent += BATCH;
        const p = post(n.agent, n.url, body).then(
          (results) => {
            const at = (sentAt + Date.now()) / 2;
            results.forEach((r, j) => r.allowed && record(keys[j], i, at));
          },
          () => {
            failed += BATCH;
          },
        );
        const tracked = p.finally(() => {
          n.inFlight--;
          pending.delete(tracked);
        });
        pending.add(tracked);
      }
    });
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  const endedAt = Date.now();
  await Promise.all(pending);
  for (const n of nodes) n.agent.destroy();
  const cpu1 = cpuTimes();
  const total = cpu1.total - cpu0.total;
  return {
    startedAt,
    endedAt,
    admitted,
    offeredPerSec: (sent * 1000) / (endedAt - startedAt),
    failed,
    cpuBusy: total > 0 ? (cpu1.busy - cpu0.busy) / total : 0,
    actionTimes,
  };
}
