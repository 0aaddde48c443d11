/**
 * Test fixtures: fast-check arbitraries of valid frames, and small sample frames.
 */
import fc from 'fast-check';
import { FrameType } from '../../../transport/codec/frame.js';
import type { Frame, WindowBatch } from '../../../transport/codec/frame.js';

const utf8Bytes = (s: string): number => Buffer.byteLength(s);

/** Any code point (no lone surrogates), bounded in UTF-8 bytes. */
export const arbText = (maxBytes: number, minLength = 0): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', minLength, maxLength: Math.min(maxBytes, 40) }).filter((s) => utf8Bytes(s) <= maxBytes);

const arbId = arbText(128, 1);
const arbName = arbText(256, 1);
const arbSafe = fc.maxSafeNat();
const arbBytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

const arbRange = fc
  .tuple(arbName, arbSafe, arbSafe)
  .map(([name, x, y]) => ({ name, from: Math.min(x, y), to: Math.max(x, y) }));

/** A valid WindowBatch: entries point into the batch's own replica table, and no floor is above its count. */
export const arbBatch: fc.Arbitrary<WindowBatch> = fc
  .array(arbName, { minLength: 1, maxLength: 4 })
  .chain((replicas) =>
    fc.record({
      name: arbName,
      windowMs: fc.integer({ min: 1, max: 2 ** 40 }),
      buckets: fc.integer({ min: 1, max: 65_536 }),
      limit: fc.option(fc.tuple(arbSafe, arbName, arbSafe), { nil: null }),
      replicas: fc.constant(replicas),
      keys: fc.array(
        fc.tuple(
          arbText(256),
          fc
            .array(fc.tuple(arbSafe, fc.nat({ max: replicas.length - 1 }), arbSafe, arbSafe), { maxLength: 6 })
            .map((entries) => entries.flatMap(([bucket, replica, x, y]) => [bucket, replica, Math.min(x, y), Math.max(x, y)])),
        ),
        { maxLength: 4 },
      ),
    }),
  );

const arbBatches = fc.array(arbBatch, { maxLength: 3 });

/** Any valid frame of any type, with the sender's physical clock. */
export const arbFrame: fc.Arbitrary<Frame> = fc.tuple(fc.oneof(
  fc.record({
    type: fc.constant(FrameType.HELLO),
    hlc: arbSafe,
    body: fc.record({ nodeId: arbId, address: arbText(256), incarnation: arbId, nonce: arbBytes32 }),
  }),
  fc.record({ type: fc.constant(FrameType.AUTH), hlc: arbSafe, body: fc.record({ mac: arbBytes32 }) }),
  fc.record({ type: fc.constant(FrameType.DELTA), hlc: arbSafe, body: fc.record({ batches: arbBatches }) }),
  fc.record({
    type: fc.constant(FrameType.SNAPSHOT),
    hlc: arbSafe,
    body: fc.record({ batches: arbBatches, seq: fc.nat(), done: fc.boolean() }),
  }),
  fc.record({
    type: fc.constant(FrameType.DIGEST),
    hlc: arbSafe,
    body: fc.record({
      digests: fc.array(
        fc.tuple(arbRange, fc.array(fc.nat({ max: 0xffff_ffff }), { maxLength: 8 })).map(([r, shards]) => ({ ...r, shards })),
        { maxLength: 3 },
      ),
    }),
  }),
  fc.record({
    type: fc.constant(FrameType.REPAIR),
    hlc: arbSafe,
    body: fc.record({
      wants: fc.array(
        fc.tuple(arbRange, fc.array(fc.nat({ max: 65_535 }), { maxLength: 8 })).map(([r, shards]) => ({ ...r, shards })),
        { maxLength: 3 },
      ),
    }),
  }),
  fc.record({
    type: fc.constant(FrameType.PEERS),
    hlc: arbSafe,
    body: fc.record({ peers: fc.array(fc.record({ nodeId: arbId, address: arbText(256), linked: fc.boolean() }), { maxLength: 4 }) }),
  }),
  fc.record({ type: fc.constant(FrameType.SYNC), hlc: arbSafe, body: fc.constant({}) }),
  fc.record({ type: fc.constant(FrameType.PING), hlc: arbSafe, body: fc.constant({}) }),
  fc.record({ type: fc.constant(FrameType.BYE), hlc: arbSafe, body: fc.record({ reason: arbText(256) }) }),
), arbSafe).map(([frame, physicalMs]) => ({ ...frame, physicalMs })) as fc.Arbitrary<Frame>;

/** A small DELTA whose hlc is `seq`, so tests can check order and content. */
export function deltaFrame(seq: number, key = `user:${seq}`): Frame {
  return {
    type: FrameType.DELTA,
    hlc: seq,
    physicalMs: 0,
    body: {
      batches: [
        {
          name: 'api',
          windowMs: 60_000,
          buckets: 60,
          limit: null,
          replicas: ['a#1'],
          keys: [[key, [29_000_000 + seq, 0, 0, seq]]],
        },
      ],
    },
  };
}

/** A DELTA whose encoding is about `bytes` long (a key padded with entries). */
export function bulkyDelta(seq: number, bytes: number): Frame {
  const entries: number[] = [seq, 0, 0, seq];
  // Each entry of small integers costs 4 bytes on the wire.
  for (let i = 0; i < Math.floor(bytes / 4); i++) entries.push(i % 100, 0, 0, 1);
  const frame = deltaFrame(seq);
  if (frame.type === FrameType.DELTA) frame.body.batches[0].keys[0][1] = entries;
  return frame;
}

/** A heartbeat. */
export const pingFrame = (hlc = 1): Frame => ({ type: FrameType.PING, hlc, physicalMs: 0, body: {} });
