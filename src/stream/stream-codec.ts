/**
 * Frames of the `/v1/stream` WebSocket: `encodeStreamRequest` /
 * `decodeStreamRequest` and `encodeStreamResponse` / `decodeStreamResponse`.
 *
 * Every frame is one binary WebSocket message holding one standard
 * MessagePack array (no maps, no extension types), first field the protocol
 * version, so any MessagePack library in any language reads and writes it:
 *
 * ```
 * request   [1, id, [[limiter, key], [limiter, key, cost], ...]]
 * response  [1, id, decisions, errors]
 *   decisions[i]  [allowed, limit, remaining, resetMs, retryAfterMs]  or nil when request i failed
 *   errors        [[i, code, message], ...]                           (empty when none failed)
 * ```
 *
 * `id` is the client's request id (an integer 0 … 2^53−1), echoed in the
 * response. Positional arrays keep a batch of 100 decisions under 2 KB.
 *
 * Structure is checked strictly — a frame of the wrong shape is malformed and
 * closes the stream — while item *values* (limiter name, key, cost) are
 * checked by the limiter, so a bad item is an entry in `errors` and the rest
 * of the batch is decided. That holds for a key whose bytes are not UTF-8
 * too: msgpackr would decode it to U+FFFD, another key, so the decoder marks
 * the item (`keyNotUtf8`) and the decider refuses it with
 * `TALLYMESH_ERR_KEY_MALFORMED`.
 *
 * @module
 */
import { Packr, Unpackr, type Options } from 'msgpackr';
import { scanMessagePack } from '../../transport/codec/msgpack-scan.js';
import { MAX_BATCH_REQUESTS, type ConsumeRequest, type ItemResult } from './batch.js';
import { codes } from '../errors.js';
import type { Decision } from '../limiter/limiter.js';
import { describeValue, isWellFormed } from '../validate.js';

/** Version of the stream frames (first field of every frame). */
export const STREAM_VERSION = 1;

/** Largest request frame accepted: 1 MiB, as for an HTTP body. */
export const MAX_STREAM_FRAME_BYTES = 1024 * 1024;

/** Array nesting of a request frame: frame → requests → request. */
const REQUEST_DEPTH = 3;

const packr = new Packr({ useRecords: false });
// int64AsType 'auto': an id written as uint64 decodes as a number when it is
// safe, else as a bigint that validation refuses (msgpackr's typings omit 'auto').
const unpackr = new Unpackr({ useRecords: false, int64AsType: 'auto' } as unknown as Options);

/** A request frame, decoded. */
export interface StreamRequest {
  id: number;
  requests: ConsumeRequest[];
}

/** A response frame, decoded. */
export interface StreamResponse {
  id: number;
  results: ItemResult[];
}

function malformed(detail: string): Error {
  return new codes.TALLYMESH_ERR_STREAM_MALFORMED(detail);
}

function isRequestId(id: unknown): id is number {
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;
}

/** Decodes after the structural scan; with `invalidStrings`, strings that are not UTF-8 are recorded there instead of refused. */
function unpack(bytes: Uint8Array, depth: number, invalidStrings?: number[]): unknown {
  const problem = scanMessagePack(bytes, depth, invalidStrings);
  if (problem !== null) throw malformed(problem);
  try {
    return unpackr.unpack(bytes);
  } catch (err) {
    // The scan admits only what msgpackr decodes; this is defence in depth.
    throw malformed((err as Error).message);
  }
}

/**
 * Encodes a request frame (what a client sends).
 *
 * @example
 * ws.send(encodeStreamRequest(7, [{ limiter: 'api', key: 'user:42' }, { limiter: 'api', key: 'user:43', cost: 2 }]));
 */
export function encodeStreamRequest(id: number, requests: ReadonlyArray<{ limiter: string; key: string; cost?: number }>): Uint8Array {
  if (!isRequestId(id)) throw malformed('id must be an integer from 0 to 2^53-1');
  // msgpackr would send a lone surrogate as bytes that are not UTF-8 (or as U+FFFD): refuse it here, where the caller can see why.
  for (const r of requests) if (typeof r.key === 'string' && !isWellFormed(r.key)) throw new codes.TALLYMESH_ERR_KEY_MALFORMED(describeValue(r.key));
  return packr.pack([STREAM_VERSION, id, requests.map((r) => (r.cost === undefined ? [r.limiter, r.key] : [r.limiter, r.key, r.cost]))]);
}

/**
 * Decodes a request frame received from a client.
 *
 * @throws TALLYMESH_ERR_STREAM_MALFORMED for a malformed frame,
 *   TALLYMESH_ERR_HTTP_BATCH_TOO_LARGE past {@link MAX_BATCH_REQUESTS}.
 * @example
 * const { id, requests } = decodeStreamRequest(message);
 */
export function decodeStreamRequest(bytes: Uint8Array): StreamRequest {
  if (bytes.length > MAX_STREAM_FRAME_BYTES) throw new codes.TALLYMESH_ERR_HTTP_BODY_TOO_LARGE(MAX_STREAM_FRAME_BYTES);
  const invalidStrings: number[] = [];
  const frame = unpack(bytes, REQUEST_DEPTH, invalidStrings);
  if (!Array.isArray(frame) || frame.length !== 3) throw malformed('a frame is the array [version, id, requests]');
  const [version, id, list] = frame as unknown[];
  if (version !== STREAM_VERSION) throw malformed(`unsupported version ${String(version)} (this daemon speaks ${STREAM_VERSION})`);
  if (!isRequestId(id)) throw malformed('id must be an integer from 0 to 2^53-1');
  if (!Array.isArray(list)) throw malformed('requests must be an array');
  if (list.length > MAX_BATCH_REQUESTS) throw new codes.TALLYMESH_ERR_HTTP_BATCH_TOO_LARGE(MAX_BATCH_REQUESTS, list.length);
  const requests: ConsumeRequest[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    if (!Array.isArray(item) || item.length < 2 || item.length > 3) throw malformed(`request ${i} must be [limiter, key] or [limiter, key, cost]`);
    requests[i] = { limiter: item[0], key: item[1], cost: item.length === 3 ? item[2] : 1 };
  }
  if (invalidStrings.length > 0) markKeysNotUtf8(list as unknown[][], requests, invalidStrings);
  return { id, requests };
}

/**
 * Marks the requests whose key was one of the `invalid` strings (ordinals in
 * document order, as the scan counted them). Version and id are numbers by
 * now, so the frame's strings are all inside the requests, and a request
 * holds only scalars (the scan's depth bound), in order.
 */
function markKeysNotUtf8(list: unknown[][], requests: ConsumeRequest[], invalid: number[]): void {
  let ordinal = 0;
  let next = 0; // index into invalid, which is ascending
  for (let i = 0; i < list.length && next < invalid.length; i++) {
    const item = list[i];
    for (let j = 0; j < item.length; j++) {
      if (typeof item[j] !== 'string') continue;
      if (ordinal === invalid[next]) {
        if (j === 1) requests[i].keyNotUtf8 = true;
        next++;
      }
      ordinal++;
    }
  }
}

/**
 * Encodes a response frame (what the daemon sends).
 *
 * @example
 * ws.send(encodeStreamResponse(id, decider.many(requests)));
 */
export function encodeStreamResponse(id: number, results: readonly ItemResult[]): Uint8Array {
  const decisions: Array<unknown[] | null> = new Array(results.length);
  const errors: unknown[][] = [];
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if ('error' in r) {
      decisions[i] = null;
      errors.push([i, r.error.code, r.error.message]);
    } else decisions[i] = [r.allowed, r.limit, r.remaining, r.resetMs, r.retryAfterMs];
  }
  return packr.pack([STREAM_VERSION, id, decisions, errors]);
}

/**
 * Decodes a response frame (what a client receives): each result is a
 * decision or `{ error }`, in request order.
 *
 * @throws TALLYMESH_ERR_STREAM_MALFORMED for a malformed frame.
 * @example
 * const { id, results } = decodeStreamResponse(message);
 */
export function decodeStreamResponse(bytes: Uint8Array): StreamResponse {
  const frame = unpack(bytes, REQUEST_DEPTH);
  if (!Array.isArray(frame) || frame.length !== 4 || frame[0] !== STREAM_VERSION) throw malformed('a response is [1, id, decisions, errors]');
  const [, id, decisions, errors] = frame as unknown[];
  if (!isRequestId(id) || !Array.isArray(decisions) || !Array.isArray(errors)) throw malformed('a response is [1, id, decisions, errors]');
  const results: ItemResult[] = new Array(decisions.length);
  for (let i = 0; i < decisions.length; i++) {
    const d: unknown = decisions[i];
    if (d === null) continue;
    if (!Array.isArray(d) || d.length !== 5 || typeof d[0] !== 'boolean') throw malformed(`decision ${i} is not [allowed, limit, remaining, resetMs, retryAfterMs]`);
    const decision: Decision = { allowed: d[0], limit: d[1], remaining: d[2], resetMs: d[3], retryAfterMs: d[4] };
    results[i] = decision;
  }
  for (const e of errors) {
    if (!Array.isArray(e) || e.length !== 3 || !Number.isInteger(e[0]) || e[0] < 0 || e[0] >= results.length || decisions[e[0]] !== null) {
      throw malformed('an error is [index, code, message] for a nil decision');
    }
    results[e[0]] = { error: { code: String(e[1]), message: String(e[2]) } };
  }
  for (let i = 0; i < results.length; i++) if (results[i] === undefined) throw malformed(`result ${i} has neither a decision nor an error`);
  return { id, results };
}
