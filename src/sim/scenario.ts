/**
 * What a simulation runs: the options of {@link runSimulation} and the
 * seeded scenario generator. Every parameter of a random scenario comes from
 * its seed — node count, window and bucket geometry, clock offsets (within,
 * at and past the offset bound, relayed through a chain of nodes), cuts
 * (splits, one-way, bridges, some longer than a window, one bridge that
 * never heals), crashes that lose state, graceful restarts, joins and leaves,
 * key churn, resets and limit changes (some while a cut is open), and the
 * network's faults — so a seed names one scenario and replays it exactly.
 *
 * @module
 */
import { createPrng, type Prng } from '../../transport/sim/prng.js';
import type { SimulationView } from './view.js';

/** A cut: frames between the groups are dropped from `at` until `heal` (virtual ms from start; `null`: never heals). */
export interface SimPartition {
  at: number;
  heal: number | null;
  a: string[];
  b: string[];
  /** Only a → b is cut. */
  oneWay?: boolean;
  /** What the cut is, for reports: `split`, `one-way`, or `bridge` (a and b cut, a third group reaches both). */
  kind?: 'split' | 'one-way' | 'bridge';
}

/** A node event at virtual ms `at`. */
export interface SimNodeEvent {
  at: number;
  node: string;
}

/** A crash: the node dies at `at` with everything it held, and comes back `downMs` later as a new incarnation. */
export interface SimCrash extends SimNodeEvent {
  downMs: number;
}

/** A runtime limit change (`setLimit`) issued on `node` at `at`. */
export interface SimLimitChange extends SimNodeEvent {
  limit: number;
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
  /** Keys the load draws from at any time. */
  keys: number;
  /** With key churn, the key set is replaced by new keys every this many virtual ms (most keys new). */
  keyChurnMs?: number;
  limit: number;
  windowMs: number;
  buckets?: number;
  gossipIntervalMs?: number;
  digestIntervalMs?: number;
  /** Each node's mesh refuses peer clocks further ahead than this (`maxClockOffsetMs`, default 500). */
  maxClockOffsetMs?: number;
  latencyMs?: [number, number];
  loss?: number;
  duplicate?: number;
  reorder?: number;
  /** Each node's clock offset is drawn from [−skewMs, skewMs] (ignored when `offsetsMs` is given). */
  skewMs?: number;
  /** Each node's clock offset in ms, n1 first. */
  offsetsMs?: number[];
  partitions?: SimPartition[];
  /** Graceful restarts: the node is drained, stopped once peers hold its counts (or 5 s passed), and started with a new incarnation. */
  restarts?: SimNodeEvent[];
  /** Crashes: no drain, state lost, back after `downMs` as a new incarnation. */
  crashes?: SimCrash[];
  /** Nodes that start late (every other node lists them as seeds from the start). */
  joins?: SimNodeEvent[];
  /** Nodes that leave for good, drained like a restart. */
  leaves?: SimNodeEvent[];
  /** Probability per ms of a key reset somewhere. */
  resetRate?: number;
  limitChanges?: SimLimitChange[];
  /** Quiet virtual ms after the load before the final check (default: enough for digests, a reconnect and three buckets). */
  settleMs?: number;
  /** The limiter's partition policy (docs/accuracy.md; default `local`). `randomScenario` never draws it: the CI seeds run both. */
  partition?: 'local' | 'share';
  /** Run the probe after the settle: a node that has heard everything must admit exactly up to the limit (default true). */
  probe?: boolean;
  onProgress?: (fraction: number) => void;
  /** Called with the nodes and the truth log after every step; must not change them. For test oracles. */
  inspect?: (view: SimulationView) => void;
}

/** The smallest scenario {@link randomScenario} draws: nodes, windows of virtual time, keys over the run. */
export const MIN_SCENARIO = { nodes: 3, windows: 2, keys: 100 } as const;

/** Default offset bound of a mesh (`maxClockOffsetMs`). */
const OFFSET_BOUND_MS = 500;

/**
 * A random scenario for seed `seed` (see the module comment); `overrides`
 * replace drawn fields.
 */
export function randomScenario(seed: number, overrides: Partial<SimulationOptions> = {}): SimulationOptions {
  const r = createPrng(seed ^ 0x5eed);
  // 3–9 nodes, most runs small (each node costs the run's time).
  const nodes = 3 + (r.next() < 0.7 ? r.int(3) : 3 + r.int(4));
  const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  // Windows that rarely divide into their buckets; 1 to 600 buckets.
  const windowMs = 500 + r.int(1_500);
  const buckets = drawBuckets(r);
  const durationMs = 2 * windowMs + r.int(Math.floor(windowMs / 2));
  const { offsetsMs, tight } = drawOffsets(r, nodes);

  // Nodes that join late or leave: never the first two, so a core stays.
  const joins: SimNodeEvent[] = [];
  const leaves: SimNodeEvent[] = [];
  const restarts: SimNodeEvent[] = [];
  const crashes: SimCrash[] = [];
  const busy = new Set<string>();
  const eventNode = (): string | null => {
    const free = ids.slice(2).filter((id) => !busy.has(id));
    if (free.length === 0) return null;
    const id = r.pick(free);
    busy.add(id);
    return id;
  };
  if (nodes > 3 && r.next() < 0.25) {
    const id = eventNode();
    if (id !== null) joins.push({ at: r.int(Math.floor(durationMs / 2)), node: id });
  }
  if (nodes > 3 && r.next() < 0.2) {
    const id = eventNode();
    if (id !== null) leaves.push({ at: Math.floor(durationMs / 4) + r.int(Math.floor(durationMs / 2)), node: id });
  }
  for (let i = r.next() < 0.45 ? 1 + r.int(2) : 0; i > 0; i--) {
    const id = r.next() < 0.3 ? r.pick(ids.slice(0, 2)) : eventNode();
    if (id !== null) crashes.push({ at: r.int(durationMs - 200), node: id, downMs: 50 + r.int(windowMs) });
  }
  if (r.next() < 0.2) {
    const id = eventNode();
    if (id !== null) restarts.push({ at: r.int(durationMs), node: id });
  }

  // A bridge that never heals only where every clock is within the bound of
  // every other (so its two sides still meet through the bridge) and the
  // bridge node stays.
  const partitions = drawPartitions(r, ids, durationMs, windowMs, tight ? ids.filter((id) => !leaves.some((l) => l.node === id)) : []);
  const keyChurnMs = r.next() < 0.5 ? Math.max(100, Math.round(windowMs * (0.1 + r.next() * 0.6))) : undefined;
  const limit = r.next() < 0.3 ? 1 + r.int(10) : 10 + r.int(300);
  const limitChanges: SimLimitChange[] = [];
  if (r.next() < 0.4) {
    for (let i = 1 + r.int(3); i > 0; i--) {
      // Half of them while a cut is open, when there is one.
      const open = partitions.filter((p) => p.heal !== null);
      const p = open.length > 0 && r.next() < 0.5 ? r.pick(open) : null;
      const at = p === null ? r.int(durationMs) : p.at + r.int(Math.max(1, (p.heal as number) - p.at));
      limitChanges.push({ at, node: r.pick(ids), limit: Math.max(1, Math.round(limit * (0.25 + r.next() * 1.5))) });
    }
  }
  const faulty = r.next() < 0.5;
  return {
    seed,
    nodes,
    durationMs,
    rate: 200 + r.int(800),
    keys: keyChurnMs === undefined ? 100 + r.int(100) : 40 + r.int(60),
    keyChurnMs,
    limit,
    windowMs,
    buckets,
    latencyMs: [1, 2 + r.int(8)],
    loss: faulty && r.next() < 0.6 ? r.next() * 0.05 : 0,
    duplicate: faulty && r.next() < 0.6 ? r.next() * 0.05 : 0,
    reorder: faulty && r.next() < 0.6 ? r.next() * 0.2 : 0,
    offsetsMs,
    partitions,
    restarts,
    crashes,
    joins,
    leaves,
    resetRate: r.next() < 0.4 ? 0.0005 + r.next() * 0.002 : 0,
    limitChanges,
    ...overrides,
  };
}

/** 1–600 buckets: a third few (1–4), a third tens, a third up to the maximum. */
function drawBuckets(r: Prng): number {
  const u = r.next();
  if (u < 0.3) return 1 + r.int(4);
  if (u < 0.65) return 5 + r.int(56);
  return 61 + r.int(540);
}

/**
 * Clock offsets: usually within a few hundred ms; a quarter of the time a
 * chain reaching across up to twice the bound (every neighbour within it, so
 * the outer nodes meet only through relays); a seventh of the time one node
 * past the bound (a rogue clock its peers refuse).
 */
function drawOffsets(r: Prng, nodes: number): { offsetsMs: number[]; tight: boolean } {
  const u = r.next();
  if (u < 0.6) {
    const skew = r.int(250);
    return { offsetsMs: Array.from({ length: nodes }, () => Math.round((r.next() * 2 - 1) * skew)), tight: true };
  }
  if (u < 0.85) {
    // A chain: sorted offsets with gaps below the bound, spanning up to 2δ − 60.
    const span = OFFSET_BOUND_MS + r.int(OFFSET_BOUND_MS - 60);
    const gap = Math.min(OFFSET_BOUND_MS - 30, Math.ceil(span / Math.max(1, nodes - 1)) + 10);
    const out = [0];
    for (let i = 1; i < nodes; i++) out.push(Math.min(out[i - 1] + gap, i === nodes - 1 ? span : out[i - 1] + r.int(gap + 1)));
    const shift = Math.round(span / 2);
    return { offsetsMs: out.map((o) => o - shift).sort(() => r.next() - 0.5), tight: false };
  }
  const skew = r.int(150);
  const out = Array.from({ length: nodes }, () => Math.round((r.next() * 2 - 1) * skew));
  const rogue = r.int(nodes);
  out[rogue] = (r.next() < 0.5 ? -1 : 1) * (skew + OFFSET_BOUND_MS + 100 + r.int(1_500));
  return { offsetsMs: out, tight: false };
}

/** 0–3 healing cuts (splits, one-way, bridges; some longer than a window) and, sometimes, a bridge that never heals. */
function drawPartitions(r: Prng, ids: string[], durationMs: number, windowMs: number, bridges: string[]): SimPartition[] {
  const out: SimPartition[] = [];
  let last = 0;
  for (let i = r.int(4); i > 0; i--) {
    const at = r.int(Math.max(1, durationMs - 300));
    const long = r.next() < 0.3;
    const length = long ? windowMs + r.int(Math.floor(windowMs / 2)) : 100 + r.int(Math.floor(windowMs / 2));
    const heal = Math.min(at + length, durationMs - 1);
    const shuffled = [...ids].sort(() => r.next() - 0.5);
    const kind = r.next() < 0.2 ? 'bridge' : r.next() < 0.25 ? 'one-way' : 'split';
    if (kind === 'bridge') {
      const [a, b] = bridgeGroups(r, shuffled);
      out.push({ at, heal, a, b, kind });
    } else {
      const split = 1 + r.int(ids.length - 1);
      out.push({ at, heal, a: shuffled.slice(0, split), b: shuffled.slice(split), oneWay: kind === 'one-way', kind });
    }
    last = Math.max(last, heal);
  }
  if (bridges.length > 0 && r.next() < 0.3) {
    const at = Math.min(durationMs - 1, last + r.int(Math.max(1, durationMs - last)));
    const bridge = r.pick(bridges);
    const [a, b] = bridgeGroups(r, [bridge, ...ids.filter((id) => id !== bridge).sort(() => r.next() - 0.5)]);
    out.push({ at, heal: null, a, b, kind: 'bridge' });
  }
  return out;
}

/** Two groups cut from each other, the first node of `shuffled` reaching both (the bridge). */
function bridgeGroups(r: Prng, shuffled: string[]): [string[], string[]] {
  const rest = shuffled.slice(1);
  const split = 1 + r.int(rest.length - 1);
  return [rest.slice(0, split), rest.slice(split)];
}
