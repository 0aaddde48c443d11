/**
 * The cells of one limiter's window as a CRDT: per key, one observed-remove
 * counter cell `(count, floor)` per (bucket, replica), joined by pointwise
 * max as in `observed-remove-counter.ts`; resets that raise each floor the
 * issuer holds to its count (hiding exactly the hits it had observed);
 * expiry of buckets that left the window, floors included; and the state
 * that travels: deltas (this replica's own changed
 * cells, and the cells of other replicas that a merge changed, relayed),
 * snapshot chunks, repair answers (all {@link CellBatch}es) and digests.
 * The cells are stored in a {@link WindowArena}; decisions on them are made
 * by `sliding-window.ts`.
 *
 * Pure: time is an argument of every method, and nothing is scheduled.
 *
 * @module
 */
import {
  BATCH_CELL_BUCKET,
  BATCH_CELL_COUNT,
  BATCH_CELL_FLOOR,
  BATCH_CELL_REPLICA,
  BATCH_CELL_STRIDE,
  BatchReplicaTable,
  type CellBatch,
} from './cell-batch.js';
import { fnv1a, mix32 } from './hash.js';
import { NO_REPLICA, ReplicaRegistry, SELF } from './replica-registry.js';
import { NO_CELL, WindowArena } from './window-arena.js';
import { bucketOf } from './window-math.js';
import type { LagEstimate } from './lag-estimate.js';

/** Options of a window's cells (and of `SlidingWindow`). */
export interface WindowCellsOptions {
  /** Window length in ms (an integer). */
  windowMs: number;
  /** Buckets per window (an integer); a bucket is `windowMs / buckets` ms wide. */
  buckets: number;
  /** This replica's id: node id plus process incarnation. */
  replicaId: string;
  /** Bound on clock offset between replicas: cells of buckets further ahead are refused. Default 500. */
  maxClockOffsetMs?: number;
}

/** What a cell merge changed: anything, and whether its floor (a reset's observation) rose. */
const CHANGED = 1;
const FLOOR_ROSE = 2;
/** Slot flag: the slot is on the dirty list (changed locally since the last drain). */
const DIRTY = 1;
/** Slot flag: the slot is on the relay list (a merge changed its cells since the last drain). */
const RELAYED = 2;
/**
 * Most changed cells a window remembers one by one between two drains (a
 * merge of a large snapshot may change more). Past it the window forgets
 * which cells changed and relays every live cell of other replicas of each
 * changed key instead: more bytes for that one delta, never a lost relay,
 * and memory bounded by the keys held.
 */
export const MAX_RELAY_CELLS = 65_536;
/** Numbers per remembered changed cell in the relay list: slot, bucket, local replica index. */
const RELAY_STRIDE = 3;
/** Slots a new key, counted here or merged, pays for sweeping: more than one, so expired keys go faster than new ones come. */
export const SWEEP_PER_NEW_KEY = 2;
/** Laps of the paced sweep ({@link WindowCells.sweepDue}) per window: an expired key waits half a window at most. */
const SWEEP_LAPS_PER_WINDOW = 2;
/** Most slots one paced sweep examines: a timer's work stays bounded whatever the key count. */
export const MAX_SWEEP_PER_CALL = 4096;

/**
 * Every key's cells of one limiter window, as a state-based CRDT.
 *
 * @example
 * const a = new WindowCells({ windowMs: 60_000, buckets: 60, replicaId: 'a#1' });
 * const b = new WindowCells({ windowMs: 60_000, buckets: 60, replicaId: 'b#1' });
 * b.merge(a.snapshot(Date.now()).state, Date.now()); // b now holds a's cells
 */
export class WindowCells {
  /** Window length in ms. */
  readonly windowMs: number;
  /** Buckets per window. */
  readonly buckets: number;
  /** Bucket width `g = windowMs / buckets` in ms (not necessarily whole). */
  readonly bucketMs: number;
  /** This replica's id; its cells are the only ones it ever raises. */
  readonly replicaId: string;
  /** Bound on clock offset between replicas: merged state stamped further ahead is refused. */
  readonly maxClockOffsetMs: number;

  /** Slots, their cached window sums and their cell lists. */
  protected readonly arena: WindowArena;
  /**
   * Slots reset here since the last drain: the next delta carries every live
   * cell of each (the raised floors of other replicas' cells too). Sparse:
   * resets are rare.
   */
  #resetSlots = new Set<number>();

  /** Replica id ↔ local index; index SELF is this replica (see `replica-registry.ts`). */
  readonly #replicas: ReplicaRegistry;

  #dirty: number[] = [];
  /** Slots a merge changed since the last drain (each once: the RELAYED flag). */
  #relaySlots: number[] = [];
  /** The cells a merge changed since the last drain, RELAY_STRIDE numbers each (repeats allowed). */
  #relayCells: number[] = [];
  /** #relayCells passed MAX_RELAY_CELLS: relay every live cell of other replicas of each relay slot. */
  #relayWhole = false;
  /** Local cells in buckets ≥ this changed since the last drain. */
  #flushBucket = -Infinity;
  #sweepCursor = 0;
  /** Time of the last paced sweep (NaN: none yet). */
  #sweptAt = NaN;
  /** Hits the last {@link #mergeCell} added to a cell's count. */
  #mergedHits = 0;
  /**
   * Lag-aware admission's estimates (null: off, the embedded default). A
   * fresh merge tells it the remote hits it brought; the decision reads it;
   * it never writes a cell (see `lag-estimate.ts`).
   */
  estimate: LagEstimate | null = null;

  constructor(options: WindowCellsOptions) {
    this.windowMs = options.windowMs;
    this.buckets = options.buckets;
    this.bucketMs = options.windowMs / options.buckets;
    this.replicaId = options.replicaId;
    this.maxClockOffsetMs = options.maxClockOffsetMs ?? 500;
    this.arena = new WindowArena(this.buckets);
    this.#replicas = new ReplicaRegistry(options.replicaId);
  }

  /** Live keys held. */
  get size(): number {
    return this.arena.size;
  }

  /** Keys changed locally since the last drain. */
  get pending(): number {
    return this.#dirty.length;
  }

  /** Cells held (all keys, all replicas). */
  get cells(): number {
    return this.arena.cells;
  }

  /** Replica ids registered, this replica's included: at most {@link MAX_REPLICA_IDS}. */
  get replicaCount(): number {
    return this.#replicas.size;
  }

  /** Replica ids by local index (`''` for a free index): what lag-aware admission takes delays for. */
  get replicaIds(): readonly string[] {
    return this.#replicas.ids;
  }

  /**
   * True when the registry has room for every id of `ids` it does not hold
   * yet. A batch whose replica table would take it past
   * {@link MAX_REPLICA_IDS} is best refused whole rather than merged in part
   * (a batch a node builds lists only replicas it exports cells of).
   */
  admitsReplicas(ids: readonly string[]): boolean {
    return this.#replicas.admits(ids);
  }

  /** Bucket id of wall time `t`: `floor(t·B / W)`, exact for integer `t` (see `window-math.ts`). */
  bucketOf(t: number): number {
    return bucketOf(t, this.windowMs, this.buckets);
  }

  /** True when `key` has state here. */
  has(key: string): boolean {
    return this.arena.has(key);
  }

  /**
   * Issues a reset of `key` here: every cell of the key this replica holds,
   * of any replica, has its floor raised to its count, hiding exactly the
   * hits this replica has observed — here now and, once the floors
   * replicate, on every peer. Hits it has not seen (still in flight, or
   * counted later, by anyone) stay visible. Returns true when it hid
   * anything.
   *
   * A reset of a key this replica holds nothing for does nothing: it has
   * observed no hit to hide, so there is nothing to replicate and no state
   * is made (issue 9, defect 2: a reset must not grow the key table). A
   * reset needs no tombstone either: its floors live in the cells they
   * cover and expire with their buckets (docs/window-math.md, Resets).
   */
  reset(key: string): boolean {
    const slot = this.arena.slotOf(key);
    if (slot === undefined || !this.arena.hideAll(slot)) return false;
    this.#resetSlots.add(slot);
    this.#markDirty(slot);
    return true;
  }

  /**
   * Forgets the changes since the last drain without building them: for a
   * node with no peer to send them to (a peer that comes gets a snapshot).
   */
  discardDelta(t: number): void {
    for (const slot of this.#dirty) this.arena.clearFlags(slot, DIRTY);
    this.#dirty.length = 0;
    this.#resetSlots.clear();
    this.#clearRelay();
    this.#flushBucket = this.bucketOf(t);
  }

  /**
   * Takes the changes since the last drain: this replica's own cells in the
   * buckets it touched, every live cell of the keys it reset (their floors
   * are the reset), and — relayed — the cells of other replicas that a merge
   * changed (issue 10,
   * defect 11). Returns null when nothing changed. Values are current
   * totals, so re-sending is always safe.
   *
   * Relaying is what lets a bridge converge: when a and c cannot reach each
   * other but both reach b, b's next delta carries what it merged from each
   * to the other, within a gossip interval, at any bucket count
   * (anti-entropy skips the newest buckets). Only what changed this
   * replica's state is relayed, so a cell that comes back changes nothing
   * and goes no further: each value crosses each link at most once per
   * change, and relays stop when the changes do.
   */
  drainDelta(t: number): CellBatch | null {
    const a = this.arena;
    const cur = this.bucketOf(t);
    if (this.#dirty.length === 0 && this.#relaySlots.length === 0) {
      this.#flushBucket = cur;
      return null;
    }
    let keys: CellBatch['keys'] = [];
    // Own cells' entries by slot, when relayed cells of the same keys may join them.
    const own = this.#relaySlots.length > 0 ? new Map<number, number[]>() : null;
    // Only own cells (the common case): a table of one, this replica.
    const table = own !== null || this.#resetSlots.size > 0 ? new BatchReplicaTable(this.#replicas.ids) : null;
    table?.indexOf(SELF); // index 0, as the own cells below say
    const minLive = cur - this.buckets;
    const minBucket = Math.max(this.#flushBucket, minLive);
    for (const slot of this.#dirty) {
      a.clearFlags(slot, DIRTY);
      const key = a.keyAt(slot);
      if (key === undefined) continue;
      const flat: number[] = [];
      if (table !== null && this.#resetSlots.has(slot)) {
        // Reset here: every live cell, whoever counted it, with its raised floor.
        for (let e = a.firstCell(slot); e !== NO_CELL && a.cellBucket(e) >= minLive; e = a.nextCell(e)) {
          flat.push(a.cellBucket(e), table.indexOf(a.cellReplica(e)), a.cellFloor(e), a.cellCount(e)); // the BATCH_CELL_* order
        }
      } else {
        for (let e = a.firstCell(slot); e !== NO_CELL && a.cellBucket(e) >= minBucket; e = a.nextCell(e)) {
          // In the BATCH_CELL_* order; this replica is index 0 of the batch's table.
          if (a.cellReplica(e) === SELF) flat.push(a.cellBucket(e), 0, a.cellFloor(e), a.cellCount(e));
        }
      }
      keys.push([key, flat]);
      own?.set(slot, flat);
    }
    this.#dirty.length = 0;
    this.#flushBucket = cur;
    if (own !== null) this.#drainRelayed(minLive, keys, own, table as BatchReplicaTable);
    this.#resetSlots.clear();
    if (keys.some(([, flat]) => flat.length === 0)) keys = keys.filter(([, flat]) => flat.length > 0);
    return keys.length === 0 ? null : { replicas: table === null ? [this.replicaId] : table.ids, keys };
  }

  /**
   * Joins remote state (a delta, a snapshot chunk or a repair answer) into
   * this window. Cells of buckets already outside the window are ignored.
   * Returns the number of cells that changed. With `relay` (the default),
   * the cells and resets that changed join the next {@link drainDelta}, so
   * they travel on to peers the sender may not reach; a snapshot chunk is
   * merged without (a joiner would otherwise send the whole window it
   * received to every peer at once). A predicate on the replica id relays
   * only the cells of the replicas it accepts (the mesh's targeted relay:
   * `src/mesh/relay-routes.ts`); changed resets are relayed unless `relay`
   * is false. `fresh` (a delta, not a snapshot chunk) lets the window's
   * lag-aware {@link estimate} learn the remote hits the batch brings.
   */
  merge(state: CellBatch, t: number, relay: boolean | ((replicaId: string) => boolean) = true, fresh = false): number {
    const a = this.arena;
    const cur = this.bucketOf(t);
    // A fresh batch (a delta) brings hits its replicas admitted lately: what lag-aware admission
    // learns the peers' rates from. Cells of older buckets are catching up, not in flight.
    const est = fresh ? this.estimate : null;
    const freshFrom = est === null ? Infinity : est.freshFrom(t, this.bucketMs);
    const minLive = cur - this.buckets;
    // No honest replica counts in a bucket further ahead than the clock bound:
    // a cell from beyond it would pin a key for as long as it claims.
    const maxBucket = this.bucketOf(t + this.maxClockOffsetMs) + 1;
    // Batch replica index → local index, resolved on first use: an id no
    // stored cell uses is never registered (a table of fake ids costs
    // nothing). A sweep lap that ends inside this merge (new slots pay for
    // sweeps) may free indexes: the resolutions are then taken again.
    const local = new Array<number | undefined>(state.replicas.length);
    // Per batch replica index: relay its changed cells (a predicate is asked once per replica per merge).
    const relayOf = typeof relay === 'function' ? new Array<boolean | undefined>(state.replicas.length) : null;
    let resolvedInLap = this.#replicas.lap;
    let changed = 0;
    for (const [key, flat] of state.keys) {
      let slot = a.slotOf(key);
      for (let i = 0; i < flat.length; i += BATCH_CELL_STRIDE) {
        const bucket = flat[i + BATCH_CELL_BUCKET];
        const floor = flat[i + BATCH_CELL_FLOOR];
        const count = flat[i + BATCH_CELL_COUNT];
        // floor > count: no honest state holds it (every floor is a count it
        // was taken from, and the join keeps floor ≤ count); the codec refuses it too.
        if (bucket < minLive || bucket > maxBucket || floor > count) continue;
        const r = flat[i + BATCH_CELL_REPLICA];
        // A replica the full registry cannot take: skip its cell before it costs a slot.
        if (local[r] === NO_REPLICA || (local[r] === undefined && this.#replicas.full && !this.#replicas.has(state.replicas[r]))) continue;
        if (slot === undefined) slot = this.#mergedSlot(key, cur, t);
        if (resolvedInLap !== this.#replicas.lap) {
          local.fill(undefined);
          resolvedInLap = this.#replicas.lap;
        }
        const replica = (local[r] ??= this.#replicas.indexOf(state.replicas[r]));
        if (replica === NO_REPLICA) continue; // the registry is full: see admitsReplicas
        const change = this.#mergeCell(slot, bucket, replica, floor, count);
        if (change !== 0) {
          changed++;
          if (bucket >= freshFrom && replica !== SELF && this.#mergedHits > 0) (est as LagEstimate).remote(slot, key, replica, this.#mergedHits);
          // A raised floor is a reset's observation: its origin is the reset's
          // issuer, not the cell's replica, so it is relayed whatever the
          // targeting says of that replica (resets are rare).
          if (relay !== false && ((change & FLOOR_ROSE) !== 0 || (relayOf === null ? relay : (relayOf[r] ??= (relay as (replicaId: string) => boolean)(state.replicas[r]))))) {
            this.#relayCell(slot, bucket, replica);
          }
        }
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
  snapshot(t: number, cursor = 0, maxKeys = Infinity): { state: CellBatch; cursor: number } {
    const top = this.arena.slotTop;
    const minLive = this.bucketOf(t) - this.buckets;
    const table = new BatchReplicaTable(this.#replicas.ids);
    const keys: CellBatch['keys'] = [];
    let slot = cursor;
    for (; slot < top && keys.length < maxKeys; slot++) {
      const entry = this.#export(slot, minLive, table);
      if (entry !== null) keys.push(entry);
    }
    return { state: { replicas: table.ids, keys }, cursor: slot < top ? slot : -1 };
  }

  /**
   * Anti-entropy digest: per key shard, an order-independent checksum of every
   * visible cell in buckets `from..to`. Two replicas holding the same cells
   * there compute the same digest.
   */
  digest(from: number, to: number, shards: number): number[] {
    const a = this.arena;
    const acc = new Uint32Array(shards);
    for (let slot = 0; slot < a.slotTop; slot++) {
      const key = a.keyAt(slot);
      if (key === undefined) continue;
      const h = fnv1a(key);
      let sum = 0;
      for (let e = a.firstCell(slot); e !== NO_CELL; e = a.nextCell(e)) {
        const b = a.cellBucket(e);
        if (b > to) continue;
        if (b < from) break;
        sum += mix32(h, b, this.#replicas.hashes[a.cellReplica(e)], a.cellFloor(e), a.cellCount(e));
      }
      if (sum !== 0) acc[h % shards] = (acc[h % shards] + sum) >>> 0;
    }
    return Array.from(acc);
  }

  /** Every live key of the given digest shards with all its cells: the answer to a repair request, in one walk. */
  shardState(shards: number, wanted: ReadonlySet<number>, t: number): CellBatch {
    return this.shardChunk(shards, wanted, t).state;
  }

  /**
   * Part of {@link shardState}: the live keys of the `wanted` digest shards
   * among at most `maxSlots` slots from slot `cursor`, stopping early after
   * `maxKeys` keys. Returns them, the cursor to continue from (−1 when the
   * walk is done) and how many slots it examined. One walk answers any
   * number of shards: a key costs one hash, whatever was asked.
   */
  shardChunk(
    shards: number,
    wanted: ReadonlySet<number>,
    t: number,
    cursor = 0,
    maxSlots = Infinity,
    maxKeys = Infinity,
    only?: (replicaId: string) => boolean,
  ): { state: CellBatch; cursor: number; examined: number } {
    const a = this.arena;
    const top = a.slotTop;
    const minLive = this.bucketOf(t) - this.buckets;
    const mask = new Uint8Array(shards);
    for (const s of wanted) if (s >= 0 && s < shards) mask[s] = 1;
    const table = new BatchReplicaTable(this.#replicas.ids);
    const keys: CellBatch['keys'] = [];
    const end = Math.min(top, cursor + maxSlots);
    // With `only`: per local replica index, whether its cells are taken (resolved on first use).
    const taken = only === undefined ? undefined : new Map<number, boolean>();
    const ids = this.#replicas.ids;
    const filter =
      only === undefined || taken === undefined
        ? undefined
        : (replica: number): boolean => {
            let ok = taken.get(replica);
            if (ok === undefined) taken.set(replica, (ok = only(ids[replica])));
            return ok;
          };
    let slot = cursor;
    for (; slot < end && keys.length < maxKeys; slot++) {
      const key = a.keyAt(slot);
      if (key === undefined || mask[fnv1a(key) % shards] === 0) continue;
      const entry = this.#export(slot, minLive, table, filter);
      if (entry !== null) keys.push(entry);
    }
    return { state: { replicas: table.ids, keys }, cursor: slot < top ? slot : -1, examined: slot - cursor };
  }

  /**
   * Frees expired cells and keys, examining at most `maxSlots` slots from
   * where the last sweep stopped. Returns the number of keys freed. Each
   * completed lap over the slots also forgets the replica ids whose cells it
   * met none of (see {@link replicaCount}). Resets leave nothing behind to
   * keep: their floors are in the cells, and go with them.
   */
  sweep(t: number, maxSlots = 256): number {
    const a = this.arena;
    const minLive = this.bucketOf(t) - this.buckets;
    let freed = 0;
    // One lap at most: a larger maxSlots (Infinity: "sweep everything") would circle forever.
    const limit = Math.min(maxSlots, a.slotTop);
    for (let n = 0; n < limit; n++) {
      const slot = this.#sweepCursor++;
      if (a.keyAt(slot) !== undefined) {
        a.freeCellsBelowBucket(slot, minLive);
        if (a.firstCell(slot) === NO_CELL) {
          a.freeSlot(slot);
          freed++;
        } else {
          for (let e = a.firstCell(slot); e !== NO_CELL; e = a.nextCell(e)) this.#replicas.met(a.cellReplica(e));
        }
      }
      if (this.#sweepCursor >= a.slotTop) {
        this.#sweepCursor = 0;
        this.#replicas.endLap();
      }
    }
    return freed;
  }

  /**
   * The paced sweep, for a timer (a mesh runs it on its gossip tick): sweeps
   * the share of the slots due since the previous call, so that the cursor
   * passes every slot {@link SWEEP_LAPS_PER_WINDOW} times per window — at
   * most {@link MAX_SWEEP_PER_CALL} slots a call. Keys that only merges
   * brought are freed this way once they expire, even on a node that counts
   * nothing itself (issue 9, defect 1). Returns the number of keys freed.
   * A key that was reset is freed like any other once its buckets expire:
   * a reset's floors expire with the cells they cover (docs/window-math.md,
   * Resets).
   */
  sweepDue(t: number): number {
    const elapsed = Number.isNaN(this.#sweptAt) ? 0 : t - this.#sweptAt;
    this.#sweptAt = t;
    if (!(elapsed > 0)) return 0;
    const due = Math.ceil((this.arena.slotTop * elapsed * SWEEP_LAPS_PER_WINDOW) / this.windowMs);
    return due > 0 ? this.sweep(t, Math.min(due, MAX_SWEEP_PER_CALL)) : 0;
  }

  /**
   * The live cells of `key` at `t` (for inspection and checks): per bucket
   * and replica id, the hits counted and the floor a reset hid (visible:
   * `count − floor`).
   */
  cellsOf(key: string, t: number): Array<{ bucket: number; replica: string; floor: number; count: number }> {
    const a = this.arena;
    const slot = a.slotOf(key);
    if (slot === undefined) return [];
    const minLive = this.bucketOf(t) - this.buckets;
    const out = [];
    for (let e = a.firstCell(slot); e !== NO_CELL && a.cellBucket(e) >= minLive; e = a.nextCell(e)) {
      out.push({ bucket: a.cellBucket(e), replica: this.#replicas.ids[a.cellReplica(e)], floor: a.cellFloor(e), count: a.cellCount(e) });
    }
    return out;
  }

  /** Every live key (in slot order). */
  *keys(): IterableIterator<string> {
    const a = this.arena;
    for (let slot = 0; slot < a.slotTop; slot++) {
      const key = a.keyAt(slot);
      if (key !== undefined) yield key;
    }
  }

  /**
   * Counts `cost` hits in this replica's cell of bucket `cur` (the slot's
   * cached sums being for `cur`): a new cell starts with floor 0, as no
   * reset can have observed hits not counted yet.
   */
  protected addLocal(slot: number, cur: number, cost: number): void {
    const a = this.arena;
    if (!a.addToCurrentCell(slot, SELF, cost)) a.insertCell(slot, cur, SELF, 0, cost);
    this.#markDirty(slot);
  }

  #export(slot: number, minLive: number, table: BatchReplicaTable, filter?: (replica: number) => boolean): [string, number[]] | null {
    const a = this.arena;
    const key = a.keyAt(slot);
    if (key === undefined) return null;
    const flat: number[] = [];
    for (let e = a.firstCell(slot); e !== NO_CELL && a.cellBucket(e) >= minLive; e = a.nextCell(e)) {
      if (filter !== undefined && !filter(a.cellReplica(e))) continue;
      flat.push(a.cellBucket(e), table.indexOf(a.cellReplica(e)), a.cellFloor(e), a.cellCount(e)); // the BATCH_CELL_* order
    }
    return flat.length === 0 ? null : [key, flat];
  }

  /**
   * A slot for a key a merge brings. Like a key counted here, it pays for
   * sweeping {@link SWEEP_PER_NEW_KEY} slots first: on a node that mostly
   * merges, expired keys are then reclaimed at the rate peers' keys arrive
   * (issue 9, defect 1).
   */
  #mergedSlot(key: string, cur: number, t: number): number {
    this.sweep(t, SWEEP_PER_NEW_KEY);
    return this.arena.newSlot(key, cur);
  }

  /** Joins one remote cell `(count, floor)` by pointwise max; true when it changed anything. */
  #mergeCell(slot: number, bucket: number, replica: number, floor: number, count: number): number {
    const a = this.arena;
    const e = a.findCell(slot, bucket, replica);
    if (e === NO_CELL) {
      this.#mergedHits = count;
      a.insertCell(slot, bucket, replica, floor, count);
      // Met in this lap: a lap that examined the slot before the cell came must not forget its replica.
      this.#replicas.met(replica);
      return floor > 0 ? CHANGED | FLOOR_ROSE : CHANGED;
    }
    const oldFloor = a.cellFloor(e);
    const oldCount = a.cellCount(e);
    if (floor <= oldFloor && count <= oldCount) return 0;
    this.#mergedHits = count > oldCount ? count - oldCount : 0;
    // The arena moves the cached sums by the change of visible hits.
    a.setCell(slot, e, floor > oldFloor ? floor : oldFloor, count > oldCount ? count : oldCount);
    return floor > oldFloor ? CHANGED | FLOOR_ROSE : CHANGED;
  }

  #markDirty(slot: number): void {
    if (this.arena.raiseFlags(slot, DIRTY)) this.#dirty.push(slot);
  }

  /** Puts a slot whose state a merge changed on the relay list. */
  #relaySlot(slot: number): void {
    if (this.arena.raiseFlags(slot, RELAYED)) this.#relaySlots.push(slot);
  }

  /** Remembers a cell a merge changed, for the next delta. */
  #relayCell(slot: number, bucket: number, replica: number): void {
    this.#relaySlot(slot);
    if (this.#relayWhole) return;
    if (this.#relayCells.length >= MAX_RELAY_CELLS * RELAY_STRIDE) {
      // Past the bound: relay whole keys instead (see MAX_RELAY_CELLS).
      this.#relayWhole = true;
      this.#relayCells.length = 0;
      return;
    }
    this.#relayCells.push(slot, bucket, replica);
  }

  /**
   * Adds the relayed cells (current values) to a delta being drained: per
   * relay slot, the changed cells still live, joined to the key's entry of
   * own cells when it has one. Empties the relay list.
   */
  #drainRelayed(minLive: number, keys: CellBatch['keys'], own: Map<number, number[]>, table: BatchReplicaTable): void {
    const a = this.arena;
    // The changed cells by slot, as (bucket, replica) pairs; null: relay whole keys.
    let changed: Map<number, number[]> | null = null;
    if (!this.#relayWhole) {
      changed = new Map();
      const list = this.#relayCells;
      for (let i = 0; i < list.length; i += RELAY_STRIDE) {
        let pairs = changed.get(list[i]);
        if (pairs === undefined) changed.set(list[i], (pairs = []));
        pairs.push(list[i + 1], list[i + 2]);
      }
    }
    const seen = new Set<number>();
    for (const slot of this.#relaySlots) {
      a.clearFlags(slot, RELAYED);
      const key = a.keyAt(slot);
      // A slot reset here already carries every live cell in its own entry.
      if (key === undefined || this.#resetSlots.has(slot)) continue;
      const entry = own.get(slot);
      const flat = entry ?? [];
      if (changed === null) {
        for (let e = a.firstCell(slot); e !== NO_CELL && a.cellBucket(e) >= minLive; e = a.nextCell(e)) {
          if (a.cellReplica(e) !== SELF) flat.push(a.cellBucket(e), table.indexOf(a.cellReplica(e)), a.cellFloor(e), a.cellCount(e));
        }
      } else {
        const pairs = changed.get(slot);
        seen.clear();
        for (let j = 0; pairs !== undefined && j < pairs.length; j += 2) {
          // The cell as it is now (a later merge may have raised it, a reset or the sweep freed it).
          const e = a.findCell(slot, pairs[j], pairs[j + 1]);
          if (e === NO_CELL || a.cellBucket(e) < minLive || a.cellReplica(e) === SELF || seen.has(e)) continue;
          seen.add(e);
          flat.push(a.cellBucket(e), table.indexOf(a.cellReplica(e)), a.cellFloor(e), a.cellCount(e)); // the BATCH_CELL_* order
        }
      }
      if (entry === undefined && flat.length > 0) keys.push([key, flat]);
    }
    this.#relaySlots.length = 0;
    this.#relayCells.length = 0;
    this.#relayWhole = false;
  }

  /** Forgets what was to be relayed (nobody to send it to). */
  #clearRelay(): void {
    for (const slot of this.#relaySlots) this.arena.clearFlags(slot, RELAYED);
    this.#relaySlots.length = 0;
    this.#relayCells.length = 0;
    this.#relayWhole = false;
  }
}
