/**
 * Frame codec: `encodeFrame` / `decodeFrame`.
 *
 * A frame on the wire is one standard MessagePack array
 * `[version, type, hlc, physicalMs, body]` (msgpackr with the record extension
 * off, so any MessagePack decoder reads it). Integers above 2^32 — HLC
 * timestamps, physical clocks — are written as float64 by msgpackr, which is
 * exact for every safe integer.
 *
 * Decoding faces hostile peers and a fuzzer, so it is layered:
 * size bound → structural scan (standard subset only) → msgpackr →
 * field-by-field validation. Whatever goes wrong, the only thing thrown is a
 * {@link FrameError}.
 *
 * @module
 */
import { Packr, Unpackr, type Options } from 'msgpackr';
import { FrameError } from './frame-error.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameType } from './frame.js';
import type { Frame } from './frame.js';
import { fromWire, toWire } from './frame-schema.js';
import { scanMessagePack } from './msgpack-scan.js';

export { FrameError, FRAME_ERROR_CODES } from './frame-error.js';
export {
  MAX_ADDRESS_BYTES,
  MAX_BUCKETS,
  MAX_ID_BYTES,
  MAX_KEY_BYTES,
  MAX_LIST_LENGTH,
  MAX_PEERS,
  MAX_REASON_BYTES,
  MAX_REPLICAS,
  MAX_SHARDS,
  MAX_WINDOWS_PER_FRAME,
} from './frame-schema.js';

// useRecords: false keeps msgpackr to plain MessagePack (no record extension).
const packr = new Packr({ useRecords: false });
// int64AsType 'auto': a uint64/int64 within 2^53 (how other encoders write large integers) decodes
// as a number; beyond it, as a bigint that validation refuses rather than a silently rounded number.
// msgpackr supports 'auto' at runtime but its typings omit it, hence the assertion.
const UNPACK_OPTIONS: { useRecords: false; int64AsType: string } = { useRecords: false, int64AsType: 'auto' };
const unpackr = new Unpackr(UNPACK_OPTIONS as Options);

const TYPE_NAMES = new Map<number, string>(Object.entries(FrameType).map(([name, code]) => [code, name]));

/**
 * A frame type's name for logs and metric labels: `'DELTA'`, or `'UNKNOWN_<n>'`.
 *
 * @example
 * ```ts
 * frameTypeName(FrameType.DELTA); // 'DELTA'
 * ```
 */
export function frameTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `UNKNOWN_${type}`;
}

/**
 * Encode a frame. The frame is validated with the same rules as
 * {@link decodeFrame}, so a frame peers would refuse fails here instead.
 *
 * @throws FrameError 'malformed' for an invalid frame, 'too-large' when the
 *   encoding exceeds `maxFrameBytes`.
 * @example
 * ```ts
 * const bytes = encodeFrame({ type: FrameType.PING, hlc: clock.tick(now), physicalMs: now, body: {} });
 * ```
 */
export function encodeFrame(frame: Frame, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  let bytes: Uint8Array;
  try {
    const wire = toWire(frame);
    fromWire(wire);
    bytes = packr.pack(wire);
  } catch (err) {
    if (err instanceof FrameError) throw err;
    throw new FrameError('malformed', `cannot encode frame: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
  if (bytes.length > maxFrameBytes) {
    throw new FrameError(
      'too-large',
      `${frameTypeName(frame.type)} frame is ${bytes.length} bytes, above maxFrameBytes ${maxFrameBytes}`,
    );
  }
  return bytes;
}

/**
 * Decode and validate one frame received from a peer. The returned frame
 * shares no memory with `bytes`.
 *
 * @throws FrameError 'too-large' (checked before any parsing), 'version', or
 *   'malformed' — never anything else.
 * @example
 * ```ts
 * try {
 *   handle(decodeFrame(message, maxFrameBytes));
 * } catch (err) {
 *   closePeer((err as FrameError).reason);
 * }
 * ```
 */
export function decodeFrame(bytes: Uint8Array, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Frame {
  if (!(bytes instanceof Uint8Array)) throw new FrameError('malformed', 'frame is not binary data');
  if (bytes.length > maxFrameBytes) {
    throw new FrameError('too-large', `frame is ${bytes.length} bytes, above maxFrameBytes ${maxFrameBytes}`);
  }
  const problem = scanMessagePack(bytes);
  if (problem !== null) throw new FrameError('malformed', `not a valid frame encoding: ${problem}`);
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (err) {
    // The scan admits only what msgpackr decodes without error; this is defence in depth.
    throw new FrameError('malformed', `undecodable MessagePack: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
  return fromWire(value);
}
