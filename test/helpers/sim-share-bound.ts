/**
 * The `partition: 'share'` bound, checked on the simulator's seeds
 * (docs/accuracy.md, "The bound"; issue 11, item 3): every window holds at
 * most the limit plus what the whole cluster admitted while a cut went
 * undetected, plus a healthy cluster's own in-flight error.
 *
 * Everything here comes from the harness's truth log (each admitted hit's
 * virtual time, cost and node; each cut with its start and heal; node
 * starts and ends; resets and limit changes) and the scenario's parameters
 * (`view.timings`, the clock offsets the harness set): never from a node's
 * counts, cells or share state.
 *
 * Per key (the probe's key aside, it has its own check), with `W` the window,
 * `B` its buckets, `bm = W / B`, `δ` the offset bound and offsets
 * `o_min … o_max` (spread `σ = o_max − o_min`):
 *
 * - **Replication delay `D`**: a delta leaves on the next gossip tick and
 *   arrives within the largest latency (`hop = gossip + lat_max`); a frame
 *   held back for reordering arrives up to `lat_max + 1` later (added to the
 *   hop when `reorder > 0`); the harness offers load in steps:
 *   `D = hop + step`, or `2·hop + step` in a seed with a bridge (it relays:
 *   two hops). Duplicates change nothing (merges are idempotent). With loss a
 *   dropped delta is repaired only by anti-entropy, whose digests skip the
 *   two newest buckets and which repairs a shard after two digests that
 *   differ: then `D = 3·bm + 3·digest + 2·hop + step`. A seed where
 *   `D ≥ W` is not checked (the in-flight allowance would be the whole
 *   window).
 * - **Detection** of cut `c` (applied at `c.at`): the last frame heard
 *   arrives up to `2·lat_max + 1` after it, a peer is suspect once silent for
 *   `suspectAfterMs` (looked at on the gossip tick), and the partition guard
 *   looks every gossip interval, so every node has detected it by
 *   `c.at + 2·lat_max + 1 + suspectAfterMs + 2·gossip + step`.
 * - **Undetected** hits of `c`: every hit of the key admitted anywhere in
 *   `[c.at − D, detection]` (those in flight when the cut began count too).
 * - **In flight**: the most hits of the key admitted in any `D` of the run.
 * - **Crash loss**: a crash loses what no survivor received, the crashed
 *   replica's hits of the last `D` before it.
 *
 * A window's bound is `limit + in flight + Σ undetected of the cuts whose
 * undetected interval meets it + Σ crash losses within it`.
 *
 * Windows, in the nodes' own buckets (a hit at virtual `t` on a node `o` ms
 * ahead lands in a bucket of `[t + o, t + min(o_max, o + 2δ) + 1]`, as in
 * the oracle):
 * - **aligned spans** of `B` buckets `[b, b + B − 1]`: the hits surely in the
 *   span (their whole bucket range inside) never exceed the bound. Virtual
 *   times of the span: `[b·bm − o_max − 1, (b + B)·bm − o_min)`;
 * - **sliding** `[s, s + W)` of virtual time, from every admitted hit: at
 *   most the bound plus the most hits in any `bm + σ + 1` ms (one bucket, as
 *   docs/window-math.md (c) allows a single node, widened by the clocks:
 *   hits of `[s, s + W)` lie in an aligned span starting within
 *   `bm + σ + 1` of `s`, or before it). Virtual times the window's aligned
 *   span may cover: `[s, s + W + σ + bm + 1)`.
 *
 * Where the docs say the bound does not hold, windows are not checked (each
 * exclusion is counted, see {@link ShareBoundFigures}):
 * - `clocks refused`: a node outside the honest group (its clock past the
 *   bound): the whole seed;
 * - `loss: D ≥ W`: see above; the whole seed;
 * - `start before ready`: a node starting (late join, back from a crash,
 *   restarted) is kept from traffic by readiness until its initial sync is
 *   done; the harness sends it load at once, so windows meeting
 *   `[start, start + joinTimeoutMs + D]` are outside the bound;
 * - `started during a cut`: members disagree (a node that joined or
 *   restarted during a partition never heard the other side): windows meeting
 *   `[start, heal + suspectAfterMs + 2·gossip + D]` (or the end, for a cut
 *   that never heals), for a start within `joinTimeoutMs + D` before the cut
 *   or while it is open;
 * - `crash during a cut`: what the crashed node admitted on its side may be
 *   lost with it; windows meeting `[c.at − D, heal + suspectAfterMs +
 *   2·gossip + D]`;
 * - `forgetAfterMs`: a cut longer than it (the mesh default, 10 min; the
 *   harness never sets it) makes each side forget the other: windows from
 *   the cut on. Never drawn by `randomScenario`, whose runs last seconds;
 * - `missed BYE`: a node that left (or restarted) while cut off from some
 *   node: windows from then on;
 * - `limit change`: windows meeting `[x − bm − σ − 1, x + bm + σ + 1]` of a
 *   runtime change at `x`; any other window is held to the largest limit in
 *   force before its end (the initial one or any change issued by then: the
 *   nodes may hold different limits until they converge, each admitting
 *   within its own);
 * - `reset`: windows of the reset key meeting `[r − bm − σ − 1, r + bm + σ + 1]`
 *   (a reset hides hits of its bucket).
 *
 * @module
 */
import { bucketOf } from '../../crdt/window-math.js';
import { randomScenario, type SimPartition, type SimulationOptions, type SimulationView, type TruthCut } from '../../src/sim/index.js';
import { createPrng } from '../../transport/sim/prng.js';

/** The mesh's default `forgetAfterMs` (src/mesh/mesh-options.ts); the harness never sets it. */
export const FORGET_AFTER_MS = 600_000;

/** Why windows (or a seed) went unchecked. */
export type ShareExclusion =
  | 'clocks refused'
  | 'loss: D ≥ W'
  | 'start before ready'
  | 'started during a cut'
  | 'crash during a cut'
  | 'forgetAfterMs'
  | 'missed BYE'
  | 'limit change'
  | 'reset';

/** What one seed's check covered. */
export interface ShareBoundFigures {
  /** The seed was checked at all (not excluded as a whole). */
  checked: boolean;
  /** The whole seed's exclusion, when not checked. */
  excludedSeed?: ShareExclusion;
  /** Windows checked: aligned spans and sliding windows. */
  aligned: number;
  sliding: number;
  /** Checked windows meeting a cut (its start to its heal, or the end of the load). */
  cutWindows: number;
  /** Checked windows meeting a cut that held at least the limit: the bound was under pressure. */
  cutWindowsAtLimit: number;
  /** Cuts applied in the seed. */
  cuts: number;
  /** Windows left unchecked, per (first) reason. */
  excluded: Partial<Record<ShareExclusion, number>>;
  /** Replication delay used (ms). */
  replicationMs: number;
  /** The checked window closest to its bound (largest hits − bound), for reports. */
  closest: { margin: number; window: string } | null;
}

/** One seed's verdict: problems (empty when the bound held) and figures. */
export interface ShareBoundResult {
  problems: string[];
  figures: ShareBoundFigures;
}

/** Figures over the seeds checked in this process since the last {@link takeShareTally}. */
export interface ShareTally {
  seeds: number;
  checkedSeeds: number;
  seedsWithCutWindow: number;
  seedsWithCutWindowAtLimit: number;
  aligned: number;
  sliding: number;
  cutWindows: number;
  cutWindowsAtLimit: number;
  excludedSeeds: Partial<Record<ShareExclusion, number>>;
  excludedWindows: Partial<Record<ShareExclusion, number>>;
}

const emptyTally = (): ShareTally => ({
  seeds: 0,
  checkedSeeds: 0,
  seedsWithCutWindow: 0,
  seedsWithCutWindowAtLimit: 0,
  aligned: 0,
  sliding: 0,
  cutWindows: 0,
  cutWindowsAtLimit: 0,
  excludedSeeds: {},
  excludedWindows: {},
});

/** What the minimum-coverage assertions read: every seed {@link SimOracle} checked under `share` adds to it. */
let tally = emptyTally();

/** The figures so far, and a fresh tally for the next block of seeds. */
export function takeShareTally(): ShareTally {
  const out = tally;
  tally = emptyTally();
  return out;
}

/** Adds one seed's figures to the tally ({@link takeShareTally}). */
export function tallyShareBound(f: ShareBoundFigures): void {
  const t = tally;
  t.seeds++;
  if (f.excludedSeed !== undefined) t.excludedSeeds[f.excludedSeed] = (t.excludedSeeds[f.excludedSeed] ?? 0) + 1;
  if (!f.checked) return;
  t.checkedSeeds++;
  if (f.cutWindows > 0) t.seedsWithCutWindow++;
  if (f.cutWindowsAtLimit > 0) t.seedsWithCutWindowAtLimit++;
  t.aligned += f.aligned;
  t.sliding += f.sliding;
  t.cutWindows += f.cutWindows;
  t.cutWindowsAtLimit += f.cutWindowsAtLimit;
  for (const [k, n] of Object.entries(f.excluded) as Array<[ShareExclusion, number]>) t.excludedWindows[k] = (t.excludedWindows[k] ?? 0) + n;
}

/** One line of a tally, for the test log. */
export function describeShareTally(t: ShareTally): string {
  const pct = (n: number) => `${((100 * n) / Math.max(1, t.seeds)).toFixed(0)} %`;
  const list = (r: Partial<Record<string, number>>) =>
    Object.entries(r)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  return (
    `share bound: ${t.checkedSeeds} of ${t.seeds} seeds checked (${pct(t.checkedSeeds)}); ` +
    `${t.seedsWithCutWindow} (${pct(t.seedsWithCutWindow)}) checked a window meeting a cut, ${t.seedsWithCutWindowAtLimit} (${pct(t.seedsWithCutWindowAtLimit)}) one holding the limit; ` +
    `windows checked: ${t.aligned} aligned, ${t.sliding} sliding, ${t.cutWindows} meeting a cut (${t.cutWindowsAtLimit} at the limit); ` +
    `seeds not checked: ${list(t.excludedSeeds)}; windows not checked: ${list(t.excludedWindows)}`
  );
}

interface Hit {
  at: number;
  cost: number;
  node: string;
  replica: string;
  lo: number;
  hi: number;
}

interface Interval {
  from: number;
  to: number;
}

interface Exclusion extends Interval {
  reason: ShareExclusion;
  /** Only windows of this key (a reset). */
  key?: string;
}

const meets = (x: Interval, y: Interval): boolean => x.from <= y.to && y.from <= x.to;

/** Checks the share bound on a finished run (call it in phase `end`). */
export function checkShareBound(view: SimulationView): ShareBoundResult {
  const t = view.timings;
  const truth = view.truth;
  const W = view.windowMs;
  const B = view.buckets;
  const bm = W / B;
  const L = truth.limit;
  const offsets = [...view.offsetsMs.values()];
  const oMin = Math.min(...offsets);
  const oMax = Math.max(...offsets);
  const spread = oMax - oMin;
  const lat = t.latencyMs[1];
  const hop = t.gossipIntervalMs + lat + (t.reorder > 0 ? lat + 1 : 0);
  // A bridge relays: two hops between its sides.
  const hops = truth.cuts().some((c) => c.kind === 'bridge') ? 2 : 1;
  const D = t.loss > 0 ? 3 * bm + 3 * t.digestIntervalMs + 2 * hop + t.stepMs : hops * hop + t.stepMs;
  const detectMs = 2 * lat + 1 + t.suspectAfterMs + 2 * t.gossipIntervalMs + t.stepMs;
  const healMs = t.suspectAfterMs + 2 * t.gossipIntervalMs + D;
  const figures: ShareBoundFigures = { checked: false, aligned: 0, sliding: 0, cutWindows: 0, cutWindowsAtLimit: 0, cuts: truth.cuts().length, excluded: {}, replicationMs: D, closest: null };
  const problems: string[] = [];

  if ([...view.offsetsMs.keys()].some((id) => !view.honest.has(id))) {
    figures.excludedSeed = 'clocks refused';
    return { problems, figures };
  }
  if (D >= W) {
    figures.excludedSeed = 'loss: D ≥ W';
    return { problems, figures };
  }
  figures.checked = true;

  const END = Number.POSITIVE_INFINITY;
  const cuts = truth.cuts();
  const openAt = (c: TruthCut, x: number) => x >= c.at && x < (c.heal ?? END);
  const exclusions: Exclusion[] = [];
  const incarnations = truth.incarnations();
  const t0 = Math.min(...incarnations.map((i) => i.at));
  for (const inc of incarnations) {
    if (inc.at <= t0) continue;
    exclusions.push({ from: inc.at, to: inc.at + t.joinTimeoutMs + D, reason: 'start before ready' });
    for (const c of cuts) {
      if (inc.at >= c.at - t.joinTimeoutMs - D && inc.at < (c.heal ?? END)) {
        exclusions.push({ from: inc.at, to: (c.heal ?? END) + healMs, reason: 'started during a cut' });
      }
    }
  }
  const crashes: Array<{ replica: string; at: number }> = [];
  for (const inc of incarnations) {
    const end = truth.endOf(inc.replica);
    if (end === undefined) continue;
    if (end.how === 'crash') {
      crashes.push({ replica: inc.replica, at: end.at });
      for (const c of cuts) if (openAt(c, end.at)) exclusions.push({ from: c.at - D, to: (c.heal ?? END) + healMs, reason: 'crash during a cut' });
    } else {
      // A graceful stop sends a BYE; a node cut off from the stopping one misses it.
      const missed = cuts.some((c) => openAt(c, end.at) && (c.a.includes(inc.node) || c.b.includes(inc.node)));
      if (missed) exclusions.push({ from: end.at, to: END, reason: 'missed BYE' });
    }
  }
  for (const c of cuts) {
    if ((c.heal ?? view.nowMs) - c.at > FORGET_AFTER_MS) exclusions.push({ from: c.at, to: END, reason: 'forgetAfterMs' });
  }
  const resetMargin = bm + spread + 1;
  const changes = truth.limitChanges();
  for (const c of changes) exclusions.push({ from: c.at - resetMargin, to: c.at + resetMargin, reason: 'limit change' });
  /** The limit a window is held to: the largest in force on any node during it (the initial one, or any change issued before its end). */
  const limitOf = (iv: Interval): number => changes.reduce((l, c) => (c.at <= iv.to ? Math.max(l, c.limit) : l), L);
  for (const r of truth.resets()) exclusions.push({ from: r.at - resetMargin, to: r.at + resetMargin, reason: 'reset', key: r.key });

  const undetected = cuts.map((c) => ({ from: c.at - D, to: c.at + detectMs }));
  const cutSpans = cuts.map((c) => ({ from: c.at, to: c.heal ?? END }));
  const fastest = oMax;
  const probeKey = view.probe?.key;

  for (const key of truth.keys()) {
    if (key === probeKey) continue;
    const hits: Hit[] = [];
    for (const replica of truth.replicasOf(key)) {
      for (const h of truth.hitsOf(key, replica)) {
        const own = view.offsetsMs.get(h.node) ?? 0;
        const lo = bucketOf(h.at + own, W, B);
        const hi = bucketOf(h.at + own + Math.min(fastest - own, 2 * view.maxClockOffsetMs) + 1, W, B);
        hits.push({ at: h.at, cost: h.cost, node: h.node, replica, lo, hi });
      }
    }
    if (hits.length === 0) continue;
    hits.sort((x, y) => x.at - y.at);
    // Prefix sums of cost by virtual time, for "hits admitted in [from, to]".
    const times = hits.map((h) => h.at);
    const prefix = [0];
    for (const h of hits) prefix.push(prefix[prefix.length - 1] + h.cost);
    /** Index of the first hit at ≥ x (or > x with `after`). */
    const search = (x: number, after: boolean): number => {
      let lo = 0;
      let hi = times.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (times[mid] < x || (after && times[mid] === x)) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const admittedIn = (from: number, to: number): number => prefix[search(to, true)] - prefix[search(from, false)];
    const mostWithin = (len: number): number => {
      let best = 0;
      for (let i = 0, j = 0, sum = 0; i < hits.length; i++) {
        sum += hits[i].cost;
        while (hits[i].at - hits[j].at >= len) sum -= hits[j++].cost;
        if (sum > best) best = sum;
      }
      return best;
    };
    const inFlight = mostWithin(D);
    const oneBucket = mostWithin(bm + spread + 1);
    const undetectedHits = undetected.map((u) => admittedIn(u.from, u.to));
    const crashLoss = crashes.map((c) => ({ from: c.at - D, to: c.at, hits: hits.filter((h) => h.replica === c.replica && h.at >= c.at - D && h.at <= c.at).reduce((s, h) => s + h.cost, 0) }));

    /** The bound of a window covering virtual times `iv`, and what it is made of; null when the window is excluded. */
    const boundOf = (iv: Interval): { bound: number; parts: string } | { excluded: ShareExclusion } => {
      for (const e of exclusions) if ((e.key === undefined || e.key === key) && meets(e, iv)) return { excluded: e.reason };
      const limit = limitOf(iv);
      let bound = limit + inFlight;
      const parts = [`limit ${limit}`, `in flight ${inFlight} (D ${Math.round(D)} ms)`];
      undetected.forEach((u, i) => {
        if (meets(u, iv)) {
          bound += undetectedHits[i];
          parts.push(`undetected ${undetectedHits[i]} (cut ${i + 1} at ${cuts[i].at}, ${cuts[i].kind})`);
        }
      });
      for (const c of crashLoss) {
        if (c.hits > 0 && meets(c, iv)) {
          bound += c.hits;
          parts.push(`crash loss ${c.hits}`);
        }
      }
      return { bound, parts: parts.join(' + ') };
    };
    const count = (iv: Interval, n: number, what: string, extra: number, kind: 'aligned' | 'sliding'): void => {
      const b = boundOf(iv);
      if ('excluded' in b) {
        figures.excluded[b.excluded] = (figures.excluded[b.excluded] ?? 0) + 1;
        return;
      }
      figures[kind]++;
      if (cutSpans.some((c) => meets(c, iv))) {
        figures.cutWindows++;
        if (n >= limitOf(iv)) figures.cutWindowsAtLimit++;
      }
      const margin = n - b.bound - extra;
      if (figures.closest === null || margin > figures.closest.margin) figures.closest = { margin, window: `${key} ${what}: ${n} hits, bound ${b.bound + extra} = ${b.parts}${extra > 0 ? ` + one bucket ${extra}` : ''}` };
      if (n > b.bound + extra && problems.length === 0) {
        problems.push(`the share bound: ${key} ${what} holds ${n} hits > ${b.bound + extra} = ${b.parts}${extra > 0 ? ` + one bucket ${extra}` : ''}`);
      }
    };

    // Aligned spans: start at every distinct lowest bucket (a span starting between two of them holds no more).
    const byLo = [...hits].sort((x, y) => x.lo - y.lo);
    for (let i = 0; i < byLo.length; i++) {
      if (i > 0 && byLo[i - 1].lo === byLo[i].lo) continue;
      const b = byLo[i].lo;
      const last = b + B - 1;
      let n = 0;
      for (let j = i; j < byLo.length && byLo[j].lo <= last; j++) if (byLo[j].hi <= last) n += byLo[j].cost;
      count({ from: b * bm - oMax - 1, to: (b + B) * bm - oMin }, n, `aligned span of buckets ${b}–${last}`, 0, 'aligned');
    }
    // Sliding windows of virtual time, one from every admitted hit.
    for (let i = 0, j = 0, sum = 0; i < hits.length; i++) {
      // sum: hits in [hits[i].at, hits[i].at + W), i.e. hits[i..j)
      if (i > 0) sum -= hits[i - 1].cost;
      while (j < hits.length && hits[j].at < hits[i].at + W) sum += hits[j++].cost;
      if (i > 0 && hits[i - 1].at === hits[i].at) continue;
      const s = hits[i].at;
      count({ from: s, to: s + W + spread + bm + 1 }, sum, `sliding window [${s}, ${s + W}) ms`, oneBucket, 'sliding');
    }
  }
  return { problems, figures };
}

/**
 * A share seed that puts the bound under pressure: `randomScenario(seed)`
 * (clocks within ±150 ms, as the share seeds), then one or two hot keys
 * without churn, no resets, limit changes or node events (the documented
 * exceptions, which the other share seeds draw), and one long cut drawn from
 * the seed — a split or a bridge, 1.1 to 1.5 windows, from 0.5 to 0.8 windows
 * into the load, which runs 3 windows so that windows after the heal are
 * checked too. Nodes, window, buckets, limit, load, latency and faults stay
 * as drawn.
 */
export function shareBoundScenario(seed: number): SimulationOptions {
  const base = randomScenario(seed, { partition: 'share', offsetsMs: undefined, skewMs: 150 });
  const r = createPrng(seed ^ 0x5a5e);
  const W = base.windowMs;
  const ids = Array.from({ length: base.nodes }, (_, i) => `n${i + 1}`).sort(() => r.next() - 0.5);
  const at = Math.round(W * (0.5 + 0.3 * r.next()));
  const heal = at + Math.round(W * (1.1 + 0.4 * r.next()));
  let partition: SimPartition;
  if (r.next() < 0.25 && ids.length >= 3) {
    const split = 1 + r.int(ids.length - 2);
    partition = { at, heal, a: ids.slice(1, 1 + split), b: ids.slice(1 + split), kind: 'bridge' };
  } else {
    const split = 1 + r.int(ids.length - 1);
    partition = { at, heal, a: ids.slice(0, split), b: ids.slice(split), kind: 'split' };
  }
  return {
    ...base,
    durationMs: 3 * W,
    keys: 1 + r.int(2),
    keyChurnMs: undefined,
    resetRate: 0,
    limitChanges: [],
    joins: [],
    leaves: [],
    restarts: [],
    crashes: [],
    partitions: [partition],
  };
}
