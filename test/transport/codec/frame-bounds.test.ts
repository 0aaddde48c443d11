/**
 * Bounds on the lists a peer with the secret controls, which set how much
 * work one frame can ask of its receiver (issue 9, defect 7): windows per
 * frame (DELTA/SNAPSHOT batches, DIGEST digests, REPAIR wants) and replica
 * ids per batch. Both ends check them: a frame past a bound is refused on
 * receipt and never sent.
 */
import { encode as standardEncode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError } from '../../../transport/codec/codec.js';
import { FrameType, PROTOCOL_VERSION, type Frame, type WindowBatch } from '../../../transport/codec/frame.js';

/** Windows one frame may name, and replica ids one batch may list (docs/protocol.md). */
const WINDOWS = 1_024;
const REPLICAS = 4_096;

const raw = (value: unknown): Uint8Array => standardEncode(value);

function refusal(fn: () => unknown): FrameError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FrameError);
    return err as FrameError;
  }
  throw new Error('accepted');
}

const batch = (replicas: number, name = 'api'): WindowBatch => ({
  name,
  windowMs: 10_000,
  buckets: 10,
  limit: null,
  replicas: Array.from({ length: replicas }, (_, i) => `fake-${i}#1`),
  keys: [['k', replicas > 0 ? [1, replicas - 1, 0, 1] : []]],
});

const wants = (n: number) => Array.from({ length: n }, (_, i) => ({ name: 'api', from: 1, to: 5, shards: [i % 256] }));
const digests = (n: number) => Array.from({ length: n }, (_, i) => ({ name: 'api', from: i, to: i + 5, shards: [0] }));

describe('per-frame bounds on what a peer can ask for', () => {
  it.each<[string, (n: number) => Frame]>([
    ['REPAIR wants', (n) => ({ type: FrameType.REPAIR, hlc: 1, body: { wants: wants(n) } })],
    ['DIGEST digests', (n) => ({ type: FrameType.DIGEST, hlc: 1, body: { digests: digests(n) } })],
    ['DELTA batches', (n) => ({ type: FrameType.DELTA, hlc: 1, body: { batches: Array.from({ length: n }, () => batch(0)) } })],
    ['SNAPSHOT batches', (n) => ({ type: FrameType.SNAPSHOT, hlc: 1, body: { seq: 0, done: true, batches: Array.from({ length: n }, () => batch(0)) } })],
  ])('accepts %s up to the bound and refuses one more, on both ends', (_name, frame) => {
    expect(decodeFrame(encodeFrame(frame(WINDOWS))).type).toBe(frame(1).type);
    const err = refusal(() => encodeFrame(frame(WINDOWS + 1)));
    expect(err.reason).toBe('malformed');
    expect(err.message).toMatch(/1025 elements, at most 1024/);
  });

  it('refuses the 3,000-entry REPAIR that stalled a node with 50,000 keys for seconds', () => {
    const frame: Frame = { type: FrameType.REPAIR, hlc: 1, body: { wants: wants(3_000) } };
    expect(refusal(() => encodeFrame(frame)).reason).toBe('malformed');
    const wire = raw([PROTOCOL_VERSION, FrameType.REPAIR, 1, 0, [wants(3_000).map((w) => [w.name, w.from, w.to, w.shards])]]);
    expect(wire.length).toBeLessThan(40_000); // a small frame: the bound is on entries, not bytes
    expect(refusal(() => decodeFrame(wire)).reason).toBe('malformed');
  });

  it('refuses a batch of 10,000 replica ids, and takes one of 4,096', () => {
    expect(decodeFrame(encodeFrame({ type: FrameType.DELTA, hlc: 1, body: { batches: [batch(REPLICAS)] } })).type).toBe(FrameType.DELTA);
    const err = refusal(() => encodeFrame({ type: FrameType.DELTA, hlc: 1, body: { batches: [batch(10_000)] } }));
    expect(err.reason).toBe('malformed');
    expect(err.message).toMatch(/replicas: 10000 elements, at most 4096/);
    const wire = raw([PROTOCOL_VERSION, FrameType.DELTA, 1, 0, [[['api', 10_000, 10, null, batch(10_000).replicas, []]]]]);
    expect(refusal(() => decodeFrame(wire)).reason).toBe('malformed');
  });
});
