/**
 * The exchange shape of window state: what a delta, a snapshot chunk and a
 * repair answer carry for one limiter. Cells are flattened into one array,
 * `[bucket, replicaIndex, gen, count, ...]`, with `replicaIndex` pointing into
 * `replicas`. The transport's `WindowBatch` frame body has the same shape.
 *
 * @module
 */

/** Window state of one limiter, ready to merge elsewhere. */
export interface WindowState {
  /** Replica id table. */
  replicas: string[];
  /** Per key: `[key, resetGen, flatCells]`; resetGen 0 means never reset. */
  keys: Array<[string, number, number[]]>;
}

/** Number of numbers per flattened cell. */
export const CELL_STRIDE = 4;
