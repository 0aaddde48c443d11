/**
 * The storage of one sliding window: a slot per live key, holding the key's
 * cached window sums and a linked list of its cells, all kept column-wise in
 * typed arrays so that a million idle keys cost little more than their Map
 * entries. The arena owns the record layouts, the lists (sorted by bucket,
 * newest first), the free lists and growth; what a cell means (replicas,
 * floors, the join) is the business of `window-cells.ts`. The cached sums
 * are of visible hits, `count − floor` per cell, so a decision never looks
 * at a floor.
 *
 * The field offsets are named once, here, and every typed-array access is in
 * this file. They are module-private constants on purpose: V8 (Node 20)
 * folds a module's own `const`s into optimized code, but loads an imported
 * or exported binding through a cell, with a check, on every use. The
 * methods on the decision path (`slotOf`, `countAt`, `addToCurrentCell`,
 * `raiseFlags`, `newestBucket`) are kept small, so that V8 inlines them
 * into the decision within its inlining budget.
 *
 * @module
 */

/** "No cell": the end of a cell list or of the free list. */
const NIL = -1;
/** What {@link WindowArena.firstCell} and {@link WindowArena.nextCell} return when there is no cell. */
export const NO_CELL = NIL;

// Slot records: floats `[bucket, sum, edge]` and ints `[head, flags]` per
// slot, interleaved so that one decision touches one cache line of each.
/** Numbers per slot in the float column. */
const SLOT_F_STRIDE = 3;
/** The bucket `cur` the cached sums were computed for (NaN: stale). */
const SLOT_BUCKET = 0;
/** Cached sum of the visible hits (count − floor) of cells in buckets after `bucket − B`. */
const SLOT_SUM = 1;
/** Cached sum of the visible hits of cells in bucket `bucket − B`, the edge. */
const SLOT_EDGE = 2;
/** Numbers per slot in the int column. */
const SLOT_I_STRIDE = 2;
/** First cell of the slot's list (NIL: none), the newest. */
const SLOT_HEAD = 0;
/** Flag bits for the slot's owner (meaningless to the arena), kept across free and reuse. */
const SLOT_FLAGS = 1;

// Cell records: floats `[bucket, floor, count]` and ints `[replica, next]`.
// Invariant: floor ≤ count (window-cells.ts only stores such cells, and the
// join and local counting keep it), so a cell's visible hits are count − floor.
/** Numbers per cell in the float column. */
const CELL_F_STRIDE = 3;
/** Bucket id. */
const CELL_BUCKET = 0;
/** Hits of the cell hidden by resets: the count the latest reset's issuer had observed. */
const CELL_FLOOR = 1;
/** Hits counted (a G-Counter cell: only grows). */
const CELL_COUNT = 2;
/** Numbers per cell in the int column. */
const CELL_I_STRIDE = 2;
/** Local index of the replica that counted the cell. */
const CELL_REPLICA = 0;
/** Next cell of the same list, or of the free list (NIL: none). */
const CELL_NEXT = 1;

const INITIAL_SLOTS = 1024;
const INITIAL_CELLS = 1024;

function grown<T extends Float64Array | Int32Array>(arr: T, size: number): T {
  const next = new (arr.constructor as new (n: number) => T)(size);
  next.set(arr);
  return next;
}

/**
 * Slots keyed by string, each with cached sums over the last `buckets`
 * buckets and a list of cells sorted by bucket, newest first, with at most
 * one cell per (bucket, replica). Slot and cell numbers are stable while in
 * use and recycled once freed.
 *
 * @example
 * const arena = new WindowArena(60);
 * const slot = arena.newSlot('user:42', 100);
 * arena.insertCell(slot, 100, 0, 0, 1); // bucket, replica, floor, count
 * arena.countAt(slot, 100, 1); // 1
 */
export class WindowArena {
  /** Buckets per window: the cached sums are of buckets after `cur − buckets`, and of the edge `cur − buckets`. */
  readonly buckets: number;

  // Key table. Invariant: #index.get(#keys[s]) === s for live slots.
  #index = new Map<string, number>();
  #keys: Array<string | undefined> = [];
  #slotTop = 0;
  #freeSlots: number[] = [];
  #slotF = new Float64Array(INITIAL_SLOTS * SLOT_F_STRIDE);
  #slotI = new Int32Array(INITIAL_SLOTS * SLOT_I_STRIDE);
  #slotCap = INITIAL_SLOTS;

  // Cells: a list per slot through CELL_NEXT; free cells chained from #cellFree.
  #cellF = new Float64Array(INITIAL_CELLS * CELL_F_STRIDE);
  #cellI = new Int32Array(INITIAL_CELLS * CELL_I_STRIDE);
  #cellCap = INITIAL_CELLS;
  #cellTop = 0;
  #cellFree = NIL;
  #cells = 0;

  constructor(buckets: number) {
    this.buckets = buckets;
  }

  /** Live keys. */
  get size(): number {
    return this.#index.size;
  }

  /** Cells in use. */
  get cells(): number {
    return this.#cells;
  }

  /** Slots handed out so far: the live ones are those below it with a key. */
  get slotTop(): number {
    return this.#slotTop;
  }

  /** The slot of `key`, if it is live. */
  slotOf(key: string): number | undefined {
    return this.#index.get(key);
  }

  /** True when `key` has a slot. */
  has(key: string): boolean {
    return this.#index.has(key);
  }

  /** The key of `slot` (undefined: a free slot). */
  keyAt(slot: number): string | undefined {
    return this.#keys[slot];
  }

  /**
   * A slot for `key`, recycled or new, with no cells and its sums cached
   * (as zero) for bucket `cur`. A recycled slot keeps its flags: one freed
   * while on its owner's dirty list must not be listed twice.
   */
  newSlot(key: string, cur: number): number {
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      slot = this.#slotTop++;
      if (slot >= this.#slotCap) this.#growSlots();
    }
    this.#keys[slot] = key;
    this.#index.set(key, slot);
    this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD] = NIL;
    const f = slot * SLOT_F_STRIDE;
    this.#slotF[f + SLOT_BUCKET] = cur;
    this.#slotF[f + SLOT_SUM] = 0;
    this.#slotF[f + SLOT_EDGE] = 0;
    return slot;
  }

  /** Frees `slot` and all its cells, and forgets its key. */
  freeSlot(slot: number): void {
    this.#index.delete(this.#keys[slot] as string);
    this.#keys[slot] = undefined;
    this.#cutAfter(slot, NIL);
    this.#freeSlots.push(slot);
  }

  /** Sets the flag bits `bits` of the slot; true when any of them was clear. */
  raiseFlags(slot: number, bits: number): boolean {
    const i = slot * SLOT_I_STRIDE + SLOT_FLAGS;
    const flags = this.#slotI[i];
    if ((flags & bits) === bits) return false;
    this.#slotI[i] = flags | bits;
    return true;
  }

  /** Clears the flag bits `bits` of the slot. */
  clearFlags(slot: number, bits: number): void {
    this.#slotI[slot * SLOT_I_STRIDE + SLOT_FLAGS] &= ~bits;
  }

  /**
   * The slot's window count at bucket `cur`: the sum of its cells in buckets
   * after `cur − B`, plus those of the edge bucket `cur − B` times
   * `edgeWeight`. Brings the cached sums to `cur` first when they are for
   * another bucket, freeing the cells of buckets below `cur − B` on the way.
   */
  countAt(slot: number, cur: number, edgeWeight: number): number {
    const f = slot * SLOT_F_STRIDE;
    if (this.#slotF[f + SLOT_BUCKET] !== cur) this.#recompute(slot, cur);
    return this.#slotF[f + SLOT_SUM] + this.#slotF[f + SLOT_EDGE] * edgeWeight;
  }

  /**
   * Bucket of the slot's newest cell with visible hits; -Infinity when it
   * has none. Hidden cells (count = floor, after a reset) are passed over:
   * usually none, as the newest cell is the one counted last.
   */
  newestBucket(slot: number): number {
    const e = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD];
    if (e === NIL) return -Infinity;
    const f = e * CELL_F_STRIDE;
    // Small on purpose (it is inlined into the decision): the walk is out of line.
    return this.#cellF[f + CELL_COUNT] > this.#cellF[f + CELL_FLOOR] ? this.#cellF[f + CELL_BUCKET] : this.#newestVisibleAfter(e);
  }

  /** First cell of the slot's list, the newest ({@link NO_CELL}: none). */
  firstCell(slot: number): number {
    return this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD];
  }

  /** The cell after `cell` in its list ({@link NO_CELL}: `cell` is the last). */
  nextCell(cell: number): number {
    return this.#cellI[cell * CELL_I_STRIDE + CELL_NEXT];
  }

  /** Bucket id of `cell`. */
  cellBucket(cell: number): number {
    return this.#cellF[cell * CELL_F_STRIDE + CELL_BUCKET];
  }

  /** Local replica index of `cell`. */
  cellReplica(cell: number): number {
    return this.#cellI[cell * CELL_I_STRIDE + CELL_REPLICA];
  }

  /** Floor of `cell`: its hits hidden by resets. */
  cellFloor(cell: number): number {
    return this.#cellF[cell * CELL_F_STRIDE + CELL_FLOOR];
  }

  /** Count of `cell`. */
  cellCount(cell: number): number {
    return this.#cellF[cell * CELL_F_STRIDE + CELL_COUNT];
  }

  /** The cell of (`bucket`, `replica`) in the slot's list, or {@link NO_CELL}. */
  findCell(slot: number, bucket: number, replica: number): number {
    let e = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD];
    while (e !== NIL && this.#cellF[e * CELL_F_STRIDE + CELL_BUCKET] > bucket) e = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT];
    while (e !== NIL && this.#cellF[e * CELL_F_STRIDE + CELL_BUCKET] === bucket) {
      if (this.#cellI[e * CELL_I_STRIDE + CELL_REPLICA] === replica) return e;
      e = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT];
    }
    return NIL;
  }

  /**
   * Adds `delta` to the count of `replica`'s cell of the bucket the slot's
   * sums are cached for (the current bucket, after {@link countAt} or
   * {@link newSlot}), and to the cached sum. Returns false, changing
   * nothing, when there is no such cell.
   */
  addToCurrentCell(slot: number, replica: number, delta: number): boolean {
    const f = slot * SLOT_F_STRIDE;
    const cur = this.#slotF[f + SLOT_BUCKET];
    const cellF = this.#cellF;
    const cellI = this.#cellI;
    for (let e = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD]; e !== NIL; e = cellI[e * CELL_I_STRIDE + CELL_NEXT]) {
      const b = cellF[e * CELL_F_STRIDE + CELL_BUCKET];
      if (b < cur) break;
      if (b === cur && cellI[e * CELL_I_STRIDE + CELL_REPLICA] === replica) {
        cellF[e * CELL_F_STRIDE + CELL_COUNT] += delta;
        // The current bucket is inside the window: it counts in the full sum.
        // With floor ≤ count (the cell invariant), the visible hits grow by delta.
        this.#slotF[f + SLOT_SUM] += delta;
        return true;
      }
    }
    return false;
  }

  /** Sets the floor and count of `cell` (of `slot`), moving the cached sums by the change of visible hits. */
  setCell(slot: number, cell: number, floor: number, count: number): void {
    const f = cell * CELL_F_STRIDE;
    const delta = count - floor - (this.#cellF[f + CELL_COUNT] - this.#cellF[f + CELL_FLOOR]);
    this.#cellF[f + CELL_FLOOR] = floor;
    this.#cellF[f + CELL_COUNT] = count;
    this.#adjustSums(slot, this.#cellF[f + CELL_BUCKET], delta);
  }

  /**
   * Inserts a cell into the slot's list after every cell of a bucket at or
   * above `bucket` (the caller makes sure (bucket, replica) is not there
   * yet) and adds its visible hits (count − floor) to the cached sums.
   * Returns the cell.
   */
  insertCell(slot: number, bucket: number, replica: number, floor: number, count: number): number {
    let prev = NIL;
    let p = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD];
    while (p !== NIL && this.#cellF[p * CELL_F_STRIDE + CELL_BUCKET] >= bucket) {
      prev = p;
      p = this.#cellI[p * CELL_I_STRIDE + CELL_NEXT];
    }
    let e = this.#cellFree;
    if (e !== NIL) this.#cellFree = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT];
    else {
      e = this.#cellTop++;
      if (e >= this.#cellCap) this.#growCells();
    }
    const f = e * CELL_F_STRIDE;
    const i = e * CELL_I_STRIDE;
    this.#cellF[f + CELL_BUCKET] = bucket;
    this.#cellI[i + CELL_REPLICA] = replica;
    this.#cellF[f + CELL_FLOOR] = floor;
    this.#cellF[f + CELL_COUNT] = count;
    if (prev === NIL) {
      this.#cellI[i + CELL_NEXT] = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD];
      this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD] = e;
    } else {
      this.#cellI[i + CELL_NEXT] = this.#cellI[prev * CELL_I_STRIDE + CELL_NEXT];
      this.#cellI[prev * CELL_I_STRIDE + CELL_NEXT] = e;
    }
    this.#cells++;
    this.#adjustSums(slot, bucket, count - floor);
    return e;
  }

  /**
   * Raises the floor of each of the slot's cells to its count (a reset
   * issued here: every hit held is hidden), and zeroes the cached sums.
   * Returns true when some cell had visible hits. The cells stay: their
   * floors are what the reset replicates, and they expire with their buckets.
   */
  hideAll(slot: number): boolean {
    let changed = false;
    for (let e = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD]; e !== NIL; e = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT]) {
      const f = e * CELL_F_STRIDE;
      if (this.#cellF[f + CELL_FLOOR] < this.#cellF[f + CELL_COUNT]) {
        this.#cellF[f + CELL_FLOOR] = this.#cellF[f + CELL_COUNT];
        changed = true;
      }
    }
    const f = slot * SLOT_F_STRIDE;
    this.#slotF[f + SLOT_SUM] = 0;
    this.#slotF[f + SLOT_EDGE] = 0;
    return changed;
  }

  /** Frees the slot's cells of buckets below `minBucket`. */
  freeCellsBelowBucket(slot: number, minBucket: number): void {
    let prev = NIL;
    let e = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD];
    while (e !== NIL && this.#cellF[e * CELL_F_STRIDE + CELL_BUCKET] >= minBucket) {
      prev = e;
      e = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT];
    }
    if (e !== NIL) this.#cutAfter(slot, prev);
  }

  /**
   * Fills `per[i]` with the summed visible hits of the slot's cells of bucket
   * `cur − i`, for `i = 0 .. per.length − 1`; cells ahead of `cur` add to
   * `per[0]`, older ones are left out.
   */
  bucketSums(slot: number, cur: number, per: Float64Array): void {
    const last = per.length - 1;
    per.fill(0);
    for (let e = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD]; e !== NIL; e = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT]) {
      const i = cur - this.#cellF[e * CELL_F_STRIDE + CELL_BUCKET];
      if (i > last) break;
      per[i < 0 ? 0 : i] += this.#cellF[e * CELL_F_STRIDE + CELL_COUNT] - this.#cellF[e * CELL_F_STRIDE + CELL_FLOOR];
    }
  }

  /** Bucket of the first cell with visible hits after the hidden cell `e`; -Infinity when none. */
  #newestVisibleAfter(e: number): number {
    for (e = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT]; e !== NIL; e = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT]) {
      if (this.#cellF[e * CELL_F_STRIDE + CELL_COUNT] > this.#cellF[e * CELL_F_STRIDE + CELL_FLOOR]) return this.#cellF[e * CELL_F_STRIDE + CELL_BUCKET];
    }
    return -Infinity;
  }

  #recompute(slot: number, cur: number): void {
    const edge = cur - this.buckets;
    let sum = 0;
    let edgeSum = 0;
    let prev = NIL;
    let e = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD];
    while (e !== NIL && this.#cellF[e * CELL_F_STRIDE + CELL_BUCKET] > edge) {
      sum += this.#cellF[e * CELL_F_STRIDE + CELL_COUNT] - this.#cellF[e * CELL_F_STRIDE + CELL_FLOOR];
      prev = e;
      e = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT];
    }
    while (e !== NIL && this.#cellF[e * CELL_F_STRIDE + CELL_BUCKET] === edge) {
      edgeSum += this.#cellF[e * CELL_F_STRIDE + CELL_COUNT] - this.#cellF[e * CELL_F_STRIDE + CELL_FLOOR];
      prev = e;
      e = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT];
    }
    if (e !== NIL) this.#cutAfter(slot, prev);
    const f = slot * SLOT_F_STRIDE;
    this.#slotF[f + SLOT_BUCKET] = cur;
    this.#slotF[f + SLOT_SUM] = sum;
    this.#slotF[f + SLOT_EDGE] = edgeSum;
  }

  /** Moves the cached sums by `delta` visible hits in `bucket`. */
  #adjustSums(slot: number, bucket: number, delta: number): void {
    const f = slot * SLOT_F_STRIDE;
    const edge = this.#slotF[f + SLOT_BUCKET] - this.buckets;
    if (bucket > edge) this.#slotF[f + SLOT_SUM] += delta;
    else if (bucket === edge) this.#slotF[f + SLOT_EDGE] += delta;
    // A stale (NaN) cache fails both tests: the next countAt recomputes it.
  }

  /** Frees every cell after `prev` (all of the slot's cells when prev is NIL). */
  #cutAfter(slot: number, prev: number): void {
    let e: number;
    if (prev === NIL) {
      e = this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD];
      this.#slotI[slot * SLOT_I_STRIDE + SLOT_HEAD] = NIL;
    } else {
      e = this.#cellI[prev * CELL_I_STRIDE + CELL_NEXT];
      this.#cellI[prev * CELL_I_STRIDE + CELL_NEXT] = NIL;
    }
    while (e !== NIL) {
      const next = this.#cellI[e * CELL_I_STRIDE + CELL_NEXT];
      this.#freeCell(e);
      e = next;
    }
  }

  #freeCell(e: number): void {
    this.#cellI[e * CELL_I_STRIDE + CELL_NEXT] = this.#cellFree;
    this.#cellFree = e;
    this.#cells--;
  }

  // Growth by half: doubling would leave up to half of each arena unused.
  #growSlots(): void {
    this.#slotCap = Math.ceil(this.#slotCap * 1.5);
    this.#slotF = grown(this.#slotF, this.#slotCap * SLOT_F_STRIDE);
    this.#slotI = grown(this.#slotI, this.#slotCap * SLOT_I_STRIDE);
  }

  #growCells(): void {
    this.#cellCap = Math.ceil(this.#cellCap * 1.5);
    this.#cellF = grown(this.#cellF, this.#cellCap * CELL_F_STRIDE);
    this.#cellI = grown(this.#cellI, this.#cellCap * CELL_I_STRIDE);
  }
}
