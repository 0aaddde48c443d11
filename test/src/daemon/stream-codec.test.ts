import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeStreamRequest, decodeStreamResponse, encodeStreamRequest, encodeStreamResponse, STREAM_VERSION } from '../../../src/stream/stream-codec.js';

const decision = { allowed: true, limit: 1e12, remaining: 1e12 - 1, resetMs: 61_000, retryAfterMs: 0 };

describe('stream frames', () => {
  it('round-trips a request, cost defaulting to 1', () => {
    const bytes = encodeStreamRequest(2 ** 40, [{ limiter: 'api', key: 'k' }, { limiter: 'api', key: 'é', cost: 3 }]);
    expect(decode(bytes)).toEqual([STREAM_VERSION, 2 ** 40, [['api', 'k'], ['api', 'é', 3]]]);
    expect(decodeStreamRequest(bytes)).toEqual({ id: 2 ** 40, requests: [{ limiter: 'api', key: 'k', cost: 1 }, { limiter: 'api', key: 'é', cost: 3 }] });
  });

  it('round-trips a response with decisions and errors in request order', () => {
    const error = { error: { code: 'TALLYMESH_ERR_KEY_INVALID', message: 'Key must be a non-empty string, got ""' } };
    const bytes = encodeStreamResponse(9, [decision, error, { ...decision, allowed: false }]);
    expect(decode(bytes)).toEqual([
      1,
      9,
      [[true, 1e12, 1e12 - 1, 61_000, 0], null, [false, 1e12, 1e12 - 1, 61_000, 0]],
      [[1, 'TALLYMESH_ERR_KEY_INVALID', error.error.message]],
    ]);
    expect(decodeStreamResponse(bytes)).toEqual({ id: 9, results: [decision, error, { ...decision, allowed: false }] });
  });

  it('reads requests written by another MessagePack library, 64-bit ids included', () => {
    expect(decodeStreamRequest(encode([1, 5, [['api', 'k', 2]]]))).toEqual({ id: 5, requests: [{ limiter: 'api', key: 'k', cost: 2 }] });
    expect(decodeStreamRequest(encode([1, 2 ** 50, []], { useBigInt64: true })).id).toBe(2 ** 50);
  });

  it('leaves item values to the limiter: a key of the wrong type is decoded, not refused', () => {
    expect(decodeStreamRequest(encode([1, 1, [[7, null, 'x']]])).requests).toEqual([{ limiter: 7, key: null, cost: 'x' }]);
  });

  it.each([
    ['not MessagePack', new Uint8Array([0xc1])],
    ['an extension type', encode(new Date(0))],
    ['nesting deeper than a request', encode([1, 1, [['api', ['k']]]])],
    ['an id beyond 2^53', encode([1, 2n ** 60n, []], { useBigInt64: true })],
    ['a fractional id', encode([1, 1.5, []])],
  ])('refuses %s as malformed', (_name, bytes) => {
    expect(() => decodeStreamRequest(bytes)).toThrow(expect.objectContaining({ code: 'TALLYMESH_ERR_STREAM_MALFORMED' }));
  });

  it('refuses a batch over 1,000 requests', () => {
    const bytes = encode([1, 1, Array.from({ length: 1001 }, () => ['api', 'k'])]);
    expect(() => decodeStreamRequest(bytes)).toThrow(expect.objectContaining({ code: 'TALLYMESH_ERR_HTTP_BATCH_TOO_LARGE' }));
  });
});
