/**
 * A whole cluster in one process on the simulated network: seeded load,
 * partitions, loss, duplication, reordering, clock offsets and restarts on
 * virtual time, checked against the load generator's own log of every
 * admitted hit. Same options, same seed: same report, bit for bit.
 *
 * src/sim/ may import: src/mesh, src/limiter, transport/, crdt/, src/errors.ts
 * and src/validate.ts.
 *
 * @module
 */
import { createPrng, type Prng } from '../../transport/sim/prng.js';
import { createSimNetwork, type SimNetwork } from '../../transport/sim/sim-network.js';
import { createMesh, type Mesh } from '../mesh/mesh.js';
import type { Limiter } from '../limiter/limiter.js';
import { handedOver, mismatches as findMismatches, overCounted, type Mismatch, type NodeView } from './accuracy.js';
import { TruthLog } from './truth-log.js';

/**
 * What {@link SimulationOptions.inspect} sees: the live nodes and the load
 * generator's log, read-only. A test oracle checks the nodes against the log
 * here without trusting the report.
 */
export interface SimulationView {
  /** `load` after every step of load (and of a drain before a restart), `settle` after every quiet step, `end` once before the nodes close. */
  phase: 'load' | 'settle' | 'end';
  /** Virtual ms since the start. */
  elapsedMs: number;
  nodes: readonly NodeView[];
  truth: TruthLog;
  /** Every key the load draws from. */
  keys: readonly string[];
}

/** A partition: frames between the groups are dropped from `at` until `heal` (virtual ms from start). */
export interface SimPartition {
  at: number;
  heal: number;
  a: string[];
  b: string[];
  /** Only a → b is cut. */
  oneWay?: boolean;
}

/** Options of {@link runSimulation}. */
export interface SimulationOptions {
  seed: number;
  /** Node count (node ids n1, n2, ...). */
  nodes: number;
  /** Virtual ms of load. */
  durationMs: number;
  /** Offered decisions per second, cluster-wide. */
  rate: number;
  keys: number;
  limit: number;
  windowMs: number;
  buckets?: number;
  gossipIntervalMs?: number;
  digestIntervalMs?: number;
  loss?: number;
  duplicate?: number;
  reorder?: number;
  /** Each node's clock offset is drawn from [−skewMs, skewMs]. */
  skewMs?: number;
  partitions?: SimPartition[];
  /** Graceful restarts: the node is drained, stopped once peers hold its counts, and started with a new incarnation. */
  restarts?: Array<{ at: number; node: string }>;
  /** Probability per ms of a key reset somewhere. */
  resetRate?: number;
  /** Quiet virtual ms after the load before the final check (default 3 digest intervals + 3 buckets). */
  settleMs?: number;
  onProgress?: (fraction: number) => void;
  /** Called with the nodes and the truth log after every step; must not change them. For test oracles. */
  inspect?: (view: SimulationView) => void;
}

/** What a simulation found. */
export interface SimulationReport {
  seed: number;
  nodes: number;
  offered: number;
  admitted: number;
  denied: number;
  resets: number;
  restarts: number;
  /** After heal and quiescence every node's cell sums equal the truth for every live bucket. */
  exact: boolean;
  mismatches: Mismatch[];
  /** A node was seen holding more than the truth for some bucket. */
  overCounted: boolean;
  /** Every node's HLC never went backwards. */
  hlcMonotonic: boolean;
  /** Most admitted (load generator's log) in any window of windowMs for one key, over the limit. */
  maxAdmittedRatio: number;
  convergence: { samples: number; p50Ms: number; p99Ms: number; maxMs: number };
  /**
   * Virtual ms from the end of the load — when every cut is healed and faults
   * stop — until every node holds exactly the truth (null without partitions).
   */
  healConvergedMs: number | null;
}

const STEP_MS = 5;
const LIMITER = 'sim';

interface SimNode {
  id: string;
  mesh: Mesh;
  limiter: Limiter;
  draining: boolean;
  lastHlc: number;
}

/** Runs one seeded simulation to completion. */
export async function runSimulation(o: SimulationOptions): Promise<SimulationReport> {
  const prng = createPrng(o.seed);
  const net = createSimNetwork({ seed: prng.uint32(), loss: o.loss ?? 0, duplicate: o.duplicate ?? 0, reorder: o.reorder ?? 0 });
  const ids = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  const skew = o.skewMs ?? 0;
  const offsets = new Map(ids.map((id) => [id, skew === 0 ? 0 : Math.round((prng.next() * 2 - 1) * skew)]));
  const gossip = o.gossipIntervalMs ?? 20;
  const digestMs = o.digestIntervalMs ?? 250;
  const truth = new TruthLog(o.windowMs, o.limit);
  const nodes = new Map<string, SimNode>();
  let incarnations = 0;

  const start = async (id: string): Promise<SimNode> => {
    const { transport, scheduler } = net.addNode(id, { secret: 'simulation-secret', clockOffsetMs: offsets.get(id), incarnation: `i${++incarnations}` });
    const mesh = await createMesh({
      nodeId: id,
      transport,
      scheduler,
      incarnation: `i${incarnations}`,
      secret: 'simulation-secret',
      peers: ids.filter((p) => p !== id).map((p) => `sim:${p}`),
      gossipIntervalMs: gossip,
      digestIntervalMs: digestMs,
      suspectAfterMs: Math.max(200, 10 * gossip),
      joinTimeoutMs: 500,
    });
    const limiter = mesh.limiter({ name: LIMITER, limit: o.limit, windowMs: o.windowMs, buckets: o.buckets });
    const node = { id, mesh, limiter, draining: false, lastHlc: 0 };
    nodes.set(id, node);
    return node;
  };
  for (const id of ids) await start(id);

  const report = { offered: 0, admitted: 0, denied: 0, resets: 0, restarts: 0, overCounted: false, hlcMonotonic: true };
  const latencies: number[] = [];
  const pending: Array<{ replica: string; key: string; bucket: number; count: number; at: number }> = [];
  const partitions = [...(o.partitions ?? [])];
  const restarts = [...(o.restarts ?? [])].sort((x, y) => x.at - y.at);
  const t0 = net.now();
  const keys = Array.from({ length: o.keys }, (_, i) => `k${i}`);
  let credit = 0;
  let lastHeal: number | null = null;

  for (let elapsed = 0; elapsed < o.durationMs; elapsed += STEP_MS) {
    for (const p of partitions) {
      if (p.at >= elapsed && p.at < elapsed + STEP_MS) cut(net, p, true);
      if (p.heal >= elapsed && p.heal < elapsed + STEP_MS) {
        cut(net, p, false);
        lastHeal = net.now() - t0;
      }
    }
    while (restarts.length > 0 && restarts[0].at <= elapsed) {
      const { node } = restarts.shift() as { node: string };
      await restart(node);
    }
    credit += (o.rate * STEP_MS) / 1000;
    const live = [...nodes.values()].filter((n) => !n.draining);
    for (; credit >= 1 && live.length > 0; credit--) load(live, prng);
    if (o.resetRate !== undefined && prng.next() < o.resetRate * STEP_MS) {
      const n = prng.pick(live);
      const key = prng.pick(keys);
      n.limiter.reset(key);
      // The floors the reset set, read from the issuer at once: what it had observed.
      truth.reset(key, n.limiter.replicaId, n.limiter.replica.cellsOf(key), net.now());
      report.resets++;
    }
    net.advance(STEP_MS);
    observe('load');
    o.onProgress?.(elapsed / o.durationMs);
  }
  // Heal everything and let the cluster settle.
  net.heal();
  net.setFaults({ loss: 0, duplicate: 0, reorder: 0 });
  if (lastHeal === null && partitions.length > 0) lastHeal = net.now() - t0;
  const bucketMs = nodes.values().next().value!.limiter.windowMs / nodes.values().next().value!.limiter.buckets;
  const settle = o.settleMs ?? 3 * digestMs + 3 * bucketMs + 10 * gossip;
  let healConvergedMs: number | null = null;
  const healStart = net.now();
  for (let waited = 0; waited < settle; waited += STEP_MS) {
    net.advance(STEP_MS);
    observe('settle');
    if (healConvergedMs === null && pending.length === 0 && findMismatches(truth, nodes.values(), 1).length === 0) {
      healConvergedMs = net.now() - healStart;
    }
  }
  const mismatches = findMismatches(truth, nodes.values(), 20);
  o.inspect?.(view('end'));
  for (const n of nodes.values()) await n.mesh.close();
  latencies.sort((x, y) => x - y);
  const q = (p: number) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]);
  return {
    seed: o.seed,
    nodes: o.nodes,
    ...report,
    exact: mismatches.length === 0,
    mismatches,
    maxAdmittedRatio: truth.maxAdmittedRatio(),
    convergence: { samples: latencies.length, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: latencies.at(-1) ?? 0 },
    healConvergedMs: lastHeal === null ? null : healConvergedMs,
  };

  function load(live: SimNode[], rng: Prng): void {
    const n = rng.pick(live);
    const key = keys[rng.int(keys.length)];
    const cost = rng.next() < 0.9 ? 1 : 1 + rng.int(Math.min(3, o.limit));
    report.offered++;
    const d = n.limiter.consume(key, cost);
    if (!d.allowed) {
      report.denied++;
      return;
    }
    report.admitted++;
    const bucket = n.limiter.replica.currentBucket();
    truth.admit(n.limiter.replicaId, key, bucket, cost, net.now());
    if (pending.length < 256 && rng.next() < 0.05) {
      const cell = n.limiter.replica.cellsOf(key).find((c) => c.bucket === bucket && c.replica === n.limiter.replicaId);
      if (cell !== undefined) pending.push({ replica: n.limiter.replicaId, key, bucket, count: cell.count, at: net.now() });
    }
  }

  function view(phase: SimulationView['phase']): SimulationView {
    return { phase, elapsedMs: net.now() - t0, nodes: [...nodes.values()], truth, keys };
  }

  /** After each step: HLC monotonicity, the over-count bound, convergence samples, then the inspector. */
  function observe(phase: SimulationView['phase']): void {
    for (const n of nodes.values()) {
      const h = n.mesh.hlc.last;
      if (h < n.lastHlc) report.hlcMonotonic = false;
      n.lastHlc = h;
    }
    if (overCounted(truth, nodes.values(), keys, prng)) report.overCounted = true;
    for (let i = pending.length - 1; i >= 0; i--) {
      const s = pending[i];
      let all = true;
      for (const n of nodes.values()) {
        if (s.bucket < n.limiter.replica.currentBucket() - n.limiter.buckets) continue; // expired there
        const c = n.limiter.replica.cellsOf(s.key).find((x) => x.bucket === s.bucket && x.replica === s.replica);
        // Converged on n: it holds the hit (visible or hidden by a reset: counts only grow).
        const ok = c !== undefined && c.count >= s.count;
        if (!ok) all = false;
      }
      if (all) {
        latencies.push(net.now() - s.at);
        pending.splice(i, 1);
      }
    }
    o.inspect?.(view(phase));
  }

  async function restart(id: string): Promise<void> {
    const node = nodes.get(id);
    if (node === undefined) return;
    // Drain like an operator would: no new traffic, then stop once the
    // survivors hold every cell this incarnation counted (or 5 s passed).
    node.draining = true;
    const others = () => [...nodes.values()].filter((n) => n !== node);
    for (let waited = 0; waited < 5000; waited += STEP_MS) {
      net.advance(STEP_MS);
      observe('load');
      if (handedOver(node, others())) break;
    }
    await node.mesh.close();
    net.crash(id);
    nodes.delete(id);
    await start(id);
    report.restarts++;
  }
}

function cut(net: SimNetwork, p: SimPartition, on: boolean): void {
  for (const a of p.a) {
    for (const b of p.b) {
      if (on) net.cut(a, b);
      else net.restore(a, b);
      if (!p.oneWay) {
        if (on) net.cut(b, a);
        else net.restore(b, a);
      }
    }
  }
}

/** A random scenario for seed `seed`: 3–7 nodes, load, healing partitions, faults, skew, restarts, resets. */
export function randomScenario(seed: number, overrides: Partial<SimulationOptions> = {}): SimulationOptions {
  const r = createPrng(seed ^ 0x5eed);
  const nodes = 3 + r.int(5);
  const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const durationMs = 2000 + r.int(2000);
  const windowMs = 2000 + 1000 * r.int(3);
  const partitions: SimPartition[] = [];
  for (let i = r.int(3); i > 0; i--) {
    const at = r.int(durationMs - 500);
    const shuffled = [...ids].sort(() => r.next() - 0.5);
    const split = 1 + r.int(nodes - 1);
    // Partitions shorter than half a window.
    partitions.push({ at, heal: at + 100 + r.int(Math.min(windowMs / 2, durationMs - at)), a: shuffled.slice(0, split), b: shuffled.slice(split), oneWay: r.next() < 0.25 });
  }
  const restarts = r.next() < 0.3 ? [{ at: r.int(durationMs), node: r.pick(ids) }] : [];
  return {
    seed,
    nodes,
    durationMs,
    rate: 200 + r.int(800),
    keys: 1 + r.int(20),
    limit: 20 + r.int(200),
    windowMs,
    buckets: 10,
    loss: r.next() < 0.5 ? r.next() * 0.05 : 0,
    duplicate: r.next() < 0.5 ? r.next() * 0.05 : 0,
    reorder: r.next() < 0.5 ? r.next() * 0.2 : 0,
    skewMs: r.int(200),
    partitions,
    restarts,
    resetRate: r.next() < 0.3 ? 0.0005 : 0,
    ...overrides,
  };
}
