/**
 * A replicated counter with observed-remove resets: a G-Counter whose cells
 * each carry a floor.
 *
 * One cell per replica; only that replica ever raises its `count` (the hits
 * it counted, as in a G-Counter). `floor` is the count of that cell that the
 * latest reset's issuer had observed: a reset raises every cell its issuer
 * holds to `floor = count`. The cell's visible hits are `count − floor`, so a
 * reset hides exactly the hits its issuer had seen — a prefix of the
 * counting replica's hits, since a G-Counter cell's value anywhere is a
 * prefix of its owner's — and nothing else: hits counted after it, or never
 * seen by it, stay visible, whoever counted them and whenever.
 *
 * Cells join by pointwise maximum of `(count, floor)`, the product of two
 * max-semilattices: commutative, associative and idempotent. Every floor is
 * taken from a count, and the join keeps `floor ≤ count` (max of pairs that
 * satisfy it satisfies it), so no state an honest replica holds has a floor
 * above its count; `visible` still clamps at 0 for a state built by hand.
 *
 * The sliding window (`sliding-window.ts`) stores the same cells in typed
 * arrays for memory; this Map-based form is used where counters are few (the
 * per-peer delta log) and as the reference model in tests.
 *
 * @module
 */

/** One replica's cell. Invariant (honest states): `floor ≤ count`. */
export interface Cell {
  count: number;
  floor: number;
}

/** Visible hits of a cell `(count, floor)`: `max(0, count − floor)`. */
export function visibleHits(count: number, floor: number): number {
  return count > floor ? count - floor : 0;
}

/**
 * A counter of per-replica `(count, floor)` cells whose value is the sum of
 * the visible hits `count − floor`.
 *
 * @example
 * const c = new ObservedRemoveCounter();
 * c.increment('a#1', 2);
 * c.reset();              // hides the 2 hits this copy has seen
 * c.increment('a#1', 1);
 * c.value();              // 1
 */
export class ObservedRemoveCounter {
  /** replica id → cell. Invariant: count and floor only ever grow. */
  readonly cells = new Map<string, Cell>();

  /** Adds `n` hits counted by `replica` (only that replica does this to its cell). */
  increment(replica: string, n: number): void {
    const cell = this.cells.get(replica);
    if (cell === undefined) this.cells.set(replica, { count: n, floor: 0 });
    else cell.count += n;
  }

  /** Issues a reset here: every cell's floor rises to its count (hides exactly what this copy observed). */
  reset(): void {
    for (const cell of this.cells.values()) cell.floor = cell.count;
  }

  /** Joins one remote cell (pointwise max); returns true when it changed this counter. */
  mergeCell(replica: string, count: number, floor: number): boolean {
    const cell = this.cells.get(replica);
    if (cell === undefined) {
      this.cells.set(replica, { count, floor });
      return true;
    }
    if (count <= cell.count && floor <= cell.floor) return false;
    if (count > cell.count) cell.count = count;
    if (floor > cell.floor) cell.floor = floor;
    return true;
  }

  /** Joins another counter into this one. */
  merge(other: ObservedRemoveCounter): void {
    for (const [replica, cell] of other.cells) this.mergeCell(replica, cell.count, cell.floor);
  }

  /** Sum of the visible hits of every cell. */
  value(): number {
    let sum = 0;
    for (const cell of this.cells.values()) sum += visibleHits(cell.count, cell.floor);
    return sum;
  }

  /** The cells of `replicas` only: the delta after changing those cells (a reset changes them all). */
  delta(replicas: Iterable<string>): ObservedRemoveCounter {
    const out = new ObservedRemoveCounter();
    for (const replica of replicas) {
      const cell = this.cells.get(replica);
      if (cell !== undefined) out.cells.set(replica, { count: cell.count, floor: cell.floor });
    }
    return out;
  }

  /** A deep copy. */
  clone(): ObservedRemoveCounter {
    return this.delta(this.cells.keys());
  }
}
