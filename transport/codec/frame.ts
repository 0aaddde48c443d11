/**
 * Frame types of the tallymesh peer protocol, version 2.
 *
 * Every frame on the wire is a standard MessagePack array
 * `[version, type, hlc, physicalMs, body]` (see `docs/protocol.md`). This module only
 * declares the shapes; `codec.ts` encodes, decodes and validates them.
 *
 * @module
 */
import type { CellBatch } from '../../crdt/cell-batch.js';

/**
 * Protocol version carried as the first field of every frame. Version 2
 * (issue 10) added `physicalMs`, the sender's own physical clock; a node
 * refuses frames of any other version (`version`), so nodes of versions 1
 * and 2 do not mesh (see `docs/protocol.md`, "Versions").
 */
export const PROTOCOL_VERSION = 2;

/** Default upper bound for one encoded frame (bytes), enforced on send and receive. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** Numeric frame type codes (stable on the wire). */
export const FrameType = {
  /** Handshake opener: identity, advertised address and a fresh nonce. */
  HELLO: 1,
  /** Handshake proof: HMAC-SHA256 over both nonces and both node ids. */
  AUTH: 2,
  /** Changed window entries since the last flush. */
  DELTA: 3,
  /** A chunk of the live window state (Raft's InstallSnapshot analogue). */
  SNAPSHOT: 4,
  /** Anti-entropy digest: per-shard checksums of each limiter's window. */
  DIGEST: 5,
  /** Ask for the full contents of the listed digest shards. */
  REPAIR: 6,
  /** The peers the sender knows (membership gossip). */
  PEERS: 7,
  /** Ask the receiver for a snapshot (sent by a node that knows it is behind). */
  SYNC: 8,
  /** Heartbeat, sent when there is nothing else to send. */
  PING: 9,
  /** Graceful leave: the sender is shutting down. */
  BYE: 10,
} as const;

/** One of the {@link FrameType} codes. */
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/**
 * The window state of one limiter, as carried by DELTA, SNAPSHOT and REPAIR
 * answers: a {@link CellBatch} (replica table, and per key
 * `[key, flatEntries]` with entries flattened as
 * `[bucket, replicaIndex, floor, count, ...]`) plus the limiter it belongs to.
 */
export interface WindowBatch extends CellBatch {
  /** Limiter name. */
  name: string;
  /** Window length in ms (a receiver refuses a batch whose geometry differs from its own). */
  windowMs: number;
  /** Buckets per window. */
  buckets: number;
  /** Limit register (LWW): `[hlcTimestamp, replicaId, limit]`, or null when unchanged. */
  limit: [number, string, number] | null;
}

/** Anti-entropy digest of one limiter over a closed range of buckets. */
export interface WindowDigest {
  name: string;
  /** First bucket id covered (inclusive). */
  from: number;
  /** Last bucket id covered (inclusive). */
  to: number;
  /**
   * One unsigned 32-bit checksum per key shard (length = shard count); empty
   * when no bucket is settled yet (the entry then only carries `limit`).
   */
  shards: number[];
  /**
   * The sender's limit register (LWW), as in {@link WindowBatch.limit}, when a
   * runtime change set it; absent or null otherwise. The receiver joins it, so
   * a change lost on every other path still converges (issue 10, defect 10).
   */
  limit?: [number, string, number] | null;
}

/** A peer the sender knows about. */
export interface PeerAddress {
  nodeId: string;
  /** `host:port` the peer accepts mesh connections on ('' when the sender knows none). */
  address: string;
  /**
   * The sender has a live link to this node: it is linked and `live` or
   * `syncing` (it hears the node within `suspectAfterMs`). Receivers relay a
   * node's cells to the sender only while either side reports no live link
   * between them (see `src/mesh/relay-routes.ts`).
   */
  linked: boolean;
}

/** Body of HELLO: who the sender is and its handshake nonce. */
export interface HelloBody {
  nodeId: string;
  /** `host:port` the sender accepts mesh connections on, or '' if it accepts none. */
  address: string;
  /** Incarnation of the sender's process (changes on every start). */
  incarnation: string;
  /** 32 random bytes. */
  nonce: Uint8Array;
}

/** Body of AUTH: the sender's handshake proof. */
export interface AuthBody {
  /** HMAC-SHA256 (32 bytes). */
  mac: Uint8Array;
}

/** Body of DELTA: window entries changed since the last flush. */
export interface DeltaBody {
  batches: WindowBatch[];
}

/** Body of SNAPSHOT: one chunk of the live window state. */
export interface SnapshotBody {
  batches: WindowBatch[];
  /** Chunk sequence number, from 0. */
  seq: number;
  /** True on the last chunk. */
  done: boolean;
}

/** Body of DIGEST: anti-entropy checksums. */
export interface DigestBody {
  digests: WindowDigest[];
}

/** Body of REPAIR: the digest shards the sender wants in full. */
export interface RepairBody {
  /** Per limiter: the bucket range and the shard indexes that differ. */
  wants: Array<{ name: string; from: number; to: number; shards: number[] }>;
}

/** Body of PEERS: membership gossip. */
export interface PeersBody {
  peers: PeerAddress[];
}

/** Body of BYE: why the sender leaves. */
export interface ByeBody {
  reason: string;
}

/** The clock readings every frame carries besides its type and body. */
export interface FrameClock {
  /** The sender's hybrid logical clock at send time (0 in HELLO and AUTH). */
  hlc: number;
  /**
   * The sender's own physical clock (ms) at send time: what a receiver checks
   * against its own clock and `maxClockOffsetMs` (0 in HELLO and AUTH). Optional
   * when building a frame (the replicator stamps it with the HLC; absent is
   * sent as 0); always present in a decoded frame.
   */
  physicalMs?: number;
}

/** A decoded frame: its type, the sender's clocks ({@link FrameClock}) and the body. */
export type Frame = FrameClock &
  (
    | { type: typeof FrameType.HELLO; body: HelloBody }
    | { type: typeof FrameType.AUTH; body: AuthBody }
    | { type: typeof FrameType.DELTA; body: DeltaBody }
    | { type: typeof FrameType.SNAPSHOT; body: SnapshotBody }
    | { type: typeof FrameType.DIGEST; body: DigestBody }
    | { type: typeof FrameType.REPAIR; body: RepairBody }
    | { type: typeof FrameType.PEERS; body: PeersBody }
    | { type: typeof FrameType.SYNC; body: Record<string, never> }
    | { type: typeof FrameType.PING; body: Record<string, never> }
    | { type: typeof FrameType.BYE; body: ByeBody }
  );
