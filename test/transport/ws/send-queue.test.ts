import fc from 'fast-check';
import { fcParams } from '../../helpers/fc.js';
import { describe, expect, it } from 'vitest';
import { FrameType } from '../../../transport/codec/frame.js';
import type { FrameTypeCode } from '../../../transport/codec/frame.js';
import { SendQueue } from '../../../transport/ws/send-queue.js';

/** A frame of `size` bytes whose first byte identifies it. */
const frame = (id: number, size: number): Uint8Array => new Uint8Array(size).fill(id % 256);

function drain(queue: SendQueue): number[] {
  const ids: number[] = [];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) ids.push(next[0]);
  return ids;
}

describe('SendQueue', () => {
  it('is FIFO while under its bound', () => {
    const queue = new SendQueue(1_000);
    for (let i = 0; i < 5; i++) expect(queue.push(frame(i, 10), FrameType.DELTA)).toEqual({ accepted: true, dropped: 0 });
    expect(queue.bytes).toBe(50);
    expect(queue.length).toBe(5);
    expect(drain(queue)).toEqual([0, 1, 2, 3, 4]);
    expect(queue.bytes).toBe(0);
  });

  it('drops the oldest DELTA frames first to make room', () => {
    const queue = new SendQueue(100);
    queue.push(frame(1, 30), FrameType.SNAPSHOT);
    queue.push(frame(2, 30), FrameType.DELTA);
    queue.push(frame(3, 30), FrameType.DELTA);
    expect(queue.push(frame(4, 30), FrameType.DELTA)).toEqual({ accepted: true, dropped: 1 });
    expect(drain(queue)).toEqual([1, 3, 4]);
  });

  it('drops other frames, oldest first, only when no DELTA is left', () => {
    const queue = new SendQueue(100);
    queue.push(frame(1, 40), FrameType.SNAPSHOT);
    queue.push(frame(2, 40), FrameType.DIGEST);
    expect(queue.push(frame(3, 40), FrameType.SNAPSHOT)).toEqual({ accepted: true, dropped: 1 });
    expect(drain(queue)).toEqual([2, 3]);
  });

  it('never drops handshake frames, and refuses a frame that cannot fit beside them', () => {
    const queue = new SendQueue(100);
    queue.push(frame(1, 60), FrameType.HELLO);
    queue.push(frame(2, 30), FrameType.AUTH);
    expect(queue.push(frame(3, 20), FrameType.DELTA)).toEqual({ accepted: false, dropped: 1 });
    expect(drain(queue)).toEqual([1, 2]);
  });

  it('refuses a frame larger than the bound without dropping anything', () => {
    const queue = new SendQueue(100);
    queue.push(frame(1, 10), FrameType.DELTA);
    expect(queue.push(frame(2, 101), FrameType.DELTA)).toEqual({ accepted: false, dropped: 1 });
    expect(drain(queue)).toEqual([1]);
  });

  it('empties on clear', () => {
    const queue = new SendQueue(100);
    queue.push(frame(1, 10), FrameType.DELTA);
    queue.clear();
    expect(queue.bytes).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it('refuses a non-positive bound', () => {
    expect(() => new SendQueue(0)).toThrow(RangeError);
  });

  it('stays within its bound, keeps order and never loses a handshake frame (property)', () => {
    const type = fc.constantFrom<FrameTypeCode>(FrameType.DELTA, FrameType.DELTA, FrameType.SNAPSHOT, FrameType.PING, FrameType.HELLO);
    const op = fc.oneof(
      fc.record({ push: fc.constant(true as const), size: fc.integer({ min: 2, max: 120 }), type }),
      fc.record({ push: fc.constant(false as const) }),
    );
    const idOf = (bytes: Uint8Array): number => new DataView(bytes.buffer, bytes.byteOffset).getUint16(0);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const bound = 500;
        const queue = new SendQueue(bound);
        let pushed = 0;
        let dropped = 0;
        let handshakeBytes = 0;
        const accepted: number[] = [];
        const handshakeIds: number[] = [];
        const out: number[] = [];
        for (const o of ops) {
          if (o.push) {
            const id = pushed++;
            const bytes = new Uint8Array(o.size);
            new DataView(bytes.buffer).setUint16(0, id);
            const result = queue.push(bytes, o.type);
            if (result.accepted) accepted.push(id);
            if (o.type === FrameType.HELLO) {
              handshakeBytes += o.size;
              handshakeIds.push(id);
            }
            dropped += result.dropped;
          } else {
            const next = queue.shift();
            if (next !== undefined) out.push(idOf(next));
          }
          // Only handshake frames may take the queue past its bound.
          expect(queue.bytes).toBeLessThanOrEqual(bound + handshakeBytes);
        }
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) out.push(idOf(next));
        expect(out).toEqual([...out].sort((a, b) => a - b)); // FIFO among survivors
        expect(out.every((id) => accepted.includes(id))).toBe(true);
        expect(handshakeIds.every((id) => out.includes(id))).toBe(true);
        expect(out.length + dropped).toBe(pushed); // every frame is either delivered or counted as dropped
      }),
      fcParams(),
    );
  });
});
