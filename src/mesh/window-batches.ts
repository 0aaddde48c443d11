/**
 * Turning limiter state into frame-sized window batches and back: wrapping
 * and splitting for sending, and merging a peer's batches (with the checks
 * a batch must pass first) for every frame type that carries them.
 *
 * @module
 */
import { wallOf } from '../../crdt/hlc.js';
import { BATCH_CELL_STRIDE, type CellBatch } from '../../crdt/cell-batch.js';
import type { WindowBatch } from '../../transport/codec/frame.js';
import { MAX_WINDOWS_PER_FRAME } from '../../transport/codec/frame-schema.js';
import type { Limiter } from '../limiter/limiter.js';
import type { Peer } from './peer.js';
import type { ReplicationContext } from './replication-context.js';

/** Most cells one frame carries (~40 bytes each on the wire: well under the default 4 MiB frame bound). */
export const MAX_CELLS_PER_FRAME = 16_384;
/** Most keys one frame carries. */
export const MAX_KEYS_PER_FRAME = 8_192;

/** Wraps window state of `limiter` as a batch (optionally carrying its limit register). */
export function toBatch(limiter: Limiter, state: CellBatch, withLimit: boolean): WindowBatch {
  return {
    name: limiter.name,
    windowMs: limiter.windowMs,
    buckets: limiter.buckets,
    limit: withLimit ? limitToWire(limiter) : null,
    replicas: state.replicas,
    keys: state.keys,
  };
}

/** The limiter's register as batches and digests carry it: null unless a runtime change set it (the configured limit is each node's own floor). */
export function limitToWire(limiter: Limiter): [number, string, number] | null {
  const reg = limiter.replica.runtimeLimit;
  return reg === null ? null : [reg.ts, reg.replica, reg.value];
}

/**
 * Joins a limit register `peer` sent for `limiter` (in a batch or a digest).
 * One stamped beyond the clock bound (it would win every later change for
 * ever) or with a value `setLimit` would refuse (a limit of 0 would make
 * every consume throw) is refused and counted, never thrown on.
 */
export function mergeLimitFrom(ctx: ReplicationContext, peer: Peer, limiter: Limiter, limit: [number, string, number]): void {
  const [ts, replica, value] = limit;
  // Against the node's HLC wall, not its physical clock: a register relayed from a
  // faster (honest) clock was stamped by it and is as far ahead as that clock.
  if (wallOf(ts) - ctx.hlc.wall(ctx.scheduler.now()) > ctx.hlc.maxOffsetMs) peer.reject('future-timestamp');
  else if (!limiter.replica.mergeLimit({ ts, replica, value })) ctx.refuse(peer, 'invalid-limit', `${limiter.name}: limit ${value} from ${replica}`);
}

/**
 * Splits batches so that no frame carries more than MAX_CELLS_PER_FRAME cells,
 * MAX_KEYS_PER_FRAME keys or MAX_WINDOWS_PER_FRAME batches. Returns one
 * array of batches per frame.
 */
export function splitBatches(batches: WindowBatch[]): WindowBatch[][] {
  const frames: WindowBatch[][] = [];
  let frame: WindowBatch[] = [];
  let cells = 0;
  let keys = 0;
  for (const batch of batches) {
    if (frame.length >= MAX_WINDOWS_PER_FRAME) {
      frames.push(frame);
      frame = [];
      cells = 0;
      keys = 0;
    }
    let part: WindowBatch = { ...batch, keys: [] };
    for (const entry of batch.keys) {
      const n = entry[1].length / BATCH_CELL_STRIDE;
      if (part.keys.length > 0 && (cells + n > MAX_CELLS_PER_FRAME || keys + 1 > MAX_KEYS_PER_FRAME)) {
        frame.push(part);
        frames.push(frame);
        frame = [];
        cells = 0;
        keys = 0;
        part = { ...batch, limit: null, keys: [] };
      }
      part.keys.push(entry);
      cells += n;
      keys += 1;
    }
    if (part.keys.length > 0 || part.limit !== null) frame.push(part);
  }
  if (frame.length > 0) frames.push(frame);
  return frames;
}

/** True when a remote batch describes the same window geometry as the local limiter. */
export function sameGeometry(limiter: Limiter, batch: { windowMs: number; buckets: number }): boolean {
  return limiter.windowMs === batch.windowMs && limiter.buckets === batch.buckets;
}

/**
 * Merges `batches` from `peer` into our limiters. A batch for an unknown
 * limiter or of another geometry, a limit register stamped in the future or
 * with a value `setLimit` would refuse, and a batch whose replica ids would
 * take the limiter's registry past its bound are refused (counted on the
 * peer; the last two are also reported), never thrown on. With `relay` (the
 * default; false for snapshot chunks) the cells that changed go on to our
 * peers with the next delta (issue 10, defect 11); a predicate on the replica
 * id (the mesh's `RelayRoutes.wanted`) relays only the replicas some peer
 * needs. `fresh` (a DELTA frame) lets lag-aware admission learn the peers'
 * recent hits from what the batches bring.
 */
export function mergeBatches(ctx: ReplicationContext, peer: Peer, batches: WindowBatch[], relay: boolean | ((replicaId: string) => boolean) = true, fresh = false): void {
  for (const batch of batches) {
    const limiter = ctx.limiters.get(batch.name);
    if (limiter === undefined) {
      peer.reject('unknown-limiter');
      continue;
    }
    if (!sameGeometry(limiter, batch)) {
      peer.reject('geometry');
      ctx.emit({
        type: 'geometry',
        nodeId: peer.nodeId,
        limiter: limiter.name,
        local: { windowMs: limiter.windowMs, buckets: limiter.buckets },
        remote: { windowMs: batch.windowMs, buckets: batch.buckets },
      });
      continue;
    }
    if (batch.limit !== null) mergeLimitFrom(ctx, peer, limiter, batch.limit);
    // Replica ids are bounded per window; a batch past the bound is refused whole.
    if (!limiter.replica.admits(batch)) {
      ctx.refuse(peer, 'too-many-replicas', `${batch.name}: ${batch.replicas.length} replica ids, ${limiter.replica.replicaCount} held`);
      continue;
    }
    ctx.counters.cellsMerged += limiter.replica.merge(batch, relay, fresh);
  }
}
