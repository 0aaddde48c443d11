/**
 * A whole cluster in one process on the simulated network: seeded load,
 * cuts, loss, duplication, reordering, clock offsets, crashes, restarts,
 * joins, leaves, resets and limit changes on virtual time, checked against
 * the load generator's own log of every admitted hit; at the end a probe
 * asks one node that has heard everything to admit up to the limit. Same
 * options, same seed: same report, bit for bit.
 *
 * src/sim/ may import: src/mesh, src/limiter, transport/, crdt/, src/errors.ts
 * and src/validate.ts.
 *
 * @module
 */
import { createPrng, type Prng } from '../../transport/sim/prng.js';
import { createSimNetwork, type SimNetwork } from '../../transport/sim/sim-network.js';
import { DEFAULT_SIM_FAULTS } from '../../transport/sim/sim-wire.js';
import { createMesh, type Mesh } from '../mesh/mesh.js';
import type { Limiter } from '../limiter/limiter.js';
import { handedOver, mismatches as findMismatches, overCounted, type Mismatch, type NodeView } from './accuracy.js';
import { TruthLog, type TruthCut } from './truth-log.js';
import { honestNodes } from './honest-clocks.js';
import type { SimPartition, SimulationOptions } from './scenario.js';
import type { SimTimings, SimulationView } from './view.js';

export type { SimTimings, SimulationView } from './view.js';

export type { SimCrash, SimLimitChange, SimNodeEvent, SimPartition, SimulationOptions } from './scenario.js';
export { randomScenario, MIN_SCENARIO } from './scenario.js';

/** What a simulation found. */
export interface SimulationReport {
  seed: number;
  nodes: number;
  offered: number;
  admitted: number;
  denied: number;
  resets: number;
  restarts: number;
  crashes: number;
  limitChanges: number;
  /** After heal and quiescence every node with an accepted clock holds, per live bucket, exactly the truth's cell sums. */
  exact: boolean;
  mismatches: Mismatch[];
  /** A node was seen holding more than the truth for some bucket. */
  overCounted: boolean;
  /** Every node's HLC never went backwards. */
  hlcMonotonic: boolean;
  /** Most admitted (load generator's log) in any window of windowMs for one key, over the limit. */
  maxAdmittedRatio: number;
  /** The probe: hits admitted on its key (all nodes, then the burst), against the limit the burst node held. */
  probe: { admitted: number; limit: number } | null;
  convergence: { samples: number; p50Ms: number; p99Ms: number; maxMs: number };
  /**
   * Virtual ms from the end of the load — when every healing cut is healed
   * and faults stop — until every node holds exactly the truth (null without
   * cuts).
   */
  healConvergedMs: number | null;
}

const STEP_MS = 5;
const LIMITER = 'sim';
const PROBE_KEY = 'probe';
/** Redial backoff of the simulated nodes: a healed link is back within half a second. */
const BACKOFF = { initialMs: 50, maxMs: 500 };

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
  // The checks' own stream, so that sampling never changes the run.
  const checkRng = createPrng(o.seed ^ 0xc0ffee);
  const net = createSimNetwork({ seed: prng.uint32(), latencyMs: o.latencyMs, loss: o.loss ?? 0, duplicate: o.duplicate ?? 0, reorder: o.reorder ?? 0 });
  const ids = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  const skew = o.skewMs ?? 0;
  const offsets = new Map(ids.map((id, i) => [id, o.offsetsMs?.[i] ?? (skew === 0 ? 0 : Math.round((prng.next() * 2 - 1) * skew))]));
  const maxClockOffsetMs = o.maxClockOffsetMs ?? 500;
  const honest = honestNodes(offsets, maxClockOffsetMs);
  const gossip = o.gossipIntervalMs ?? 20;
  const digestMs = o.digestIntervalMs ?? 250;
  // What every node runs with and what the network does, for the inspector (a test oracle derives its allowances from these).
  const timings: SimTimings = {
    stepMs: STEP_MS,
    gossipIntervalMs: gossip,
    digestIntervalMs: digestMs,
    suspectAfterMs: Math.max(200, 10 * gossip),
    joinTimeoutMs: 500,
    latencyMs: o.latencyMs ?? DEFAULT_SIM_FAULTS.latencyMs,
    loss: o.loss ?? 0,
    duplicate: o.duplicate ?? 0,
    reorder: o.reorder ?? 0,
  };
  const truth = new TruthLog(o.windowMs, o.limit);
  const nodes = new Map<string, SimNode>();
  let incarnations = 0;

  const start = async (id: string): Promise<SimNode> => {
    const incarnation = `i${++incarnations}`;
    const { transport, scheduler } = net.addNode(id, { secret: 'simulation-secret', clockOffsetMs: offsets.get(id), incarnation, backoff: BACKOFF });
    const mesh = await createMesh({
      nodeId: id,
      transport,
      scheduler,
      incarnation,
      secret: 'simulation-secret',
      peers: ids.filter((p) => p !== id).map((p) => `sim:${p}`),
      gossipIntervalMs: gossip,
      digestIntervalMs: digestMs,
      maxClockOffsetMs,
      suspectAfterMs: timings.suspectAfterMs,
      joinTimeoutMs: timings.joinTimeoutMs,
    });
    const limiter = mesh.limiter({ name: LIMITER, limit: o.limit, windowMs: o.windowMs, buckets: o.buckets, partition: o.partition });
    const node = { id, mesh, limiter, draining: false, lastHlc: 0 };
    nodes.set(id, node);
    truth.started(limiter.replicaId, net.now());
    return node;
  };
  const late = new Map((o.joins ?? []).map((j) => [j.node, j.at]));
  for (const id of ids) if (!late.has(id)) await start(id);
  const first = nodes.values().next().value as SimNode;
  const buckets = first.limiter.buckets;

  const report = { offered: 0, admitted: 0, denied: 0, resets: 0, restarts: 0, crashes: 0, limitChanges: 0, overCounted: false, hlcMonotonic: true };
  const latencies: number[] = [];
  const pending: Array<{ replica: string; key: string; bucket: number; count: number; at: number }> = [];
  const partitions = [...(o.partitions ?? [])];
  /** The truth log's record of each cut applied. */
  const applied = new Map<SimPartition, TruthCut>();
  // Node events in time order: joins, crashes (and the starts that follow them), restarts, leaves, limit changes.
  type Event = { at: number; kind: 'join' | 'crash' | 'back' | 'restart' | 'leave'; node: string; downMs?: number } | { at: number; kind: 'limit'; node: string; limit: number };
  const events: Event[] = [
    ...(o.joins ?? []).map((e) => ({ at: e.at, kind: 'join' as const, node: e.node })),
    ...(o.crashes ?? []).map((e) => ({ at: e.at, kind: 'crash' as const, node: e.node, downMs: e.downMs })),
    ...(o.restarts ?? []).map((e) => ({ at: e.at, kind: 'restart' as const, node: e.node })),
    ...(o.leaves ?? []).map((e) => ({ at: e.at, kind: 'leave' as const, node: e.node })),
    ...(o.limitChanges ?? []).map((e) => ({ at: e.at, kind: 'limit' as const, node: e.node, limit: e.limit })),
  ];
  const byTime = (x: Event, y: Event) => x.at - y.at || x.node.localeCompare(y.node);
  events.sort(byTime);
  const left = new Set<string>();
  const t0 = net.now();
  const keysSeen: string[] = [];
  const keySet = new Set<string>();
  let credit = 0;
  let lastHeal: number | null = null;
  let probe: SimulationView['probe'];

  for (let elapsed = 0; elapsed < o.durationMs; elapsed += STEP_MS) {
    for (const p of partitions) {
      if (p.at >= elapsed && p.at < elapsed + STEP_MS) {
        cut(net, p, true);
        applied.set(p, truth.cut(p.a, p.b, p.oneWay === true, p.kind ?? (p.oneWay === true ? 'one-way' : 'split'), net.now()));
      }
      if (p.heal !== null && p.heal >= elapsed && p.heal < elapsed + STEP_MS) {
        cut(net, p, false);
        const c = applied.get(p);
        if (c !== undefined) truth.healed(c, net.now());
        lastHeal = net.now() - t0;
      }
    }
    while (events.length > 0 && events[0].at <= elapsed) await handle(events.shift() as Event);
    credit += (o.rate * STEP_MS) / 1000;
    const live = [...nodes.values()].filter((n) => !n.draining);
    for (; credit >= 1 && live.length > 0; credit--) load(live, prng, elapsed);
    if (o.resetRate !== undefined && o.resetRate > 0 && live.length > 0 && prng.next() < o.resetRate * STEP_MS && keysSeen.length > 0) {
      const n = prng.pick(live);
      const key = prng.pick(keysSeen);
      n.limiter.reset(key);
      // The floors the reset set, read from the issuer at once: what it had observed.
      truth.reset(key, n.limiter.replicaId, n.limiter.replica.cellsOf(key), net.now());
      report.resets++;
    }
    net.advance(STEP_MS);
    observe('load');
    o.onProgress?.(elapsed / o.durationMs);
  }
  // Heal every healing cut, stop the faults, start who is still down, and let the cluster settle.
  net.heal();
  for (const [p, c] of applied) if (p.heal !== null) truth.healed(c, net.now());
  for (const p of partitions) if (p.heal === null) cut(net, p, true);
  net.setFaults({ loss: 0, duplicate: 0, reorder: 0 });
  if (lastHeal === null && partitions.length > 0) lastHeal = net.now() - t0;
  for (const e of events.filter((x) => x.kind === 'back' || x.kind === 'join')) await handle(e);
  const bucketMs = o.windowMs / buckets;
  const settle = o.settleMs ?? 3 * digestMs + 3 * bucketMs + 10 * gossip + BACKOFF.maxMs + 200;
  let healConvergedMs: number | null = null;
  const healStart = net.now();
  for (let waited = 0; waited < settle; waited += STEP_MS) {
    net.advance(STEP_MS);
    observe('settle');
    // Looked for every 4 steps (20 ms): the figure's resolution.
    if (healConvergedMs === null && pending.length === 0 && (waited / STEP_MS) % 4 === 3 && findMismatches(truth, honestViews(), 1).length === 0) {
      healConvergedMs = net.now() - healStart;
    }
  }
  const mismatches = findMismatches(truth, honestViews(), 20);
  const probed = o.probe === false ? null : runProbe();
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
    probe: probed,
    convergence: { samples: latencies.length, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: latencies.at(-1) ?? 0 },
    healConvergedMs: lastHeal === null ? null : healConvergedMs,
  };

  function honestViews(): SimNode[] {
    return [...nodes.values()].filter((n) => honest.has(n.id));
  }

  function keyAt(elapsed: number, i: number): string {
    return o.keyChurnMs === undefined ? `k${i}` : `k${Math.floor(elapsed / o.keyChurnMs)}.${i}`;
  }

  function load(live: SimNode[], rng: Prng, elapsed: number): void {
    const n = rng.pick(live);
    const key = keyAt(elapsed, rng.int(o.keys));
    const cost = rng.next() < 0.9 ? 1 : 1 + rng.int(Math.min(3, n.limiter.limit));
    decide(n, key, cost);
    if (pending.length < 256 && rng.next() < 0.05) {
      const bucket = n.limiter.replica.currentBucket();
      const cell = n.limiter.replica.cellsOf(key).find((c) => c.bucket === bucket && c.replica === n.limiter.replicaId);
      if (cell !== undefined) pending.push({ replica: n.limiter.replicaId, key, bucket, count: cell.count, at: net.now() });
    }
  }

  /** One decision on `n`, logged as the load generator saw it. */
  function decide(n: SimNode, key: string, cost: number): boolean {
    if (!keySet.has(key)) {
      keySet.add(key);
      keysSeen.push(key);
    }
    report.offered++;
    truth.offered(key, net.now());
    const d = n.limiter.consume(key, cost);
    if (!d.allowed) {
      report.denied++;
      return false;
    }
    report.admitted++;
    truth.admit(n.limiter.replicaId, key, n.limiter.replica.currentBucket(), cost, net.now(), n.id);
    return true;
  }

  async function handle(e: Event): Promise<void> {
    switch (e.kind) {
      case 'join':
      case 'back':
        if (!nodes.has(e.node) && !left.has(e.node)) await start(e.node);
        return;
      case 'crash': {
        const node = nodes.get(e.node);
        if (node === undefined) return;
        o.inspect?.(view('ending', e.node));
        // A crash: no drain, no close; the process and everything it held are gone.
        net.crash(e.node);
        nodes.delete(e.node);
        truth.ended(node.limiter.replicaId, net.now(), 'crash');
        report.crashes++;
        events.push({ at: e.at + (e.downMs ?? 0), kind: 'back', node: e.node });
        events.sort(byTime);
        return;
      }
      case 'restart':
        if (await stop(e.node, 'restart')) {
          await start(e.node);
          report.restarts++;
        }
        return;
      case 'leave':
        if (await stop(e.node, 'leave')) left.add(e.node);
        return;
      case 'limit': {
        const node = nodes.get(e.node);
        if (node === undefined) return;
        node.limiter.setLimit(e.limit);
        truth.limitChange(e.node, e.limit, net.now());
        report.limitChanges++;
        return;
      }
    }
  }

  function view(phase: SimulationView['phase'], ending?: string): SimulationView {
    return {
      phase,
      elapsedMs: net.now() - t0,
      nowMs: net.now(),
      nodes: [...nodes.values()],
      truth,
      keys: keysSeen,
      offsetsMs: offsets,
      honest,
      maxClockOffsetMs,
      partition: o.partition ?? 'local',
      windowMs: o.windowMs,
      buckets,
      isCut: (from, to) => net.isCut(from, to),
      timings,
      replicasStarted: incarnations,
      ending,
      probe,
    };
  }

  /** After each step: HLC monotonicity, the over-count bound, convergence samples, then the inspector. */
  function observe(phase: SimulationView['phase']): void {
    for (const n of nodes.values()) {
      const h = n.mesh.hlc.last;
      if (h < n.lastHlc) report.hlcMonotonic = false;
      n.lastHlc = h;
    }
    if (keysSeen.length > 0 && overCounted(truth, nodes.values(), keysSeen, checkRng)) report.overCounted = true;
    for (let i = pending.length - 1; i >= 0; i--) {
      const s = pending[i];
      let all = true;
      for (const n of nodes.values()) {
        if (!honest.has(n.id)) continue;
        if (s.bucket < n.limiter.replica.currentBucket() - n.limiter.buckets) continue; // expired there
        const c = n.limiter.replica.cellsOf(s.key).find((x) => x.bucket === s.bucket && x.replica === s.replica);
        // Converged on n: it holds the hit (visible or hidden by a reset: counts only grow).
        if (c === undefined || c.count < s.count) all = false;
      }
      if (all) {
        latencies.push(net.now() - s.at);
        pending.splice(i, 1);
      }
    }
    o.inspect?.(view(phase));
  }

  /** Stops `id` like an operator would; false when it was not running. */
  async function stop(id: string, how: 'restart' | 'leave'): Promise<boolean> {
    const node = nodes.get(id);
    if (node === undefined) return false;
    // Drain: no new traffic, then stop once the survivors hold every cell
    // this incarnation counted (or 5 s passed).
    node.draining = true;
    const others = () => [...nodes.values()].filter((n) => n !== node);
    for (let waited = 0; waited < 5000; waited += STEP_MS) {
      net.advance(STEP_MS);
      observe('load');
      if (handedOver(node, others())) break;
    }
    o.inspect?.(view('ending', id));
    // A graceful stop: the goodbye and the last frames go out as a process's
    // closed sockets would deliver them (no crash: a crash drops what is in flight).
    await node.mesh.close();
    nodes.delete(id);
    truth.ended(node.limiter.replicaId, net.now(), how);
    return true;
  }

  /**
   * The probe: honest nodes — those cut off from the burst node first —
   * admit up to half the limit on a fresh key; after as many gossip
   * intervals as a relay through a bridge needs (twenty, and the latency;
   * earlier once every node holds them), and three more (lag-aware admission
   * stops counting hits in flight two of its ticks after the peers fell
   * silent on the key), one node is asked for twice the
   * limit at once. Having heard everything, it must admit exactly up to its
   * limit; the oracle checks the log.
   */
  function runProbe(): { admitted: number; limit: number } | null {
    const voters = honestViews();
    if (voters.length === 0) return null;
    const lasting = partitions.find((p) => p.heal === null);
    const side = lasting === undefined ? [] : voters.filter((n) => lasting.a.includes(n.id));
    const burst = side.length > 0 ? side[checkRng.int(side.length)] : voters[checkRng.int(voters.length)];
    const limit = burst.limiter.limit;
    const cutOff = (n: SimNode) => net.isCut(n.id, burst.id) || net.isCut(burst.id, n.id);
    const order = [...voters.filter(cutOff), ...voters.filter((n) => !cutOff(n))];
    let budget = Math.floor(limit / 2);
    const each = Math.max(1, Math.floor(limit / (2 * voters.length)));
    probe = { key: PROBE_KEY, node: burst.id, firstAt: net.now() };
    let admitted = 0;
    for (const n of order) {
      for (let i = 0; i < each && budget > 0; i++, budget--) if (decide(n, PROBE_KEY, 1)) admitted++;
    }
    const counted = new Map<string, number>();
    for (const n of voters) counted.set(n.limiter.replicaId, truth.hitsOf(PROBE_KEY, n.limiter.replicaId).length);
    const heard = (n: SimNode) => {
      const sums = new Map<string, number>();
      for (const c of n.limiter.replica.cellsOf(PROBE_KEY)) sums.set(c.replica, (sums.get(c.replica) ?? 0) + c.count);
      return [...counted].every(([replica, hits]) => (sums.get(replica) ?? 0) >= hits);
    };
    const hearMs = 20 * gossip + 4 * (o.latencyMs?.[1] ?? 5);
    for (let waited = 0; waited < hearMs && !voters.every(heard); waited += STEP_MS) {
      net.advance(STEP_MS);
      observe('probe');
    }
    // Lag-aware admission holds back hits it thinks are in flight until the peers have been
    // silent on the key for two of its ticks (docs/accuracy.md): three gossip intervals more.
    for (let waited = 0; waited < 3 * gossip; waited += STEP_MS) {
      net.advance(STEP_MS);
      observe('probe');
    }
    for (let i = 0; i < 2 * limit + 3; i++) if (decide(burst, PROBE_KEY, 1)) admitted++;
    net.advance(STEP_MS);
    observe('probe');
    return { admitted, limit };
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
