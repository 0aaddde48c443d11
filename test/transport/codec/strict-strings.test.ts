/**
 * Issue 9, defect 5 ("Ill-formed keys"), on the wire: MessagePack `str`
 * values are UTF-8 by the spec, but msgpackr decodes invalid bytes to U+FFFD
 * and encodes a lone surrogate as WTF-8 (or, in a long string, as U+FFFD). A
 * peer's key, limiter name or node id that is not valid UTF-8 would therefore
 * become a different string on arrival: a phantom key that anti-entropy
 * "repairs" forever. A frame carrying one is refused as malformed; a frame
 * this node would send with an ill-formed string is refused before it leaves.
 */
import { encode as standardEncode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { fcParams } from '../../helpers/fc.js';
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError } from '../../../transport/codec/codec.js';
import { FrameType, PROTOCOL_VERSION } from '../../../transport/codec/frame.js';
import type { Frame } from '../../../transport/codec/frame.js';
import { isUtf8Range, scanMessagePack } from '../../../transport/codec/msgpack-scan.js';
import { deltaFrame } from './frames.js';

const nonce = new Uint8Array(32).fill(0xff);

/** Bytes that are not UTF-8, each with why. */
const INVALID: Array<[string, number[]]> = [
  ['a lone high surrogate written as WTF-8 (what msgpackr writes for "\\ud800")', [0xed, 0xa0, 0x80]],
  ['a lone low surrogate written as WTF-8', [0xed, 0xb0, 0x80]],
  ['the byte 0xff', [0xff]],
  ['a continuation byte without a lead', [0x80]],
  ['an overlong "/" (0xc0 0xaf)', [0xc0, 0xaf]],
  ['an overlong 3-byte NUL', [0xe0, 0x80, 0x80]],
  ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['a 3-byte sequence cut short', [0xe2, 0x82]],
  ['a lead byte followed by ASCII', [0xc3, 0x41]],
];

/**
 * Encodes `wire` with a standard encoder, then overwrites the ASCII marker
 * `@@@…` (as long as `replacement`) with `replacement`: the string headers stay
 * right, only the string's bytes turn invalid.
 */
function patched(wire: unknown, replacement: number[]): Uint8Array {
  const bytes = standardEncode(wire);
  const marker = Buffer.alloc(replacement.length, '@');
  const at = Buffer.from(bytes).indexOf(marker);
  if (at < 0) throw new Error('marker not found');
  bytes.set(replacement, at);
  return bytes;
}

function marker(length: number): string {
  return '@'.repeat(length);
}

function rejection(bytes: Uint8Array): FrameError {
  try {
    decodeFrame(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(FrameError);
    return err as FrameError;
  }
  throw new Error('decodeFrame accepted the bytes');
}

const batch = (over: Record<number, unknown>): unknown[] => {
  const base: unknown[] = ['api', 60_000, 60, null, ['a#1'], [['user:1', [100, 0, 0, 5]]]];
  for (const [i, v] of Object.entries(over)) base[Number(i)] = v;
  return base;
};

/** Where a string travels, each as a wire value with the marker in that string. */
const PLACES: Array<[string, (m: string) => unknown[]]> = [
  ['a key (fixstr)', (m) => [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [[`user:${m}`, [100, 0, 0, 5]]] })]]]],
  // Long strings go through another path in msgpackr (TextDecoder or its native addon).
  ['a key of 200 bytes (str8)', (m) => [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [['k'.repeat(200 - m.length) + m, []]] })]]]],
  ['a snapshot key', (m) => [PROTOCOL_VERSION, FrameType.SNAPSHOT, 0, 0, [0, true, [batch({ 5: [[`u${m}`, []]] })]]]],
  ['a limiter name', (m) => [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 0: `api${m}` })]]]],
  ['a replica id', (m) => [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 4: [`a${m}#1`] })]]]],
  ['a limit register replica', (m) => [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 3: [1, `a${m}`, 5] })]]]],
  ['a HELLO node id', (m) => [PROTOCOL_VERSION, FrameType.HELLO, 0, 0, [`n${m}`, '127.0.0.1:1', 'x1', nonce]]],
  ['a HELLO incarnation', (m) => [PROTOCOL_VERSION, FrameType.HELLO, 0, 0, ['n', '127.0.0.1:1', `x${m}`, nonce]]],
  ['a HELLO address', (m) => [PROTOCOL_VERSION, FrameType.HELLO, 0, 0, ['n', `127.0.0.1${m}:1`, 'x1', nonce]]],
  ['a PEERS node id', (m) => [PROTOCOL_VERSION, FrameType.PEERS, 0, 0, [[[`b${m}`, '127.0.0.1:2', true]]]]],
  ['a DIGEST limiter name', (m) => [PROTOCOL_VERSION, FrameType.DIGEST, 0, 0, [[[`api${m}`, 1, 3, [7]]]]]],
  ['a REPAIR limiter name', (m) => [PROTOCOL_VERSION, FrameType.REPAIR, 0, 0, [[[`api${m}`, 1, 3, [0]]]]]],
  ['a BYE reason of 256 bytes (str16)', (m) => [PROTOCOL_VERSION, FrameType.BYE, 0, 0, ['r'.repeat(256 - m.length) + m]]],
];

describe('strict UTF-8 in peer frames (issue 9, defect 5)', () => {
  describe.each(PLACES)('in %s', (_place, wireWith) => {
    it.each(INVALID)("refuses %s with 'malformed'", (_what, invalid) => {
      const wire = wireWith(marker(invalid.length));
      // The frame is fine with the marker in place: only the bytes make it malformed.
      expect(() => decodeFrame(standardEncode(wire))).not.toThrow();
      const err = rejection(patched(wire, invalid));
      expect(err.reason).toBe('malformed');
      expect(err.code).toBe('TALLYMESH_ERR_FRAME_MALFORMED');
      expect(err.message).toMatch(/not valid UTF-8/);
    });
  });

  it('judges UTF-8 exactly as node:buffer isUtf8 does, short and long, at any offset (property)', () => {
    // Valid characters with, here and there, a near miss: a lead byte followed by 0-3 bytes at the
    // boundaries of table 3-7. One near miss decides the verdict, so a wrong boundary shows.
    const utf8Char = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).map((c) => [...Buffer.from(c)]);
    const lead = fc.constantFrom(0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff);
    const follow = fc.constantFrom(0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0);
    const nearMiss = fc.tuple(lead, fc.array(follow, { maxLength: 3 })).map(([l, rest]) => [l, ...rest]);
    const chunk = fc.oneof({ arbitrary: utf8Char, weight: 6 }, { arbitrary: nearMiss, weight: 1 });
    // Mostly short (checked in place), sometimes past 64 bytes (checked by isUtf8).
    const chunks = fc.oneof({ arbitrary: fc.array(chunk, { maxLength: 12 }), weight: 4 }, { arbitrary: fc.array(chunk, { maxLength: 60 }), weight: 1 });
    fc.assert(
      // Continuation bytes after the range: a check that reads past its end would take them.
      fc.property(chunks, fc.nat(3), fc.nat(3), (chunks, before, after) => {
        const body = chunks.flat();
        const bytes = Uint8Array.from([...new Array(before).fill(0xff), ...body, ...new Array(after).fill(0x80)]);
        expect(isUtf8Range(bytes, before, before + body.length)).toBe(isUtf8(Uint8Array.from(body)));
      }),
      fcParams(20_000),
    );
  });

  it('says where the invalid string starts', () => {
    const bytes = patched(['ok', `x${marker(1)}`], [0xff]);
    expect(scanMessagePack(bytes)).toBe('string at byte 4 is not valid UTF-8');
    expect(scanMessagePack(standardEncode(['ok', 'x@']))).toBeNull();
  });

  it('accepts valid multi-byte UTF-8 (2, 3 and 4 bytes, U+FFFD written on purpose) and round-trips it unchanged', () => {
    const keys = ['user:é', 'ключ', '東京', 'user:😀', '𝄞'.repeat(60), 'user:\ufffd', 'ok\u{10ffff}', `${'€'.repeat(84)}`];
    const frame: Frame = {
      type: FrameType.DELTA,
      hlc: 1,
      physicalMs: 0,
      body: { batches: [{ name: 'api', windowMs: 60_000, buckets: 60, limit: null, replicas: ['a#😀'], keys: keys.map((k) => [k, [100, 0, 0, 1]]) }] },
    };
    expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
    // And as another encoder writes it.
    const decoded = decodeFrame(standardEncode([PROTOCOL_VERSION, FrameType.DELTA, 1, 0, [[['api', 60_000, 60, null, ['a#😀'], keys.map((k) => [k, [100, 0, 0, 1]])]]]]));
    expect(decoded.type === FrameType.DELTA && decoded.body.batches[0].keys.map((k) => k[0])).toEqual(keys);
  });

  it('checks only str values: a bin (a nonce, a MAC) may hold any bytes', () => {
    const hello = decodeFrame(standardEncode([PROTOCOL_VERSION, FrameType.HELLO, 0, 0, ['n', '127.0.0.1:1', 'x1', nonce]]));
    expect(hello.type === FrameType.HELLO && hello.body.nonce).toEqual(nonce);
    expect(decodeFrame(standardEncode([PROTOCOL_VERSION, FrameType.AUTH, 0, 0, [Uint8Array.from({ length: 32 }, () => 0xed)]])).type).toBe(FrameType.AUTH);
  });

  it.each([
    ['a short key with a lone high surrogate', 'user:\ud800'],
    ['a short key with a lone low surrogate', 'user:\udc00'],
    // msgpackr writes a long string through a UTF-8 encoder that substitutes U+FFFD: valid bytes, another key.
    ['a long key with a lone surrogate', `${'x'.repeat(100)}\ud800`],
  ])("refuses to encode %s with 'malformed' instead of sending another key", (_what, key) => {
    let err: unknown;
    try {
      encodeFrame(deltaFrameWithKey(key));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).reason).toBe('malformed');
    expect((err as FrameError).message).toMatch(/well-formed/);
  });

  it('still encodes and decodes the fixture frames', () => {
    expect(decodeFrame(encodeFrame(deltaFrame(3)))).toEqual(deltaFrame(3));
  });
});

function deltaFrameWithKey(key: string): Frame {
  return {
    type: FrameType.DELTA,
    hlc: 1,
    body: { batches: [{ name: 'api', windowMs: 60_000, buckets: 60, limit: null, replicas: ['a#1'], keys: [[key, [100, 0, 0, 1]]] }] },
  };
}
