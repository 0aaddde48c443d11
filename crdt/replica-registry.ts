/**
 * The replica registry of one limiter window: replica id ↔ the small local
 * index its cells carry in the arena, and each id's hash for digests.
 *
 * Bounded: at most {@link MAX_REPLICA_IDS} ids. An id is registered only when
 * a cell of it is stored, and forgotten once a whole sweep lap met none of its
 * cells (they expired), so that its index can be reused. Index 0 is this
 * replica and is never forgotten.
 *
 * Pure: no I/O, no time.
 *
 * @module
 */
import { MAX_REPLICA_IDS } from './cell-batch.js';
import { fnv1a } from './hash.js';

/** What {@link ReplicaRegistry.indexOf} answers for an id it cannot take (it is full). */
export const NO_REPLICA = -1;
/** Local index of this replica. */
export const SELF = 0;
/** The id a freed index holds until it is reused (no real replica id is empty). */
const FREED = '';

/**
 * Replica ids of one window, with lap-based forgetting.
 *
 * @example
 * const r = new ReplicaRegistry('a#1');
 * const b = r.indexOf('b#1'); // 1
 * r.endLap();                 // b met no cell this lap: forgotten
 * r.has('b#1');               // false
 */
export class ReplicaRegistry {
  /** Local index → replica id (`''` while an index is free). Read-only for callers. */
  readonly ids: string[] = [];
  /** Local index → FNV-1a hash of the id (0 while free). Read-only for callers. */
  readonly hashes: number[] = [];
  #index = new Map<string, number>();
  #free: number[] = [];
  /** Per local index: the sweep lap in which a cell of it was last met or stored. */
  #lapOf: number[] = [];
  #lap = 0;

  constructor(self: string) {
    this.indexOf(self);
  }

  /** Ids registered, this replica's included: at most {@link MAX_REPLICA_IDS}. */
  get size(): number {
    return this.#index.size;
  }

  /** The sweep lap in progress; it changes when {@link endLap} may have freed indexes. */
  get lap(): number {
    return this.#lap;
  }

  /** True when no new id can be registered. */
  get full(): boolean {
    return this.#index.size >= MAX_REPLICA_IDS;
  }

  /** True when `id` is registered. */
  has(id: string): boolean {
    return this.#index.has(id);
  }

  /** True when there is room for every id of `ids` not registered yet. */
  admits(ids: readonly string[]): boolean {
    let room = MAX_REPLICA_IDS - this.#index.size;
    if (ids.length <= room) return true;
    for (const id of ids) if (!this.#index.has(id) && --room < 0) return false;
    return true;
  }

  /** The local index of `id`, registering it when new; {@link NO_REPLICA} when full. */
  indexOf(id: string): number {
    let i = this.#index.get(id);
    if (i !== undefined) return i;
    if (this.full) return NO_REPLICA;
    i = this.#free.pop();
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.hashes.push(fnv1a(id));
      this.#lapOf.push(this.#lap);
    } else {
      this.ids[i] = id;
      this.hashes[i] = fnv1a(id);
      this.#lapOf[i] = this.#lap;
    }
    this.#index.set(id, i);
    return i;
  }

  /** A cell of index `i` was met by the sweep or stored during this lap. */
  met(i: number): void {
    this.#lapOf[i] = this.#lap;
  }

  /**
   * A sweep lap is complete: every slot was examined once since the last one
   * ended, and every cell stored meanwhile was stamped. A replica (not this
   * one) stamped in neither way has no cell left, so its id is forgotten and
   * its index freed for reuse. Local indexes live only in cells and within one
   * call, so no one holds a freed index.
   */
  endLap(): void {
    const ids = this.ids;
    for (let i = SELF + 1; i < ids.length; i++) {
      if (ids[i] === FREED || this.#lapOf[i] === this.#lap) continue;
      this.#index.delete(ids[i]);
      ids[i] = FREED;
      this.hashes[i] = 0;
      this.#free.push(i);
    }
    this.#lap++;
  }
}
