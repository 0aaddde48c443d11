import { decode as standardDecode, encode as standardEncode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { fcParams, SEED } from '../../helpers/fc.js';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError, frameTypeName } from '../../../transport/codec/codec.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameType, PROTOCOL_VERSION } from '../../../transport/codec/frame.js';
import type { Frame } from '../../../transport/codec/frame.js';
import { toWire } from '../../../transport/codec/frame-schema.js';
import { arbFrame, deltaFrame } from './frames.js';

const packr = new Packr({ useRecords: false });
const nonce = new Uint8Array(32).fill(7);

/** Encode an arbitrary value as standard MessagePack, as a hostile peer might. */
const raw = (value: unknown): Uint8Array => standardEncode(value, { useBigInt64: true });

function rejection(bytes: Uint8Array, max?: number): FrameError {
  try {
    decodeFrame(bytes, max);
  } catch (err) {
    expect(err).toBeInstanceOf(FrameError);
    return err as FrameError;
  }
  throw new Error('decodeFrame accepted the bytes');
}

/** Turn Buffers (a bin decoded from a Buffer input) into plain Uint8Arrays so structures compare by content. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

const batch = (over: Record<number, unknown> = {}): unknown[] => {
  const base: unknown[] = ['api', 60_000, 60, null, ['a#1', 'b#1'], [['user:1', [100, 1, 0, 5]]]];
  for (const [i, v] of Object.entries(over)) base[Number(i)] = v;
  return base;
};

describe('encodeFrame / decodeFrame', () => {
  it('round-trips every frame type (property)', () => {
    fc.assert(
      fc.property(arbFrame, (frame) => {
        expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
      }),
      fcParams(500),
    );
  });

  it('covers every frame type in the round-trip arbitrary', () => {
    const seen = new Set(fc.sample(arbFrame, { numRuns: 2_000, seed: SEED }).map((f) => f.type));
    expect([...seen].sort((a, b) => a - b)).toEqual(Object.values(FrameType));
  });

  it('writes standard MessagePack that another decoder reads field for field (property)', () => {
    fc.assert(
      fc.property(arbFrame, (frame) => {
        const decoded = standardDecode(encodeFrame(frame), { useBigInt64: false });
        expect(plain(decoded)).toEqual(plain(toWire(frame)));
      }),
      fcParams(300),
    );
  });

  it('reads frames written by another MessagePack encoder (uint64 integers included)', () => {
    fc.assert(
      fc.property(arbFrame, (frame) => {
        expect(decodeFrame(standardEncode(toWire(frame)))).toEqual(frame);
      }),
      fcParams(300),
    );
  });

  it('keeps an HLC and a physical clock near 2^53 exact and nonces as bin', () => {
    const hello: Frame = {
      type: FrameType.HELLO,
      hlc: 2 ** 53 - 1,
      physicalMs: 2 ** 53 - 2,
      body: { nodeId: 'a', address: '127.0.0.1:7070', incarnation: 'x1', nonce },
    };
    const bytes = encodeFrame(hello);
    const [version, type, hlc, physicalMs, body] = standardDecode(bytes) as [number, number, number, number, unknown[]];
    expect([version, type, hlc, physicalMs]).toEqual([PROTOCOL_VERSION, FrameType.HELLO, 2 ** 53 - 1, 2 ** 53 - 2]);
    expect(body[3]).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(bytes).includes(Buffer.from([0xc4, 32]))).toBe(true); // bin8 header, 32 bytes
    expect(decodeFrame(bytes)).toEqual(hello);
  });

  it('returns frames that share no memory with the input bytes', () => {
    const bytes = encodeFrame({ type: FrameType.AUTH, hlc: 1, body: { mac: nonce } });
    const frame = decodeFrame(bytes);
    bytes.fill(0);
    expect(frame.type === FrameType.AUTH && frame.body.mac).toEqual(nonce);
  });

  it('names frame types for logs', () => {
    expect(frameTypeName(FrameType.SNAPSHOT)).toBe('SNAPSHOT');
    expect(frameTypeName(77)).toBe('UNKNOWN_77');
  });
});

describe('decodeFrame refusals', () => {
  it("refuses another protocol version with 'version', before looking at the layout", () => {
    // Version 1 (before issue 10) had no physicalMs field: [version, type, hlc, body].
    const err = rejection(raw([1, FrameType.PING, 0, []]));
    expect(err.reason).toBe('version');
    expect(err.code).toBe('TALLYMESH_ERR_FRAME_VERSION');
    expect(err.message).toMatch(/peer speaks protocol version 1, this node speaks 2: nodes of different versions do not mesh/);
    expect(rejection(raw([PROTOCOL_VERSION + 1, FrameType.PING, 0, 0, [], 'future field'])).reason).toBe('version');
    expect(rejection(raw([0, FrameType.PING, 0, [], 'future field'])).reason).toBe('version');
  });

  it("carries the sender's physical clock as the fourth field, 0 when the frame has none", () => {
    const bytes = encodeFrame({ type: FrameType.PING, hlc: 5 * 1024 + 3, physicalMs: 4_990, body: {} });
    expect(standardDecode(bytes)).toEqual([PROTOCOL_VERSION, FrameType.PING, 5 * 1024 + 3, 4_990, []]);
    expect(decodeFrame(bytes)).toEqual({ type: FrameType.PING, hlc: 5 * 1024 + 3, physicalMs: 4_990, body: {} });
    expect(decodeFrame(encodeFrame({ type: FrameType.PING, hlc: 1, body: {} })).physicalMs).toBe(0);
  });

  it("refuses a frame above maxFrameBytes with 'too-large' before parsing it", () => {
    const err = rejection(new Uint8Array(1025).fill(0xc1), 1024);
    expect(err.reason).toBe('too-large');
    expect(rejection(encodeFrame(deltaFrame(1)), 16).reason).toBe('too-large');
  });

  it.each([
    ['empty input', new Uint8Array(0)],
    ['the never-used byte 0xc1', Uint8Array.of(0xc1)],
    ['a truncated array', Uint8Array.of(0x94, 0x01, 0x09)],
    ['trailing bytes', Uint8Array.of(0x94, 0x01, 0x09, 0x00, 0x90, 0x00)],
    ['a map', raw({ version: 1 })],
    ['a map inside the body', Uint8Array.of(0x94, 0x01, 0x09, 0x00, 0x81, 0xa1, 0x61, 0x01)],
    ['an extension type (timestamp)', Uint8Array.of(0x94, 0x01, 0x09, 0x00, 0xd6, 0xff, 0, 0, 0, 1)],
    ['a msgpackr record', new Packr({ useRecords: true }).pack([{ a: 1 }, { a: 2 }])],
    [
      // msgpackr would decode this extension to a genuine Uint8Array(32): only the structural scan stops it.
      'a HELLO nonce sent as a msgpackr typed-array extension instead of bin',
      Uint8Array.from([0x94, 0x01, 0x01, 0x00, 0x94, 0xa1, 0x61, 0xa0, 0xa2, 0x78, 0x31, 0xc7, 33, 0x74, 0x01, ...new Array(32).fill(9)]),
    ],
    ['an array claiming 2^32-1 elements', Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01)],
    ['a string running past the end', Uint8Array.of(0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61)],
    ['arrays nested 64 deep', Uint8Array.from([...new Array(64).fill(0x91), 0x00])],
    ['a non-array top level', raw('hello')],
    ['an empty top-level array', raw([])],
  ])("refuses %s with 'malformed'", (_name, bytes) => {
    expect(rejection(bytes).reason).toBe('malformed');
  });

  const hello = (over: Record<number, unknown>): unknown[] => {
    const body: unknown[] = ['a', '127.0.0.1:1', 'x1', nonce];
    for (const [i, v] of Object.entries(over)) body[Number(i)] = v;
    return [PROTOCOL_VERSION, FrameType.HELLO, 0, 0, body];
  };

  it.each<[string, unknown]>([
    ['a missing body field', [PROTOCOL_VERSION, FrameType.PING, 0, 0]],
    ['an extra frame field', [PROTOCOL_VERSION, FrameType.PING, 0, 0, [], 1]],
    ['an unknown frame type', [PROTOCOL_VERSION, 99, 0, 0, []]],
    ['a fractional type', [PROTOCOL_VERSION, 1.5, 0, 0, []]],
    ['a negative hlc', [PROTOCOL_VERSION, FrameType.PING, -1, 0, []]],
    ['a fractional hlc', [PROTOCOL_VERSION, FrameType.PING, 0.5, 0, []]],
    ['a negative physicalMs', [PROTOCOL_VERSION, FrameType.PING, 0, -1, []]],
    ['a fractional physicalMs', [PROTOCOL_VERSION, FrameType.PING, 0, 0.5, []]],
    ['a physicalMs above 2^53 (uint64)', [PROTOCOL_VERSION, FrameType.PING, 0, 2n ** 60n, []]],
    ['a frame without physicalMs (the version 1 layout)', [PROTOCOL_VERSION, FrameType.PING, 0, []]],
    ['a NaN hlc', [PROTOCOL_VERSION, FrameType.PING, Number.NaN, 0, []]],
    ['an infinite hlc', [PROTOCOL_VERSION, FrameType.PING, Number.POSITIVE_INFINITY, 0, []]],
    ['an hlc above 2^53 (uint64)', [PROTOCOL_VERSION, FrameType.PING, 2n ** 60n, 0, []]],
    ['a string version', ['1', FrameType.PING, 0, []]],
    ['a PING with a body', [PROTOCOL_VERSION, FrameType.PING, 0, 0, [1]]],
    ['a body that is not an array', [PROTOCOL_VERSION, FrameType.BYE, 0, 0, 'bye']],
    ['an empty node id', hello({ 0: '' })],
    ['a node id of 129 bytes', hello({ 0: 'n'.repeat(129) })],
    ['a nonce of 31 bytes', hello({ 3: new Uint8Array(31) })],
    ['a nonce sent as str', hello({ 3: 'x'.repeat(32) })],
    ['a HELLO with 5 fields', [...hello({}).slice(0, 4), ['a', '', 'x1', nonce, 'extra']]],
    ['a mac of 33 bytes', [PROTOCOL_VERSION, FrameType.AUTH, 0, 0, [new Uint8Array(33)]]],
    ['entries not a multiple of 4', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [['k', [1, 0, 0]]] })]]]],
    ['a replica index past the table', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [['k', [1, 2, 0, 5]]] })]]]],
    ['entries with no replica table', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 4: [] })]]]],
    ['a negative count', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [['k', [1, 0, 0, -5]]] })]]]],
    ['a fractional count', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [['k', [1, 0, 0, 0.5]]] })]]]],
    ['a floor above its count', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [['k', [1, 0, 6, 5]]] })]]]],
    ['a key entry with a third element (the resetGen of an earlier layout)', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [['k', 0, [1, 0, 0, 5]]] })]]]],
    ['a key of 257 bytes', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [['é'.repeat(128) + 'x', []]] })]]]],
    ['a zero window', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 1: 0 })]]]],
    ['a boolean where buckets go', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 2: true })]]]],
    ['a limit register of 2 fields', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 3: [1, 'a#1'] })]]]],
    ['an empty replica id', [PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 4: ['', 'b#1'] })]]]],
    ['a snapshot without done', [PROTOCOL_VERSION, FrameType.SNAPSHOT, 0, 0, [0, 1, []]]],
    ['a digest range from after to', [PROTOCOL_VERSION, FrameType.DIGEST, 0, 0, [[['api', 9, 3, []]]]]],
    ['a digest checksum above 2^32', [PROTOCOL_VERSION, FrameType.DIGEST, 0, 0, [[['api', 1, 3, [2 ** 32]]]]]],
    ['a repair shard index of 65536', [PROTOCOL_VERSION, FrameType.REPAIR, 0, 0, [[['api', 1, 3, [65_536]]]]]],
    ['a peer without address', [PROTOCOL_VERSION, FrameType.PEERS, 0, 0, [[['b']]]]],
    ['a peer without its linked flag', [PROTOCOL_VERSION, FrameType.PEERS, 0, 0, [[['b', 'sim:b']]]]],
    ['a linked flag that is not a boolean', [PROTOCOL_VERSION, FrameType.PEERS, 0, 0, [[['b', 'sim:b', 1]]]]],
    ['a BYE reason of 300 bytes', [PROTOCOL_VERSION, FrameType.BYE, 0, 0, ['r'.repeat(300)]]],
    ['a null body', [PROTOCOL_VERSION, FrameType.SYNC, 0, 0, null]],
  ])("refuses %s with 'malformed'", (_name, wire) => {
    const err = rejection(raw(wire));
    expect(err.reason).toBe('malformed');
    expect(err.code).toBe('TALLYMESH_ERR_FRAME_MALFORMED');
  });

  it('names the offending field in the message', () => {
    const err = rejection(raw([PROTOCOL_VERSION, FrameType.DELTA, 0, 0, [[batch({ 5: [['k', [1, 0, 0]]] })]]]));
    expect(err.message).toMatch(/delta\.batches\[0\]\.keys\[0\]\.entries: length 3 is not a multiple of 4/);
  });

  it('never throws anything but FrameError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        try {
          decodeFrame(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError);
        }
      }),
      fcParams(2_000),
    );
  });

  it('never throws anything but FrameError on mutated valid frames (property)', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(arbFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) => {
        let bytes = Array.from(encodeFrame(frame));
        for (const m of mutations) {
          const at = m.at % (bytes.length + 1);
          if (m.kind === 'flip' && at < bytes.length) bytes[at] = m.value;
          else if (m.kind === 'cut') bytes = bytes.slice(0, at);
          else if (m.kind === 'insert') bytes.splice(at, 0, m.value);
        }
        try {
          decodeFrame(Uint8Array.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError);
        }
      }),
      fcParams(2_000),
    );
  });
});

describe('encodeFrame refusals', () => {
  it("refuses a frame peers would refuse with 'malformed', naming the field", () => {
    const frame = deltaFrame(1, 'k'.repeat(257));
    expect(() => encodeFrame(frame)).toThrow(FrameError);
    expect(() => encodeFrame(frame)).toThrow(/keys\[0\]\.key: longer than 256/);
  });

  it("refuses a frame of the wrong shape with 'malformed' instead of a TypeError", () => {
    const broken = { type: FrameType.DELTA, hlc: 1, body: {} } as unknown as Frame;
    expect(() => encodeFrame(broken)).toThrow(expect.objectContaining({ name: 'FrameError', reason: 'malformed' }));
  });

  it("refuses a frame larger than maxFrameBytes with 'too-large'", () => {
    expect(() => encodeFrame(deltaFrame(1), 20)).toThrow(expect.objectContaining({ reason: 'too-large' }));
    expect(encodeFrame(deltaFrame(1), DEFAULT_MAX_FRAME_BYTES).length).toBeGreaterThan(20);
  });
});
