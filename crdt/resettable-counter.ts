/**
 * A replicated counter that can be reset: per-replica cells, as in a
 * G-Counter, but each cell carries the reset generation it was counted under.
 *
 * One cell per replica; a replica only ever raises its own cell. A cell is a
 * pair `(gen, count)`: `gen` is the HLC timestamp of the latest key reset the
 * replica had seen when it counted, `count` the hits it counted since. Cells
 * join by lexicographic maximum of `(gen, count)` — a total order, so the join
 * is commutative, associative and idempotent — and the counter's value only
 * sums cells whose `gen` is the newest reset: a reset hides every hit counted
 * before the counting replica learned of it. So the state only grows in the
 * join order, but the value does not: unlike a G-Counter's, it drops on reset.
 *
 * The sliding window (`sliding-window.ts`) stores the same cells in typed
 * arrays for memory; this Map-based form is used where counters are few (the
 * per-peer delta log) and as the reference model in tests.
 *
 * @module
 */

/** One replica's cell. */
export interface Cell {
  gen: number;
  count: number;
}

/** True when cell `(aGen, aCount)` is greater than `(bGen, bCount)` in the join order. */
export function cellAbove(aGen: number, aCount: number, bGen: number, bCount: number): boolean {
  return aGen > bGen || (aGen === bGen && aCount > bCount);
}

/**
 * A counter of per-replica `(gen, count)` cells whose value counts only the
 * cells of the newest reset generation.
 *
 * @example
 * const c = new ResettableCounter();
 * c.increment('a#1', 0, 2);
 * c.merge(other);
 * c.value(0); // hits visible under reset generation 0
 */
export class ResettableCounter {
  /** replica id → cell. Invariant: cells only ever move up in the join order. */
  readonly cells = new Map<string, Cell>();

  /** Adds `n` hits counted by `replica` under reset generation `gen`. */
  increment(replica: string, gen: number, n: number): void {
    const cell = this.cells.get(replica);
    if (cell === undefined || cell.gen < gen) this.cells.set(replica, { gen, count: n });
    else if (cell.gen === gen) cell.count += n;
    // A cell from a newer generation than the caller's is left alone: the
    // caller has not yet seen that reset, and its hit is hidden by it.
  }

  /** Joins one remote cell; returns true when it changed this counter. */
  mergeCell(replica: string, gen: number, count: number): boolean {
    const cell = this.cells.get(replica);
    if (cell !== undefined && !cellAbove(gen, count, cell.gen, cell.count)) return false;
    this.cells.set(replica, { gen, count });
    return true;
  }

  /** Joins another counter into this one. */
  merge(other: ResettableCounter): void {
    for (const [replica, cell] of other.cells) this.mergeCell(replica, cell.gen, cell.count);
  }

  /** Sum of the cells visible under reset generation `resetGen` (cells with gen ≥ resetGen). */
  value(resetGen = 0): number {
    let sum = 0;
    for (const cell of this.cells.values()) if (cell.gen >= resetGen) sum += cell.count;
    return sum;
  }

  /** The cells of `replicas` only: the delta a replica ships after changing its own cells. */
  delta(replicas: Iterable<string>): ResettableCounter {
    const out = new ResettableCounter();
    for (const replica of replicas) {
      const cell = this.cells.get(replica);
      if (cell !== undefined) out.cells.set(replica, { gen: cell.gen, count: cell.count });
    }
    return out;
  }

  /** A deep copy. */
  clone(): ResettableCounter {
    return this.delta(this.cells.keys());
  }
}
