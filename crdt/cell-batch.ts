/**
 * The transfer format of window state: what a delta, a snapshot chunk and a
 * repair answer carry for one limiter. Cells are flattened into one number
 * array per key, `[bucket, replicaIndex, floor, count, ...]`, with
 * `replicaIndex` pointing into the batch's own `replicas` table; `count` is
 * the replica's G-Counter count and `floor` the part of it a reset hid
 * (`observed-remove-counter.ts`). The
 * transport's `WindowBatch` frame body is a `CellBatch` plus the limiter's
 * name, geometry and limit register.
 *
 * @module
 */

/**
 * Cells of one limiter, ready to merge elsewhere. Values are current totals
 * (never increments), so merging a batch twice is harmless. A reset travels
 * as the raised floors of the cells it covered: it needs no entry of its own.
 *
 * @example
 * const t = Date.now();
 * const batch: CellBatch = { replicas: ['b#1'], keys: [['user:42', [window.bucketOf(t), 0, 0, 3]]] };
 * window.merge(batch, t); // 1: one cell changed
 */
export interface CellBatch {
  /** Replica id table; flattened cells point into it. */
  replicas: string[];
  /** Per key: `[key, flatCells]`. */
  keys: Array<[string, number[]]>;
}

/**
 * Most replica ids one window registers, and so most one batch lists (the
 * wire bound on a batch's replica table is the same number, so every batch a
 * node can build is one its peers take). Honest windows hold a few replicas
 * per node and restart within a window; a peer that invents ids past this
 * bound is refused, not remembered.
 */
export const MAX_REPLICA_IDS = 4_096;

/** Numbers per flattened cell. */
export const BATCH_CELL_STRIDE = 4;
/** Offset of the bucket id in a flattened cell. */
export const BATCH_CELL_BUCKET = 0;
/** Offset of the replica index (into `replicas`) in a flattened cell. */
export const BATCH_CELL_REPLICA = 1;
/** Offset of the cell's floor: the count a reset's issuer had observed (hidden hits). */
export const BATCH_CELL_FLOOR = 2;
/** Offset of the cell's count. */
export const BATCH_CELL_COUNT = 3;

/**
 * Maps a window's local replica indexes to the compact replica table of one
 * batch, adding each replica the first time a cell of it is exported.
 *
 * @example
 * const table = new BatchReplicaTable(['a#1', 'b#1', 'c#1']);
 * table.indexOf(2); // 0
 * table.ids;        // ['c#1']
 */
export class BatchReplicaTable {
  /** The batch's replica table, in first-use order. */
  readonly ids: string[] = [];
  #map = new Map<number, number>();

  /** @param all every replica id the window knows, by local index. */
  constructor(readonly all: readonly string[]) {}

  /** The batch index of local replica `local`, added to {@link ids} on first use. */
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
