/**
 * The limit register in DIGEST entries (issue 10, defect 10): a fifth
 * element `[hlc, replica, limit]`, present only when a runtime change set
 * the register; four-element entries still decode.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError } from '../../../transport/codec/codec.js';
import { FrameType, type Frame, type WindowDigest } from '../../../transport/codec/frame.js';
import { toWire } from '../../../transport/codec/frame-schema.js';

const packr = new Packr({ useRecords: false });
const digestFrame = (digests: WindowDigest[]): Frame => ({ type: FrameType.DIGEST, hlc: 1, body: { digests } }) as Frame;

/** The frame's wire array with its DIGEST entries replaced (the body is the last element). */
function withEntries(entries: unknown[]): Uint8Array {
  const wire = toWire(digestFrame([]));
  wire[wire.length - 1] = [entries];
  return packr.pack(wire);
}

describe('DIGEST limit register', () => {
  it('round-trips a digest entry with a limit register, and one without (no fifth element)', () => {
    const withLimit: WindowDigest = { name: 'api', from: 1, to: 3, shards: [7, 8], limit: [123, 'a#1', 5] };
    const without: WindowDigest = { name: 'other', from: 1, to: 3, shards: [7, 8] };
    const decoded = decodeFrame(encodeFrame(digestFrame([withLimit, without])));
    expect(decoded.body).toEqual({ digests: [withLimit, without] });
    const wire = toWire(digestFrame([withLimit, without]));
    const entries = (wire[wire.length - 1] as unknown[][])[0] as unknown[][];
    expect(entries.map((e) => e.length)).toEqual([5, 4]);
  });

  it('decodes an entry without shards that carries only the register', () => {
    const only: WindowDigest = { name: 'api', from: 9, to: 9, shards: [], limit: [123, 'a#1', 5] };
    expect(decodeFrame(encodeFrame(digestFrame([only]))).body).toEqual({ digests: [only] });
  });

  it.each([
    ['a register of two elements', [123, 'a#1']],
    ['an empty replica id', [123, '', 5]],
    ['a negative limit', [123, 'a#1', -1]],
    ['a string timestamp', ['123', 'a#1', 5]],
  ])("refuses %s with 'malformed', naming the field", (_name, limit) => {
    let err: unknown;
    try {
      decodeFrame(withEntries([['api', 1, 3, [7], limit]]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).reason).toBe('malformed');
    expect((err as FrameError).message).toContain('digest.digests[0].limit');
  });

  it('refuses an entry of six elements', () => {
    expect(() => decodeFrame(withEntries([['api', 1, 3, [7], null, 0]]))).toThrow(FrameError);
  });
});
