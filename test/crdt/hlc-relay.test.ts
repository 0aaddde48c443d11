/**
 * The clock bound through relays (issue 10, defect 12): a receiver judges a
 * sender by the sender's own physical clock, carried in every frame; the HLC
 * it relays is merged, bounded by the receiver's own clock plus twice the
 * offset bound. See docs/window-math.md, "Time: the hybrid logical clock".
 */
import { describe, expect, it } from 'vitest';
import { encodeHlc, Hlc, LOGICAL_SPAN, wallOf } from '../../crdt/hlc.js';

const MAX = 500;
const T = 1_700_000_000_000;

describe('Hlc.receive judges the sender by its own clock', () => {
  it('accepts a sender exactly maxOffsetMs ahead whose HLC counter is at LOGICAL_SPAN − 1', () => {
    const clock = new Hlc({ maxOffsetMs: MAX });
    expect(clock.receive(encodeHlc(T + MAX, LOGICAL_SPAN - 1), T + MAX, T)).toBe('accepted');
    expect(clock.last).toBe(encodeHlc(T + MAX + 1, 0)); // the borrow: the remote's 1023 events and this one
  });

  it("accepts that sender's next timestamp, whose wall part borrowed to +501, while its own clock is at +500", () => {
    const clock = new Hlc({ maxOffsetMs: MAX });
    expect(clock.receive(encodeHlc(T + MAX + 1, 0), T + MAX, T)).toBe('accepted');
  });

  it('refuses a sender whose own clock runs maxOffsetMs + 1 ahead, and leaves the clock untouched', () => {
    const clock = new Hlc({ maxOffsetMs: MAX });
    const before = clock.tick(T);
    expect(clock.receive(encodeHlc(T + MAX + 1, 0), T + MAX + 1, T)).toBe('sender-clock-ahead');
    expect(clock.last).toBe(before);
  });

  it('accepts an HLC relayed from a +450 node through a 0 node to a −100 node', () => {
    const fast = new Hlc({ maxOffsetMs: MAX });
    const middle = new Hlc({ maxOffsetMs: MAX });
    const slow = new Hlc({ maxOffsetMs: MAX });
    const fromFast = fast.tick(T + 450);
    expect(middle.receive(fromFast, T + 450, T)).toBe('accepted');
    const fromMiddle = middle.tick(T);
    expect(wallOf(fromMiddle)).toBe(T + 450); // the middle node adopted the fast node's wall time
    expect(slow.receive(fromMiddle, T, T - 100)).toBe('accepted');
    expect(wallOf(slow.last)).toBe(T + 450);
    // And back: the slow node now relays +450 while its own clock reads −100.
    const fromSlow = slow.tick(T - 100);
    expect(middle.receive(fromSlow, T - 100, T)).toBe('accepted');
  });

  it('refuses an HLC more than 2·maxOffsetMs ahead of the sender’s own (honest) clock', () => {
    const clock = new Hlc({ maxOffsetMs: MAX });
    const before = clock.tick(T);
    expect(clock.receive(encodeHlc(T + 3_600_000, 0), T, T)).toBe('hlc-ahead-of-sender');
    expect(clock.receive(encodeHlc(T + 2 * MAX + 1, 0), T, T)).toBe('hlc-ahead-of-sender');
    expect(clock.last).toBe(before);
    expect(clock.receive(encodeHlc(T + 2 * MAX, LOGICAL_SPAN - 1), T, T)).toBe('accepted');
  });

  it('adopts no HLC more than 2·maxOffsetMs ahead of its own clock, whatever the sender states', () => {
    const clock = new Hlc({ maxOffsetMs: MAX });
    const before = clock.tick(T);
    // A sender that claims a clock maxOffsetMs ahead may hold an HLC 2·maxOffsetMs ahead of that: 3·maxOffsetMs of ours.
    expect(clock.receive(encodeHlc(T + 3 * MAX, 0), T + MAX, T)).toBe('hlc-beyond-bound');
    expect(clock.receive(encodeHlc(T + 2 * MAX + 1, 0), T + MAX, T)).toBe('hlc-beyond-bound');
    expect(clock.last).toBe(before);
    expect(clock.receive(encodeHlc(T + 2 * MAX, 7), T + MAX, T)).toBe('accepted');
    expect(wallOf(clock.last)).toBe(T + 2 * MAX);
  });
});
