/**
 * Issue 9, defect 5 ("Ill-formed keys"), on `/v1/stream`: a key whose bytes
 * are not UTF-8 would decode to U+FFFD — another key, silently. That item is
 * refused with TALLYMESH_ERR_KEY_MALFORMED and the rest of the batch is
 * decided; the Node client refuses to send an ill-formed key at all.
 */
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeStreamRequest, encodeStreamRequest } from '../../../src/stream/stream-codec.js';

/** A request frame with the marker `@@@` in `keys[i]` overwritten by `bytes` (same length). */
function frameWithKeyBytes(keys: string[], bytes: number[]): Uint8Array {
  const frame = encode([1, 7, keys.map((k) => ['api', k])]);
  const at = Buffer.from(frame).indexOf(Buffer.alloc(bytes.length, '@'));
  if (at < 0) throw new Error('marker not found');
  frame.set(bytes, at);
  return frame;
}

describe('ill-formed keys on the stream (issue 9, defect 5)', () => {
  it.each([
    ['a lone high surrogate as WTF-8', [0xed, 0xa0, 0x80]],
    ['the byte 0xff', [0xff]],
    ['an overlong encoding', [0xc0, 0xaf]],
  ])('marks the one item whose key is %s, and decodes the others as sent', (_what, bytes) => {
    const { id, requests } = decodeStreamRequest(frameWithKeyBytes(['ok', `user:${'@'.repeat(bytes.length)}`, '😀', 'k'.repeat(40)], bytes));
    expect(id).toBe(7);
    expect(requests.map((r) => r.keyNotUtf8 === true)).toEqual([false, true, false, false]);
    expect(requests[0]).toEqual({ limiter: 'api', key: 'ok', cost: 1 });
    expect(requests[2]).toEqual({ limiter: 'api', key: '😀', cost: 1 });
  });

  it('marks a long key (str8) whose bytes are not UTF-8', () => {
    const { requests } = decodeStreamRequest(frameWithKeyBytes(['x'.repeat(100) + '@@@', 'y'], [0xed, 0xb0, 0x80]));
    expect(requests.map((r) => r.keyNotUtf8 === true)).toEqual([true, false]);
  });

  it('finds the key among strings in other places: a string cost or an invalid limiter name does not shift it', () => {
    // Item 0 has a string cost, item 1 an invalid limiter name, item 2 an invalid key.
    const frame = encode([1, 1, [['api', 'a', 'three'], ['@i', 'b'], ['api', '@k']]]);
    const buf = Buffer.from(frame);
    frame[buf.indexOf('@i')] = 0xff;
    frame[buf.indexOf('@k')] = 0xff;
    const { requests } = decodeStreamRequest(frame);
    expect(requests.map((r) => r.keyNotUtf8 === true)).toEqual([false, false, true]);
    // The invalid limiter name decodes to a name no limiter has: refused as unknown by the decider.
    expect(requests[1].limiter).not.toBe('api');
  });

  it('refuses to encode a request whose key is not well-formed (the client side)', () => {
    let err: (Error & { code?: string }) | undefined;
    try {
      encodeStreamRequest(1, [{ limiter: 'api', key: 'ok' }, { limiter: 'api', key: 'user:\ud800' }]);
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err).toBeInstanceOf(TypeError);
    expect(err?.code).toBe('TALLYMESH_ERR_KEY_MALFORMED');
  });
});
