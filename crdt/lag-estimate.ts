/**
 * Lag-aware admission (docs/accuracy.md, Lag-aware admission): what a node
 * adds to a hot key's count for the hits its peers have probably admitted but
 * it has not seen yet, and the quota it keeps to near the limit. Decision-side
 * only: nothing here enters a cell, a delta or a digest, so the CRDT state is
 * the same with it on or off.
 *
 * For each *hot* key — one whose cells a peer's delta raised recently — it
 * keeps exponentially weighted averages, over ticks of about one gossip
 * interval, of
 *
 * - `remoteRate` r: hits per ms that deltas brought from other replicas;
 * - `unseen` u = Σ_p r_p · D_p: each origin's rate times its replication
 *   delay `D_p` (half its gossip interval plus its one-way delay, from
 *   measured round trips: see `src/mesh/accuracy/lag-delays.ts`), which is
 *   how many of its hits are in flight at any moment (Little's law);
 * - `demandRate` q: hits per ms asked for here, admitted or not.
 *
 * A decision on a hot key then
 *
 * 1. **pre-fills** the count with `⌊prefill · u⌋` whole hits (default
 *    `prefill` 0.7: the estimate is of a mean, and over-estimating it denies
 *    hits the window had room for); `u` here is at most the last two ticks'
 *    figure, so once the peers have been silent on the key for two ticks
 *    (nothing of theirs is in flight: each ships its hits every tick) the
 *    pre-fill is 0 and a node that has heard everything decides on its count;
 * 2. when the budget left, `left = L − count − pre-fill`, is below what the
 *    cluster could admit during one replication delay,
 *    `near = max(n · max(q · D, b), (r + q) · D)` (D the rate-weighted mean
 *    delay, `b` the most hits asked for here in one tick: the riskiest
 *    moment is budget coming back at a bucket boundary, which every active
 *    node sees at once, and a batch of requests arrives in one piece; the
 *    first term only for a busy key, `q · D ≥ 1`),
 *    admits only within **its quota**:
 *    `own + cost ≤ w · (left + own)`, where `own` is its own recent hits (an
 *    exponentially decaying sum with time constant D: hits its peers have
 *    probably not seen yet) and `w = 1 / n`, n the nodes that admitted hits
 *    for the key within the last window, itself included. Every node keeps to
 *    its part of the same budget, so the hits admitted on a stale count in
 *    one replication delay sum to about `left` instead of `n · left`.
 *
 * Far from the limit a hot key only reports `remaining` lower by its
 * pre-fill; a key no peer counts is not hot and is decided as before.
 *
 * @module
 */

/** Hot keys tracked per window at most: past it, a newly hot key is decided as before until a cold one leaves. */
export const MAX_HOT_KEYS = 1024;
/** Default share of the estimated unseen hits added to a hot key's count. */
export const DEFAULT_PREFILL = 0.7;
/** Default weight of the newest tick in the averages. */
export const DEFAULT_RATE_SMOOTHING = 0.2;
/** Ticks between two prunings of a hot key's active replicas (a power of two). */
const PRUNE_EVERY_TICKS = 8;
/** Cells of buckets ending more than this long ago (ms) are old news, not hits in flight: they do not feed the rates. */
const FRESH_MS = 1000;

/** Options of {@link LagEstimate}. */
export interface LagEstimateOptions {
  /** Share (0–1) of the estimated unseen hits added to a hot key's count; 0 turns the pre-fill off. */
  prefill?: number;
  /** Weight (0–1] of the newest tick in the rate averages. */
  smoothing?: number;
  /** Whether a hot key near its limit is decided on this node's quota (default true). */
  quota?: boolean;
}

/** What is known of one hot key. Fields are read by the decision (`sliding-window.ts`). */
export interface HotKey {
  /** The key (a slot is reused for another key once swept). */
  readonly key: string;
  /** Hits deltas brought since the last tick, and the same weighted by their origin's delay (hit·ms). */
  remoteHits: number;
  remoteDelayed: number;
  /** Hits asked for here since the last tick. */
  demand: number;
  /** Averages, per ms. */
  remoteRate: number;
  unseen: number;
  demandRate: number;
  /** The most hits asked for here in one tick, decaying by the smoothing weight each tick: how bursty the demand is. */
  peakDemand: number;
  /** The last tick's own remote rate and unseen figure (per ms): with this tick's, what says the peers fell silent. */
  lastRate: number;
  lastUnseen: number;
  /** Whole hits added to the count. */
  prefill: number;
  /** Budget left below which the quota applies (hits). */
  near: number;
  /** This node's quota weight: 1 / the nodes active on the key. */
  weight: number;
  /** Rate-weighted mean replication delay of the key's remote hits (ms). */
  delayMs: number;
  /** Own recent hits, decaying with time constant `delayMs`, as of `ownAt`. */
  own: number;
  ownAt: number;
  /** Replica index → when (physical ms) a delta last brought its hits for the key. */
  readonly active: Map<number, number>;
  /** Physical ms of the last remote hit. */
  lastSeen: number;
  /** The tick that last updated the averages (settled keys skip ticks and catch up on their decay). */
  tick: number;
  /** Nothing in flight and nothing asked here at the last tick: ticks may skip the key while that lasts. */
  settled: boolean;
}

/**
 * The lag-aware estimates of one window's hot keys.
 *
 * @example
 * const est = new LagEstimate(5_000, { prefill: 0.7 });
 * est.remote(slot, 'user:42', 1, 5);        // a delta brought 5 hits of replica 1
 * est.tick(replicaIds, (id) => 15);         // every gossip interval: the replicas' delays in ms
 * est.hotOf(slot, 'user:42')?.prefill;      // whole hits added to its count
 */
export class LagEstimate {
  readonly prefill: number;
  readonly smoothing: number;
  readonly quota: boolean;
  readonly windowMs: number;
  /** Hot keys by slot. */
  readonly #hot = new Map<number, HotKey>();
  /** Replica index → its replication delay (ms), as of the last tick. */
  #delay: number[] = [];
  #lastTick = Number.NaN;
  #ticks = 0;
  /** Physical time (ms): rates, delays and the decay of `own` are in real time, never in HLC time, which a faster peer's clock may hold still. */
  readonly #now: () => number;

  constructor(windowMs: number, options: LagEstimateOptions = {}, now: () => number = Date.now) {
    this.windowMs = windowMs;
    this.#now = now;
    this.prefill = options.prefill ?? DEFAULT_PREFILL;
    this.smoothing = options.smoothing ?? DEFAULT_RATE_SMOOTHING;
    this.quota = options.quota ?? true;
  }

  /** Hot keys tracked. */
  get size(): number {
    return this.#hot.size;
  }

  /** Bucket ids before which merged cells are old news (see FRESH_MS). */
  freshFrom(t: number, bucketMs: number): number {
    return Math.floor((t - FRESH_MS) / bucketMs);
  }

  /** The hot key of `slot`, when it is `key`'s. */
  hotOf(slot: number, key: string): HotKey | undefined {
    const hot = this.#hot.get(slot);
    return hot !== undefined && hot.key === key ? hot : undefined;
  }

  /** A delta raised `key`'s cell of remote replica `replica` by `hits`. */
  remote(slot: number, key: string, replica: number, hits: number): void {
    const t = this.#now();
    let hot = this.#hot.get(slot);
    if (hot === undefined || hot.key !== key) {
      if (hot === undefined && this.#hot.size >= MAX_HOT_KEYS) return;
      hot = {
        key,
        remoteHits: 0,
        remoteDelayed: 0,
        demand: 0,
        remoteRate: 0,
        unseen: 0,
        demandRate: 0,
        peakDemand: 0,
        lastRate: 0,
        lastUnseen: 0,
        prefill: 0,
        near: 0,
        weight: 1,
        delayMs: 0,
        own: 0,
        ownAt: t,
        active: new Map(),
        lastSeen: t,
        tick: this.#ticks,
        settled: false,
      };
      this.#hot.set(slot, hot);
    }
    hot.remoteHits += hits;
    hot.remoteDelayed += hits * (this.#delay[replica] ?? 0);
    const known = hot.active.size;
    hot.active.set(replica, t);
    // A replica newly active on the key shrinks the quota at once; the tick prunes the ones gone quiet.
    if (hot.active.size !== known) hot.weight = 1 / (1 + hot.active.size);
    hot.lastSeen = t;
  }

  /** This node's own recent hits of `hot` now (see {@link HotKey.own}). */
  ownRecent(hot: HotKey): number {
    if (hot.own === 0) return 0;
    const dt = this.#now() - hot.ownAt;
    return dt <= 0 ? hot.own : hot.own * Math.exp(-dt / Math.max(1, hot.delayMs));
  }

  /** This node admitted `cost` hits of `hot`. */
  addOwn(hot: HotKey, cost: number): void {
    hot.own = this.ownRecent(hot) + cost;
    hot.ownAt = this.#now();
  }

  /** What a hit the quota denied should wait: about one replication delay, when the others' hits have arrived. */
  retryMs(hot: HotKey): number {
    return Math.max(1, Math.ceil(hot.delayMs));
  }

  /**
   * One tick (about every gossip interval): folds what
   * arrived since the last tick into the averages, derives each hot key's
   * pre-fill, threshold and weight, forgets keys idle for a window, and takes
   * the replicas' delays for the next tick from `delayOf` (by replica index,
   * for `ids.length` indexes; NaN or absent: unknown, counted as 0).
   */
  tick(ids: readonly string[], delayOf: (replicaId: string) => number): void {
    const t = this.#now();
    const elapsed = t - this.#lastTick;
    this.#lastTick = t;
    const delay = this.#delay;
    delay.length = ids.length;
    for (let i = 0; i < ids.length; i++) delay[i] = ids[i] === '' ? 0 : delayOf(ids[i]) || 0;
    if (!(elapsed > 0)) return;
    const a = this.smoothing;
    // Who is active changes over a window, not a tick: the replica lists are pruned every few ticks.
    const prune = (++this.#ticks & (PRUNE_EVERY_TICKS - 1)) === 0;
    // forEach, not for-of: no entry arrays to collect on a walk that runs every gossip interval.
    this.#hot.forEach((hot, slot) => {
      if (t - hot.lastSeen > this.windowMs) {
        this.#hot.delete(slot);
        return;
      }
      // A settled key (its last tick saw the peers silent for two ticks and no demand here: no
      // pre-fill, no remote term in its threshold) only decays while nothing happens: it is skipped
      // until something does (or its replica list is pruned), then decayed for the ticks it missed.
      if (hot.settled && hot.remoteHits === 0 && hot.demand === 0 && !prune) return;
      const missed = this.#ticks - 1 - hot.tick;
      hot.tick = this.#ticks;
      if (missed > 0) {
        const d = (1 - a) ** missed;
        hot.remoteRate *= d;
        hot.unseen *= d;
        hot.demandRate *= d;
        hot.peakDemand *= d;
      }
      const rate = hot.remoteHits / elapsed;
      const unseen = hot.remoteDelayed / elapsed;
      hot.remoteRate = (1 - a) * hot.remoteRate + a * rate;
      hot.unseen = (1 - a) * hot.unseen + a * unseen;
      hot.demandRate = (1 - a) * hot.demandRate + (a * hot.demand) / elapsed;
      hot.peakDemand = Math.max(hot.demand, (1 - a) * hot.peakDemand);
      // The average smooths lumpy arrivals but forgets slowly. Peers that fell silent for two
      // ticks have nothing in flight (each ships its hits every tick): the estimate is then 0,
      // so a node that has heard everything soon decides on its count alone again.
      const recentRate = Math.min(hot.remoteRate, Math.max(rate, hot.lastRate));
      const recentUnseen = Math.min(hot.unseen, Math.max(unseen, hot.lastUnseen));
      hot.lastRate = rate;
      hot.lastUnseen = unseen;
      hot.settled = recentRate === 0 && recentUnseen === 0 && rate === 0 && unseen === 0 && hot.demand === 0;
      hot.remoteHits = 0;
      hot.remoteDelayed = 0;
      hot.demand = 0;
      hot.delayMs = hot.remoteRate > 0 ? hot.unseen / hot.remoteRate : 0;
      hot.prefill = Math.floor(this.prefill * recentUnseen);
      if (prune) {
        hot.active.forEach((at, replica) => {
          if (t - at > this.windowMs) hot.active.delete(replica);
        });
        hot.weight = 1 / (1 + hot.active.size);
      }
      // What the cluster could admit in one delay: the peers' hits arriving now, or — when the
      // budget comes back after a pause, the riskiest moment — every active node asking as this
      // one does, in a burst as large as the largest it has seen in a tick (a batch arrives at once).
      // The second only for a busy key, asked at least once per delay here: a few requests in a row
      // on a quiet key are no sign that the other nodes are asking at the same moment.
      const asked = hot.demandRate * hot.delayMs;
      const n = 1 / hot.weight;
      hot.near = Math.max(asked >= 1 ? n * Math.max(asked, hot.peakDemand) : 0, (recentRate + hot.demandRate) * hot.delayMs);
    });
  }
}
