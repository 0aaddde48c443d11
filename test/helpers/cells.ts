/**
 * Order-independent views of window state, for comparing replicas: the cells
 * a replica shows (bucket, replica, floor, count), sorted, per key.
 */
import {
  BATCH_CELL_BUCKET,
  BATCH_CELL_COUNT,
  BATCH_CELL_FLOOR,
  BATCH_CELL_REPLICA,
  BATCH_CELL_STRIDE,
  type CellBatch,
} from '../../crdt/cell-batch.js';
import type { SlidingWindow } from '../../crdt/sliding-window.js';

export interface CellView {
  bucket: number;
  replica: string;
  floor: number;
  count: number;
}

function byCell(a: CellView, b: CellView): number {
  return a.bucket - b.bucket || (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0);
}

/** The live cells of `key` at `t`, sorted by bucket then replica. */
export function cellsView(w: SlidingWindow, key: string, t: number): CellView[] {
  return w.cellsOf(key, t).sort(byCell);
}

/** Live cells of every key in `keys` at `t`; keys without cells are left out. */
export function windowView(w: SlidingWindow, keys: Iterable<string>, t: number): Record<string, CellView[]> {
  const out: Record<string, CellView[]> = {};
  for (const key of [...keys].sort()) {
    const cells = cellsView(w, key, t);
    if (cells.length > 0) out[key] = cells;
  }
  return out;
}

/**
 * The window count recomputed from the cells, straight from the formula:
 * Σ_{b > cur−B} c_b + (1 − f)·c_{cur−B}, with c_b the visible hits
 * (count − floor) of bucket b. Checks the store's caches.
 */
export function countFromCells(w: SlidingWindow, key: string, t: number): number {
  const cur = w.bucketOf(t);
  const edge = cur - w.buckets;
  let full = 0;
  let edgeHits = 0;
  for (const c of w.cellsOf(key, t)) {
    const visible = Math.max(0, c.count - c.floor);
    if (c.bucket > edge) full += visible;
    else if (c.bucket === edge) edgeHits += visible;
  }
  // 1 − f = ((cur+1)·W − t·B) / W: exact numerator for integer t.
  return full + edgeHits * (((cur + 1) * w.windowMs - t * w.buckets) / w.windowMs);
}

/** A deep copy of a window state (the store must never keep references into it). */
export function copyState(state: CellBatch): CellBatch {
  return { replicas: [...state.replicas], keys: state.keys.map(([k, flat]) => [k, [...flat]]) };
}

/** Key → sorted flattened cells of a state, with replica ids resolved. */
export function stateView(state: CellBatch): Record<string, CellView[]> {
  const out: Record<string, CellView[]> = {};
  for (const [key, flat] of state.keys) {
    const cells: CellView[] = [];
    for (let i = 0; i < flat.length; i += BATCH_CELL_STRIDE) {
      cells.push({
        bucket: flat[i + BATCH_CELL_BUCKET],
        replica: state.replicas[flat[i + BATCH_CELL_REPLICA]],
        floor: flat[i + BATCH_CELL_FLOOR],
        count: flat[i + BATCH_CELL_COUNT],
      });
    }
    out[key] = cells.sort(byCell);
  }
  return out;
}
