/**
 * The sliding window of one limiter: for every key, G-Counter cells per
 * (bucket, replica), stored column-wise in typed arrays so that a million
 * idle keys cost little more than their Map entries.
 *
 * Window math (see docs/window-math.md): bucket width `g = windowMs / buckets`,
 * bucket id `floor(t / g)` of the HLC wall time `t`, `cur` the current bucket
 * and `f = (t - cur·g) / g` how far into it we are. The window count is
 *
 *     count(t) = Σ_{b = cur-B+1 .. cur} c_b  +  (1 − f) · c_{cur−B}
 *
 * where `c_b` sums the visible cells of bucket `b`: the bucket leaving the
 * window is weighted by the fraction of it still inside. Cells from buckets
 * ahead of `cur` (a peer's clock slightly ahead) count in full.
 *
 * The store is pure: time is an argument of every method, and it never
 * schedules anything. It shares the cell semantics of `g-counter.ts`.
 *
 * @module
 */
import { cellAbove } from './g-counter.js';
import { wallOf } from './hlc.js';
import { fnv1a, mix32 } from './hash.js';
import type { WindowState } from './window-state.js';

/** A rate-limit decision. */
export interface Decision {
  /** Whether the request is admitted (and, for consume, counted). */
  allowed: boolean;
  /** The limit in force. */
  limit: number;
  /** Whole requests of cost 1 still admissible in the window now. */
  remaining: number;
  /** Ms until every hit counted now has left the window (the full limit is back). */
  resetMs: number;
  /** When denied: ms until a request of the same cost would be admitted (0 when allowed; Infinity when cost > limit). */
  retryAfterMs: number;
}

/** Options of {@link SlidingWindow}. */
export interface SlidingWindowOptions {
  windowMs: number;
  buckets: number;
  /** This replica's id: node id plus process incarnation. */
  replicaId: string;
  /** Bound on clock offset between replicas; sizes how long a reset is remembered. Default 500. */
  maxClockOffsetMs?: number;
}

const NIL = -1;
const DIRTY = 1;
const INITIAL_SLOTS = 1024;
const INITIAL_ENTRIES = 1024;

function grown<T extends Float64Array | Int32Array | Uint8Array | Uint32Array>(arr: T, size: number): T {
  const next = new (arr.constructor as new (n: number) => T)(size);
  next.set(arr);
  return next;
}

/**
 * Per-key sliding-window counters of one limiter.
 *
 * @example
 * const w = new SlidingWindow({ windowMs: 60_000, buckets: 60, replicaId: 'a#1' });
 * w.consume('user:42', 1, 100, Date.now()).allowed; // true
 */
export class SlidingWindow {
  readonly windowMs: number;
  readonly buckets: number;
  readonly bucketMs: number;
  readonly replicaId: string;
  /** Bound on clock offset between replicas: merged state stamped further ahead is refused. */
  readonly maxClockOffsetMs: number;
  /** How long (ms past its wall time) a reset tombstone outlives its window. */
  readonly resetTtlMs: number;

  // Key table, one slot per live key. Invariant: #index.get(#keys[s]) === s for live slots.
  #index = new Map<string, number>();
  #keys: Array<string | undefined> = [];
  #slotTop = 0;
  #freeSlots: number[] = [];
  /**
   * Per-slot numbers, interleaved so one decision touches one cache line of
   * each: `[cBucket, cSum, cEdge]` as floats and `[head, flags]` as ints.
   * - cBucket: the bucket `cur` the cached sums were computed for (NaN: stale);
   * - cSum: visible hits in buckets (cBucket − B, ∞);
   * - cEdge: visible hits in bucket cBucket − B (the one leaving the window);
   * - head: first cell of the slot's list, sorted by bucket, newest first.
   */
  #slotF = new Float64Array(INITIAL_SLOTS * 3);
  #slotI = new Int32Array(INITIAL_SLOTS * 2);
  #slotCap = INITIAL_SLOTS;
  /** slot → newest reset generation (sparse: resets are rare). */
  #resets = new Map<number, number>();

  // Cell arena: `[bucket, gen, count]` floats and `[replica, next]` ints per
  // cell, a linked list per slot through `next`, free cells chained from #eFree.
  #cellF = new Float64Array(INITIAL_ENTRIES * 3);
  #cellI = new Int32Array(INITIAL_ENTRIES * 2);
  #cellCap = INITIAL_ENTRIES;
  #eTop = 0;
  #eFree = NIL;
  #cells = 0;

  // Replica registry: local index ↔ replica id. Index 0 is this replica.
  #replicaIds: string[] = [];
  #replicaIndex = new Map<string, number>();
  #replicaHash: number[] = [];

  #dirty: number[] = [];
  /** Local cells in buckets ≥ this changed since the last drain. */
  #flushBucket = -Infinity;
  #sweepCursor = 0;
  #scratch: Float64Array;

  constructor(options: SlidingWindowOptions) {
    this.windowMs = options.windowMs;
    this.buckets = options.buckets;
    this.bucketMs = options.windowMs / options.buckets;
    this.replicaId = options.replicaId;
    // A reset must outlive every cell it could hide: one window past its time,
    // plus a bucket and the clock offset either way.
    this.maxClockOffsetMs = options.maxClockOffsetMs ?? 500;
    this.resetTtlMs = this.windowMs + this.bucketMs + 2 * this.maxClockOffsetMs;
    this.#replica(options.replicaId);
    this.#scratch = new Float64Array(this.buckets + 1);
  }

  /** Live keys held. */
  get size(): number {
    return this.#index.size;
  }

  /** Keys changed locally since the last drain. */
  get pending(): number {
    return this.#dirty.length;
  }

  /** Cells held (all keys, all replicas). */
  get cells(): number {
    return this.#cells;
  }

  /**
   * Bucket id of wall time `t`: `floor(t / g)`, computed as `floor(t·B / W)`.
   * For integer `t` (with `t·B < 2^53`) the numerator is exact and so is the
   * result; `t / g` with a width like 10000/7 rounds, and would put the first
   * millisecond of some buckets (20 000 here) into the bucket before.
   */
  bucketOf(t: number): number {
    return Math.floor((t * this.buckets) / this.windowMs);
  }

  /**
   * Weight `1 − f` of the edge bucket at `t` in bucket `cur`: the fraction of
   * bucket `cur − B` still inside the window, `((cur+1)·W − t·B) / W`. The
   * numerator is an exact integer for integer `t`; `(t − cur·g) / g` loses
   * digits at epoch-sized `t`.
   */
  #edgeWeight(t: number, cur: number): number {
    return ((cur + 1) * this.windowMs - t * this.buckets) / this.windowMs;
  }

  /** True when `key` has state here. */
  has(key: string): boolean {
    return this.#index.has(key);
  }

  /** The weighted window count of `key` at time `t`. */
  count(key: string, t: number): number {
    const slot = this.#index.get(key);
    if (slot === undefined) return 0;
    const cur = this.bucketOf(t);
    this.#refresh(slot, cur);
    return this.#slotF[slot * 3 + 1] + this.#slotF[slot * 3 + 2] * this.#edgeWeight(t, cur);
  }

  /**
   * Decides whether `cost` more hits fit under `limit` at time `t` and, when
   * they do and `commit` is true, counts them in this replica's cell.
   * A denied request is never counted.
   */
  decide(key: string, cost: number, limit: number, t: number, commit: boolean): Decision {
    const cur = this.bucketOf(t);
    let slot = this.#index.get(key);
    let count = 0;
    if (slot !== undefined) {
      this.#refresh(slot, cur);
      count = this.#slotF[slot * 3 + 1] + this.#slotF[slot * 3 + 2] * this.#edgeWeight(t, cur);
    }
    if (count + cost <= limit) {
      if (commit) {
        if (slot === undefined) {
          // Each new key pays for sweeping two slots, so expired keys are
          // reclaimed at the rate new ones arrive: memory tracks live keys.
          this.sweep(t, 2);
          slot = this.#newSlot(key, cur);
        }
        this.#addLocal(slot, cur, cost);
        count += cost;
      }
      const remaining = Math.floor(limit - count);
      return {
        allowed: true,
        limit,
        remaining: remaining > 0 ? remaining : 0,
        resetMs: slot === undefined ? 0 : this.#resetMs(slot, t),
        retryAfterMs: 0,
      };
    }
    if (cost > limit || slot === undefined) {
      // Never admissible, whatever slides out (callers validate cost ≤ limit;
      // an empty key admits any such cost, so this is the only way here
      // without a slot).
      return {
        allowed: false,
        limit,
        remaining: Math.max(0, Math.floor(limit - count)),
        resetMs: slot === undefined ? 0 : this.#resetMs(slot, t),
        retryAfterMs: Infinity,
      };
    }
    const s = slot;
    const remaining = Math.floor(limit - count);
    return {
      allowed: false,
      limit,
      remaining: remaining > 0 ? remaining : 0,
      resetMs: this.#resetMs(s, t),
      retryAfterMs: this.#retryAfter(s, cur, t, limit - cost),
    };
  }

  /** Ms until the newest counted bucket of `slot` has slid out of the window entirely. */
  #resetMs(slot: number, t: number): number {
    const head = this.#slotI[slot * 2];
    if (head === NIL) return 0;
    // The first ms of bucket n = head + 1 + B is ceil(n·W / B): exact with integers, unlike n·g.
    const ms = Math.ceil(((this.#cellF[head * 3] + 1 + this.buckets) * this.windowMs) / this.buckets - t);
    return ms > 0 ? ms : 0;
  }

  /**
   * Applies a reset generation (an HLC timestamp) to `key`: every cell
   * counted under an older generation is hidden from now on. Returns true
   * when it changed anything. Used for local resets and remote ones alike.
   */
  reset(key: string, gen: number, t: number): boolean {
    let slot = this.#index.get(key);
    if (slot === undefined) {
      if (wallOf(gen) + this.resetTtlMs <= t) return false;
      slot = this.#newSlot(key, this.bucketOf(t));
    }
    if (!this.#applyReset(slot, gen)) return false;
    this.#markDirty(slot);
    return true;
  }

  /** The newest reset generation of `key` (0: never reset). */
  resetGenOf(key: string): number {
    const slot = this.#index.get(key);
    return slot === undefined ? 0 : (this.#resets.get(slot) ?? 0);
  }

  /**
   * Takes the changes of this replica since the last drain: its own cells in
   * the buckets it touched, and resets it issued. Returns null when nothing
   * changed. Values are current totals, so re-sending is always safe.
   */
  /**
   * Forgets the changes since the last drain without building them: for a
   * node with no peer to send them to (a peer that comes gets a snapshot).
   */
  discardDelta(t: number): void {
    for (const slot of this.#dirty) this.#slotI[slot * 2 + 1] &= ~DIRTY;
    this.#dirty.length = 0;
    this.#flushBucket = this.bucketOf(t);
  }

  drainDelta(t: number): WindowState | null {
    const cur = this.bucketOf(t);
    if (this.#dirty.length === 0) {
      this.#flushBucket = cur;
      return null;
    }
    const keys: WindowState['keys'] = [];
    const minBucket = Math.max(this.#flushBucket, cur - this.buckets);
    for (const slot of this.#dirty) {
      this.#slotI[slot * 2 + 1] &= ~DIRTY;
      const key = this.#keys[slot];
      if (key === undefined) continue;
      const flat: number[] = [];
      for (let e = this.#slotI[slot * 2]; e !== NIL && this.#cellF[e * 3] >= minBucket; e = this.#cellI[e * 2 + 1]) {
        if (this.#cellI[e * 2] === 0) flat.push(this.#cellF[e * 3], 0, this.#cellF[e * 3 + 1], this.#cellF[e * 3 + 2]);
      }
      keys.push([key, this.#resets.get(slot) ?? 0, flat]);
    }
    this.#dirty.length = 0;
    this.#flushBucket = cur;
    return keys.length === 0 ? null : { replicas: [this.replicaId], keys };
  }

  /**
   * Joins remote state (a delta, a snapshot chunk or a repair answer) into
   * this window. Cells of buckets already outside the window are ignored.
   * Returns the number of cells that changed.
   */
  merge(state: WindowState, t: number): number {
    const cur = this.bucketOf(t);
    const minLive = cur - this.buckets;
    // No honest replica stamps anything further ahead than the clock bound:
    // a cell or reset from beyond it would pin a key for as long as it claims.
    const maxWall = t + this.maxClockOffsetMs;
    const maxBucket = this.bucketOf(maxWall) + 1;
    const local = state.replicas.map((id) => this.#replica(id));
    let changed = 0;
    for (const [key, resetGen, flat] of state.keys) {
      let slot = this.#index.get(key);
      if (resetGen > 0 && wallOf(resetGen) <= maxWall && (slot !== undefined || wallOf(resetGen) + this.resetTtlMs > t)) {
        if (slot === undefined) slot = this.#newSlot(key, cur);
        if (this.#applyReset(slot, resetGen)) changed++;
      }
      for (let i = 0; i < flat.length; i += 4) {
        const bucket = flat[i];
        const gen = flat[i + 2];
        if (bucket < minLive || bucket > maxBucket || wallOf(gen) > maxWall) continue;
        if (slot === undefined) slot = this.#newSlot(key, cur);
        // A cell counted under a newer generation proves that reset exists.
        if (gen > (this.#resets.get(slot) ?? 0)) this.#applyReset(slot, gen);
        else if (gen < (this.#resets.get(slot) ?? 0)) continue;
        if (this.#mergeCell(slot, bucket, local[flat[i + 1]], gen, flat[i + 3])) changed++;
      }
    }
    return changed;
  }

  /**
   * Up to `maxKeys` live keys with all their cells, starting at slot
   * `cursor`. Returns the chunk and the cursor to continue from (−1 when done).
   * Chunks taken while the window changes are still safe to merge: each is a
   * set of current cell values.
   */
  snapshot(t: number, cursor = 0, maxKeys = Infinity): { state: WindowState; cursor: number } {
    const minLive = this.bucketOf(t) - this.buckets;
    const table = new TableBuilder(this.#replicaIds);
    const keys: WindowState['keys'] = [];
    let slot = cursor;
    for (; slot < this.#slotTop && keys.length < maxKeys; slot++) {
      const entry = this.#export(slot, minLive, table);
      if (entry !== null) keys.push(entry);
    }
    return { state: { replicas: table.ids, keys }, cursor: slot < this.#slotTop ? slot : -1 };
  }

  /**
   * Anti-entropy digest: per key shard, an order-independent checksum of every
   * visible cell in buckets `from..to`. Two replicas holding the same cells
   * there compute the same digest.
   */
  digest(from: number, to: number, shards: number): number[] {
    const acc = new Uint32Array(shards);
    for (let slot = 0; slot < this.#slotTop; slot++) {
      const key = this.#keys[slot];
      if (key === undefined) continue;
      const h = fnv1a(key);
      let sum = 0;
      for (let e = this.#slotI[slot * 2]; e !== NIL; e = this.#cellI[e * 2 + 1]) {
        const b = this.#cellF[e * 3];
        if (b > to) continue;
        if (b < from) break;
        sum += mix32(h, b, this.#replicaHash[this.#cellI[e * 2]], this.#cellF[e * 3 + 1], this.#cellF[e * 3 + 2]);
      }
      if (sum !== 0) acc[h % shards] = (acc[h % shards] + sum) >>> 0;
    }
    return Array.from(acc);
  }

  /** Every live key of the given digest shards with all its cells: the answer to a repair request. */
  shardState(shards: number, wanted: ReadonlySet<number>, t: number): WindowState {
    const minLive = this.bucketOf(t) - this.buckets;
    const table = new TableBuilder(this.#replicaIds);
    const keys: WindowState['keys'] = [];
    for (let slot = 0; slot < this.#slotTop; slot++) {
      const key = this.#keys[slot];
      if (key === undefined || !wanted.has(fnv1a(key) % shards)) continue;
      const entry = this.#export(slot, minLive, table);
      if (entry !== null) keys.push(entry);
    }
    return { replicas: table.ids, keys };
  }

  /**
   * Frees expired cells and keys, examining at most `maxSlots` slots from
   * where the last sweep stopped. Returns the number of keys freed.
   */
  sweep(t: number, maxSlots = 256): number {
    const minLive = this.bucketOf(t) - this.buckets;
    let freed = 0;
    // One lap at most: a larger maxSlots (Infinity: "sweep everything") would circle forever.
    const limit = Math.min(maxSlots, this.#slotTop);
    for (let n = 0; n < limit; n++) {
      if (this.#sweepCursor >= this.#slotTop) this.#sweepCursor = 0;
      const slot = this.#sweepCursor++;
      if (this.#keys[slot] === undefined) continue;
      this.#pruneOlder(slot, minLive);
      const gen = this.#resets.get(slot);
      if (this.#slotI[slot * 2] === NIL && (gen === undefined || wallOf(gen) + this.resetTtlMs <= t)) {
        this.#freeSlot(slot);
        freed++;
      }
    }
    return freed;
  }

  /** Visible hits per replica id in the live window at `t` (for inspection and checks). */
  cellsOf(key: string, t: number): Array<{ bucket: number; replica: string; gen: number; count: number }> {
    const slot = this.#index.get(key);
    if (slot === undefined) return [];
    const minLive = this.bucketOf(t) - this.buckets;
    const out = [];
    for (let e = this.#slotI[slot * 2]; e !== NIL && this.#cellF[e * 3] >= minLive; e = this.#cellI[e * 2 + 1]) {
      out.push({
        bucket: this.#cellF[e * 3],
        replica: this.#replicaIds[this.#cellI[e * 2]],
        gen: this.#cellF[e * 3 + 1],
        count: this.#cellF[e * 3 + 2],
      });
    }
    return out;
  }

  /** Every live key (in slot order). */
  *keys(): IterableIterator<string> {
    for (let slot = 0; slot < this.#slotTop; slot++) {
      const key = this.#keys[slot];
      if (key !== undefined) yield key;
    }
  }

  #export(slot: number, minLive: number, table: TableBuilder): [string, number, number[]] | null {
    const key = this.#keys[slot];
    if (key === undefined) return null;
    const flat: number[] = [];
    for (let e = this.#slotI[slot * 2]; e !== NIL && this.#cellF[e * 3] >= minLive; e = this.#cellI[e * 2 + 1]) {
      flat.push(this.#cellF[e * 3], table.indexOf(this.#cellI[e * 2]), this.#cellF[e * 3 + 1], this.#cellF[e * 3 + 2]);
    }
    const gen = this.#resets.get(slot) ?? 0;
    return flat.length === 0 && gen === 0 ? null : [key, gen, flat];
  }

  /** Brings the slot's cached sums to bucket `cur`, dropping cells that left the window. */
  #refresh(slot: number, cur: number): void {
    if (this.#slotF[slot * 3] === cur) return;
    const edge = cur - this.buckets;
    let sum = 0;
    let edgeSum = 0;
    let prev = NIL;
    let e = this.#slotI[slot * 2];
    while (e !== NIL && this.#cellF[e * 3] > edge) {
      sum += this.#cellF[e * 3 + 2];
      prev = e;
      e = this.#cellI[e * 2 + 1];
    }
    while (e !== NIL && this.#cellF[e * 3] === edge) {
      edgeSum += this.#cellF[e * 3 + 2];
      prev = e;
      e = this.#cellI[e * 2 + 1];
    }
    if (e !== NIL) this.#cut(slot, prev);
    this.#slotF[slot * 3] = cur;
    this.#slotF[slot * 3 + 1] = sum;
    this.#slotF[slot * 3 + 2] = edgeSum;
  }

  #addLocal(slot: number, cur: number, cost: number): void {
    let prev = NIL;
    let e = this.#slotI[slot * 2];
    while (e !== NIL && this.#cellF[e * 3] >= cur) {
      if (this.#cellI[e * 2] === 0 && this.#cellF[e * 3] === cur) {
        this.#cellF[e * 3 + 2] += cost;
        this.#slotF[slot * 3 + 1] += cost;
        this.#markDirty(slot);
        return;
      }
      prev = e;
      e = this.#cellI[e * 2 + 1];
    }
    this.#insertAfter(slot, prev, cur, 0, this.#resets.get(slot) ?? 0, cost);
    this.#slotF[slot * 3 + 1] += cost;
    this.#markDirty(slot);
  }

  #mergeCell(slot: number, bucket: number, replica: number, gen: number, count: number): boolean {
    let prev = NIL;
    let e = this.#slotI[slot * 2];
    while (e !== NIL && this.#cellF[e * 3] > bucket) {
      prev = e;
      e = this.#cellI[e * 2 + 1];
    }
    while (e !== NIL && this.#cellF[e * 3] === bucket) {
      if (this.#cellI[e * 2] === replica) {
        if (!cellAbove(gen, count, this.#cellF[e * 3 + 1], this.#cellF[e * 3 + 2])) return false;
        // Both cells are visible (older generations are pruned on reset), so
        // the window moves by the difference of the counts.
        const delta = count - this.#cellF[e * 3 + 2];
        this.#cellF[e * 3 + 1] = gen;
        this.#cellF[e * 3 + 2] = count;
        this.#adjustCache(slot, bucket, delta);
        return true;
      }
      prev = e;
      e = this.#cellI[e * 2 + 1];
    }
    this.#insertAfter(slot, prev, bucket, replica, gen, count);
    this.#adjustCache(slot, bucket, count);
    return true;
  }

  #adjustCache(slot: number, bucket: number, delta: number): void {
    const cb = this.#slotF[slot * 3];
    if (bucket > cb - this.buckets) this.#slotF[slot * 3 + 1] += delta;
    else if (bucket === cb - this.buckets) this.#slotF[slot * 3 + 2] += delta;
    // NaN cache (stale) fails both tests: the next refresh recomputes it.
  }

  #applyReset(slot: number, gen: number): boolean {
    if (gen <= (this.#resets.get(slot) ?? 0)) return false;
    this.#resets.set(slot, gen);
    let prev = NIL;
    let e = this.#slotI[slot * 2];
    while (e !== NIL) {
      const next = this.#cellI[e * 2 + 1];
      if (this.#cellF[e * 3 + 1] < gen) {
        if (prev === NIL) this.#slotI[slot * 2] = next;
        else this.#cellI[prev * 2 + 1] = next;
        this.#freeCell(e);
      } else {
        prev = e;
      }
      e = next;
    }
    this.#slotF[slot * 3] = NaN;
    return true;
  }

  #retryAfter(slot: number, cur: number, t: number, target: number): number {
    const B = this.buckets;
    const g = this.bucketMs;
    // per[i] = visible hits of bucket cur − i; cells ahead of cur fold into cur.
    const per = this.#scratch;
    per.fill(0);
    for (let e = this.#slotI[slot * 2]; e !== NIL; e = this.#cellI[e * 2 + 1]) {
      const i = cur - this.#cellF[e * 3];
      if (i > B) break;
      per[i < 0 ? 0 : i] += this.#cellF[e * 3 + 2];
    }
    let inner = 0;
    for (let i = 0; i < B; i++) inner += per[i];
    // After j more bucket boundaries (no new hits), the window holds
    // inner_j full buckets plus the edge bucket cur + j − B, weighted down
    // linearly across bucket cur + j.
    for (let j = 0; j <= B; j++) {
      const edge = per[B - j];
      if (inner <= target) {
        const need = edge > 0 ? 1 - (target - inner) / edge : 0;
        const at = Math.max((cur + j) * g + Math.max(need, 0) * g, t);
        let r = Math.max(1, Math.ceil(at - t));
        // The closed form rounds; settle the last millisecond with the very
        // predicate decide() uses (the count only falls as time passes), so
        // the request is admitted at t + r and not at t + r − 1.
        while (r > 1 && this.#countAhead(per, cur, t + r - 1) <= target) r--;
        while (this.#countAhead(per, cur, t + r) > target) r++;
        return r;
      }
      if (j < B) inner -= per[B - 1 - j];
    }
    return Math.ceil((cur + B + 1) * g - t);
  }

  /**
   * The window count at `t` (in bucket `cur` or later) if no hit is added, from
   * `per` as #retryAfter fills it; the same float expression decide() uses.
   */
  #countAhead(per: Float64Array, cur: number, t: number): number {
    const B = this.buckets;
    const at = this.bucketOf(t);
    const j = at - cur;
    let inner = 0;
    for (let i = 0; i <= B - 1 - j; i++) inner += per[i];
    const edge = j >= 0 && j <= B ? per[B - j] : 0;
    return inner + edge * this.#edgeWeight(t, at);
  }

  #newSlot(key: string, cur: number): number {
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      slot = this.#slotTop++;
      if (slot >= this.#slotCap) this.#growSlots();
    }
    this.#keys[slot] = key;
    this.#index.set(key, slot);
    this.#slotI[slot * 2] = NIL;
    this.#slotF[slot * 3] = cur;
    this.#slotF[slot * 3 + 1] = 0;
    this.#slotF[slot * 3 + 2] = 0;
    // A slot freed while dirty is still on the dirty list: keep its flag so
    // it is not listed twice.
    this.#slotI[slot * 2 + 1] &= DIRTY;
    return slot;
  }

  #freeSlot(slot: number): void {
    this.#index.delete(this.#keys[slot] as string);
    this.#keys[slot] = undefined;
    this.#resets.delete(slot);
    this.#cut(slot, NIL);
    this.#freeSlots.push(slot);
  }

  #markDirty(slot: number): void {
    if ((this.#slotI[slot * 2 + 1] & DIRTY) === 0) {
      this.#slotI[slot * 2 + 1] |= DIRTY;
      this.#dirty.push(slot);
    }
  }

  /** Frees every cell after `prev` (all of the slot's cells when prev is NIL). */
  #cut(slot: number, prev: number): void {
    let e: number;
    if (prev === NIL) {
      e = this.#slotI[slot * 2];
      this.#slotI[slot * 2] = NIL;
    } else {
      e = this.#cellI[prev * 2 + 1];
      this.#cellI[prev * 2 + 1] = NIL;
    }
    while (e !== NIL) {
      const next = this.#cellI[e * 2 + 1];
      this.#freeCell(e);
      e = next;
    }
  }

  #pruneOlder(slot: number, minLive: number): void {
    let prev = NIL;
    let e = this.#slotI[slot * 2];
    while (e !== NIL && this.#cellF[e * 3] >= minLive) {
      prev = e;
      e = this.#cellI[e * 2 + 1];
    }
    if (e !== NIL) this.#cut(slot, prev);
  }

  #insertAfter(slot: number, prev: number, bucket: number, replica: number, gen: number, count: number): void {
    let e = this.#eFree;
    if (e !== NIL) this.#eFree = this.#cellI[e * 2 + 1];
    else {
      e = this.#eTop++;
      if (e >= this.#cellCap) this.#growCells();
    }
    this.#cellF[e * 3] = bucket;
    this.#cellI[e * 2] = replica;
    this.#cellF[e * 3 + 1] = gen;
    this.#cellF[e * 3 + 2] = count;
    if (prev === NIL) {
      this.#cellI[e * 2 + 1] = this.#slotI[slot * 2];
      this.#slotI[slot * 2] = e;
    } else {
      this.#cellI[e * 2 + 1] = this.#cellI[prev * 2 + 1];
      this.#cellI[prev * 2 + 1] = e;
    }
    this.#cells++;
  }

  #freeCell(e: number): void {
    this.#cellI[e * 2 + 1] = this.#eFree;
    this.#eFree = e;
    this.#cells--;
  }

  #replica(id: string): number {
    let i = this.#replicaIndex.get(id);
    if (i === undefined) {
      i = this.#replicaIds.length;
      this.#replicaIds.push(id);
      this.#replicaIndex.set(id, i);
      this.#replicaHash.push(fnv1a(id));
    }
    return i;
  }

  // Growth by half: doubling would leave up to half of each arena unused.
  #growSlots(): void {
    this.#slotCap = Math.ceil(this.#slotCap * 1.5);
    this.#slotF = grown(this.#slotF, this.#slotCap * 3);
    this.#slotI = grown(this.#slotI, this.#slotCap * 2);
  }

  #growCells(): void {
    this.#cellCap = Math.ceil(this.#cellCap * 1.5);
    this.#cellF = grown(this.#cellF, this.#cellCap * 3);
    this.#cellI = grown(this.#cellI, this.#cellCap * 2);
  }
}

/** Maps local replica indexes to a compact per-batch replica table. */
class TableBuilder {
  readonly ids: string[] = [];
  #map = new Map<number, number>();
  constructor(readonly all: readonly string[]) {}

  indexOf(local: number): number {
    let i = this.#map.get(local);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(this.all[local]);
      this.#map.set(local, i);
    }
    return i;
  }
}
