/**
 * Limiters whose geometry a peer contradicts: the same name with another
 * window or bucket count. Such a peer's state for that limiter is refused
 * (merging it would corrupt the counts), so the two nodes limit it apart —
 * the cluster is split for that limiter. The watch keeps the recent
 * conflicts per limiter and peer, for `/readyz` (`degraded`) and
 * `/v1/cluster`; `operator-metrics.ts` counts them
 * (`tallymesh_geometry_conflicts_total{limiter}`) and `logger.ts` logs them.
 *
 * May import: the mesh's types.
 *
 * Bounded: limiters are this node's own (a batch for an unknown limiter is
 * refused before its geometry is read), peers at most the mesh's peer bound.
 *
 * @module
 */
import type { Mesh } from '../../mesh/mesh.js';
import type { ReplicatorEvent } from '../../mesh/replicator.js';

/** A conflict is reported for this long after the last refused batch. */
export const GEOMETRY_RECENT_MS = 60_000;

/** Window and bucket count of a limiter. */
export interface Geometry {
  windowMs: number;
  buckets: number;
}

/** One recent conflict. */
export interface GeometryConflict {
  limiter: string;
  peer: string;
  local: Geometry;
  remote: Geometry;
  /** Batches refused since the watch started. */
  refused: number;
  lastMs: number;
}

/**
 * Remembers geometry conflicts per (limiter, peer).
 *
 * @example
 * const watch = new GeometryWatch();
 * watch.watch(mesh);
 * watch.describe(); // ['limiter api: peer b uses window 30000 ms in 30 buckets, this node 60000 ms in 60: …']
 */
export class GeometryWatch {
  #now: () => number;
  #conflicts = new Map<string, { limiter: string; peer: string; local: Geometry; remote: Geometry; refused: number; at: number }>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Records every conflict `mesh` reports. */
  watch(mesh: Mesh): void {
    mesh.on('geometry', (e: Extract<ReplicatorEvent, { type: 'geometry' }>) => this.record(e.limiter, e.nodeId, e.local, e.remote));
  }

  /** Records a refused batch. */
  record(limiter: string, peer: string, local: Geometry, remote: Geometry): void {
    const key = `${limiter}\u0000${peer}`;
    const c = this.#conflicts.get(key);
    if (c === undefined) this.#conflicts.set(key, { limiter, peer, local, remote, refused: 1, at: this.#now() });
    else Object.assign(c, { local, remote, refused: c.refused + 1, at: this.#now() });
  }

  /** Conflicts seen within {@link GEOMETRY_RECENT_MS}, oldest first (older ones are forgotten). */
  recent(): GeometryConflict[] {
    const now = this.#now();
    const out: GeometryConflict[] = [];
    for (const [key, c] of this.#conflicts) {
      if (now - c.at > GEOMETRY_RECENT_MS) this.#conflicts.delete(key);
      else out.push({ limiter: c.limiter, peer: c.peer, local: c.local, remote: c.remote, refused: c.refused, lastMs: now - c.at });
    }
    return out;
  }

  /** One sentence per recent conflict, for `/readyz`. */
  describe(): string[] {
    return this.recent().map(
      (c) =>
        `limiter ${c.limiter}: peer ${c.peer} uses window ${c.remote.windowMs} ms in ${c.remote.buckets} buckets, this node ${c.local.windowMs} ms in ${c.local.buckets}: their counts for it are refused both ways`,
    );
  }
}
