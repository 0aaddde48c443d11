/**
 * The wire layout of every frame body, and its strict validation.
 *
 * Bodies are positional MessagePack arrays (no maps: smaller, and no key
 * strings to validate or to pollute prototypes with). `toWire` turns a
 * {@link Frame} into the array msgpackr packs; `fromWire` checks a decoded
 * value field by field and rebuilds the frame. Both sides of the codec use
 * `fromWire`, so a frame this node would refuse is never sent. Layouts and
 * bounds are specified in `docs/protocol.md`.
 *
 * @module
 */
import { FrameError } from './frame-error.js';
import { FrameType, PROTOCOL_VERSION } from './frame.js';
import type { Frame, FrameTypeCode, WindowBatch, WindowDigest } from './frame.js';
import { MAC_BYTES, NONCE_BYTES } from '../handshake.js';
import { isWellFormed } from '../../src/validate.js';
import { MAX_REPLICA_IDS } from '../../crdt/cell-batch.js';

/** Longest node id or incarnation, in UTF-8 bytes. */
export const MAX_ID_BYTES = 128;
/** Longest limiter key, limiter name or replica id, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 256;
/** Longest advertised `host:port`, in UTF-8 bytes. */
export const MAX_ADDRESS_BYTES = 256;
/** Longest BYE reason, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 256;
/**
 * Most replica ids in one batch: a node's registry of replica ids per window
 * holds no more, so every batch it builds fits (see `crdt/cell-batch.ts`).
 */
export const MAX_REPLICAS = MAX_REPLICA_IDS;
/**
 * Most limiter windows one frame names: batches in DELTA and SNAPSHOT,
 * digests in DIGEST, wants in REPAIR. Each asks its receiver for work on a
 * whole window (a REPAIR entry used to cost a pass over every key), so the
 * count is bounded, not only the bytes; a node sends one per limiter at most
 * and splits past it.
 */
export const MAX_WINDOWS_PER_FRAME = 1_024;
/** Most shards in one digest or repair request. */
export const MAX_SHARDS = 65_536;
/** Most peers in one PEERS frame. */
export const MAX_PEERS = 4_096;
/** Most buckets per window. */
export const MAX_BUCKETS = 65_536;
/** Bound for every other list (keys, entries); the frame size bounds them further. */
export const MAX_LIST_LENGTH = 1_048_576;

const MAX_UINT32 = 0xffff_ffff;
const encoder = new TextEncoder();

/** The array msgpackr packs for `frame`: `[version, type, hlc, physicalMs, body]` (an absent `physicalMs` is sent as 0). */
export function toWire(frame: Frame): unknown[] {
  return [PROTOCOL_VERSION, frame.type, frame.hlc, frame.physicalMs ?? 0, bodyToWire(frame)];
}

function batchToWire(b: WindowBatch): unknown[] {
  return [b.name, b.windowMs, b.buckets, b.limit, b.replicas, b.keys];
}

function bodyToWire(frame: Frame): unknown[] {
  switch (frame.type) {
    case FrameType.HELLO:
      return [frame.body.nodeId, frame.body.address, frame.body.incarnation, frame.body.nonce];
    case FrameType.AUTH:
      return [frame.body.mac];
    case FrameType.DELTA:
      return [frame.body.batches.map(batchToWire)];
    case FrameType.SNAPSHOT:
      return [frame.body.seq, frame.body.done, frame.body.batches.map(batchToWire)];
    case FrameType.DIGEST:
      // The limit register is a fifth element, present only when set (issue 10, defect 10).
      return [frame.body.digests.map((d) => (d.limit != null ? [d.name, d.from, d.to, d.shards, d.limit] : [d.name, d.from, d.to, d.shards]))];
    case FrameType.REPAIR:
      return [frame.body.wants.map((w) => [w.name, w.from, w.to, w.shards])];
    case FrameType.PEERS:
      return [frame.body.peers.map((p) => [p.nodeId, p.address, p.linked])];
    case FrameType.SYNC:
    case FrameType.PING:
      return [];
    case FrameType.BYE:
      return [frame.body.reason];
    default:
      throw new FrameError('malformed', `unknown frame type ${String((frame as { type: unknown }).type)}`);
  }
}

// ---- validation helpers: each returns the checked value or throws FrameError('malformed') ----

function fail(path: string, problem: string): never {
  throw new FrameError('malformed', `${path}: ${problem}`);
}

function list(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) fail(path, 'expected an array');
  if (value.length > max) fail(path, `${value.length} elements, at most ${max} allowed`);
  return value;
}

function tuple(value: unknown, path: string, length: number): unknown[] {
  if (!Array.isArray(value) || value.length !== length) fail(path, `expected an array of ${length}`);
  return value;
}

/** True for an integer in [0, max]. Number.isSafeInteger refuses NaN, infinities and fractions; bigints fail typeof. */
function isUint(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

function uint(value: unknown, path: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!isUint(value, max)) fail(path, `expected an integer in [0, ${max}]`);
  return value;
}

function text(value: unknown, path: string, maxBytes: number, minLength = 0): string {
  if (typeof value !== 'string') fail(path, 'expected a string');
  if (value.length < minLength) fail(path, 'must not be empty');
  // A decoded string is always well-formed (the scan refused bytes that are not UTF-8). This guards the
  // sending side: msgpackr would write a lone surrogate as WTF-8, or as U+FFFD in a long string — another string.
  if (!isWellFormed(value)) fail(path, 'not well-formed Unicode (a lone surrogate)');
  // A UTF-16 unit is at most 3 UTF-8 bytes: only long strings need the exact count.
  if (value.length * 3 > maxBytes && encoder.encode(value).length > maxBytes) {
    fail(path, `longer than ${maxBytes} UTF-8 bytes`);
  }
  return value;
}

function bytes(value: unknown, path: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) fail(path, `expected ${length} bytes of bin`);
  // Copy: a decoded bin is a view into the receive buffer, which must not outlive this call.
  return new Uint8Array(value);
}

function bool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'expected a boolean');
  return value;
}

function range(value: unknown[], path: string): { name: string; from: number; to: number } {
  const name = text(value[0], `${path}.name`, MAX_KEY_BYTES, 1);
  const from = uint(value[1], `${path}.from`);
  const to = uint(value[2], `${path}.to`);
  if (from > to) fail(path, `from ${from} is after to ${to}`);
  return { name, from, to };
}

function uintList(value: unknown, path: string, maxLength: number, maxValue: number): number[] {
  const items = list(value, path, maxLength);
  // Hot loop (entries can number in the hundreds of thousands): the path string is built only on failure.
  for (let i = 0; i < items.length; i++) if (!isUint(items[i], maxValue)) uint(items[i], `${path}[${i}]`, maxValue);
  return items as number[];
}

/** A limit register `[hlc, replica, limit]` or null, as batches and digests carry it. */
function limitFromWire(value: unknown, path: string): WindowBatch['limit'] {
  if (value === null) return null;
  const l = tuple(value, path, 3);
  return [uint(l[0], `${path}.hlc`), text(l[1], `${path}.replica`, MAX_KEY_BYTES, 1), uint(l[2], `${path}.limit`)];
}

function batchFromWire(value: unknown, path: string): WindowBatch {
  const w = tuple(value, path, 6);
  const name = text(w[0], `${path}.name`, MAX_KEY_BYTES, 1);
  const windowMs = uint(w[1], `${path}.windowMs`);
  if (windowMs === 0) fail(`${path}.windowMs`, 'must be positive');
  const buckets = uint(w[2], `${path}.buckets`, MAX_BUCKETS);
  if (buckets === 0) fail(`${path}.buckets`, 'must be positive');
  const limit = limitFromWire(w[3], `${path}.limit`);
  const replicas = list(w[4], `${path}.replicas`, MAX_REPLICAS) as string[];
  for (let i = 0; i < replicas.length; i++) text(replicas[i], `${path}.replicas[${i}]`, MAX_KEY_BYTES, 1);
  const keyList = list(w[5], `${path}.keys`, MAX_LIST_LENGTH);
  const keys: WindowBatch['keys'] = new Array(keyList.length);
  for (let k = 0; k < keyList.length; k++) {
    const kp = `${path}.keys[${k}]`;
    const entry = tuple(keyList[k], kp, 2);
    const key = text(entry[0], `${kp}.key`, MAX_KEY_BYTES);
    const flat = uintList(entry[1], `${kp}.entries`, MAX_LIST_LENGTH, Number.MAX_SAFE_INTEGER);
    if (flat.length % 4 !== 0) fail(`${kp}.entries`, `length ${flat.length} is not a multiple of 4`);
    // [bucket, replicaIndex, floor, count]: every index must point into this
    // batch's replica table, and no floor is above its count (every floor is
    // a count a reset observed, and the join keeps floor ≤ count).
    for (let i = 0; i < flat.length; i += 4) {
      if (flat[i + 1] >= replicas.length) fail(`${kp}.entries[${i + 1}]`, `replica index ${flat[i + 1]} outside a table of ${replicas.length}`);
      if (flat[i + 2] > flat[i + 3]) fail(`${kp}.entries[${i + 2}]`, `floor ${flat[i + 2]} above count ${flat[i + 3]}`);
    }
    keys[k] = [key, flat];
  }
  return { name, windowMs, buckets, limit, replicas, keys };
}

function batchesFromWire(value: unknown, path: string): WindowBatch[] {
  const items = list(value, path, MAX_WINDOWS_PER_FRAME);
  return items.map((item, i) => batchFromWire(item, `${path}[${i}]`));
}

/**
 * Validate a decoded MessagePack value as a frame and rebuild it. Throws
 * FrameError: 'version' for another protocol version, 'malformed' for any
 * other deviation from the layout and bounds.
 */
export function fromWire(value: unknown): Frame {
  if (!Array.isArray(value) || value.length === 0) fail('frame', 'expected an array [version, type, hlc, physicalMs, body]');
  if (typeof value[0] !== 'number') fail('frame.version', 'expected an integer');
  if (value[0] !== PROTOCOL_VERSION) {
    // Checked first, before the layout (which changes between versions): the peer learns why it was refused.
    throw new FrameError(
      'version',
      `the peer speaks protocol version ${value[0]}, this node speaks ${PROTOCOL_VERSION}: nodes of different versions do not mesh (upgrade every node; see docs/protocol.md)`,
    );
  }
  if (value.length !== 5) fail('frame', `expected 5 fields, got ${value.length}`);
  const type = uint(value[1], 'frame.type', 255) as FrameTypeCode;
  const hlc = uint(value[2], 'frame.hlc');
  const physicalMs = uint(value[3], 'frame.physicalMs');
  const b = list(value[4], 'body', MAX_LIST_LENGTH);
  switch (type) {
    case FrameType.HELLO: {
      tuple(b, 'hello', 4);
      return {
        type,
        hlc,
        physicalMs,
        body: {
          nodeId: text(b[0], 'hello.nodeId', MAX_ID_BYTES, 1),
          address: text(b[1], 'hello.address', MAX_ADDRESS_BYTES),
          incarnation: text(b[2], 'hello.incarnation', MAX_ID_BYTES, 1),
          nonce: bytes(b[3], 'hello.nonce', NONCE_BYTES),
        },
      };
    }
    case FrameType.AUTH:
      tuple(b, 'auth', 1);
      return { type, hlc, physicalMs, body: { mac: bytes(b[0], 'auth.mac', MAC_BYTES) } };
    case FrameType.DELTA:
      tuple(b, 'delta', 1);
      return { type, hlc, physicalMs, body: { batches: batchesFromWire(b[0], 'delta.batches') } };
    case FrameType.SNAPSHOT:
      tuple(b, 'snapshot', 3);
      return {
        type,
        hlc,
        physicalMs,
        body: {
          seq: uint(b[0], 'snapshot.seq'),
          done: bool(b[1], 'snapshot.done'),
          batches: batchesFromWire(b[2], 'snapshot.batches'),
        },
      };
    case FrameType.DIGEST: {
      tuple(b, 'digest', 1);
      const digests = list(b[0], 'digest.digests', MAX_WINDOWS_PER_FRAME).map((item, i) => {
        const path = `digest.digests[${i}]`;
        // Four elements, or five with the limit register (issue 10, defect 10).
        const d = Array.isArray(item) && item.length === 5 ? item : tuple(item, path, 4);
        const digest: WindowDigest = { ...range(d, path), shards: uintList(d[3], `${path}.shards`, MAX_SHARDS, MAX_UINT32) };
        if (d.length === 5) digest.limit = limitFromWire(d[4], `${path}.limit`);
        return digest;
      });
      return { type, hlc, physicalMs, body: { digests } };
    }
    case FrameType.REPAIR: {
      tuple(b, 'repair', 1);
      const wants = list(b[0], 'repair.wants', MAX_WINDOWS_PER_FRAME).map((item, i) => {
        const path = `repair.wants[${i}]`;
        const w = tuple(item, path, 4);
        return { ...range(w, path), shards: uintList(w[3], `${path}.shards`, MAX_SHARDS, MAX_SHARDS - 1) };
      });
      return { type, hlc, physicalMs, body: { wants } };
    }
    case FrameType.PEERS: {
      tuple(b, 'peers', 1);
      const peers = list(b[0], 'peers.peers', MAX_PEERS).map((item, i) => {
        // [nodeId, address, linked]: linked is the sender's live link to that node (what relaying is targeted by).
        const p = tuple(item, `peers.peers[${i}]`, 3);
        return {
          nodeId: text(p[0], `peers.peers[${i}].nodeId`, MAX_ID_BYTES, 1),
          address: text(p[1], `peers.peers[${i}].address`, MAX_ADDRESS_BYTES),
          linked: bool(p[2], `peers.peers[${i}].linked`),
        };
      });
      return { type, hlc, physicalMs, body: { peers } };
    }
    case FrameType.SYNC:
    case FrameType.PING:
      tuple(b, type === FrameType.SYNC ? 'sync' : 'ping', 0);
      return { type, hlc, physicalMs, body: {} };
    case FrameType.BYE:
      tuple(b, 'bye', 1);
      return { type, hlc, physicalMs, body: { reason: text(b[0], 'bye.reason', MAX_REASON_BYTES) } };
    default:
      return fail('frame.type', `unknown frame type ${type as number}`);
  }
}
