import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CLOCK_OFFSET_MS, encodeHlc, Hlc, LOGICAL_SPAN, logicalOf, wallOf } from '../../crdt/hlc.js';
import { fcParams } from '../helpers/fc.js';

type Event =
  | { kind: 'tick'; dPhys: number }
  | { kind: 'receive'; dPhys: number; remoteOffset: number; remoteLogical: number; relayedLead: number };

/** Physical time mostly moves forward, sometimes stands still or steps back. */
const dPhysArb = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 50 }) },
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: -300, max: -1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
);

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('tick' as const), dPhys: dPhysArb }),
  fc.record({
    kind: fc.constant('receive' as const),
    dPhys: dPhysArb,
    // Remote HLCs behind, equal, slightly ahead and too far ahead (the bounds of the default offset: 500 and 1000).
    remoteOffset: fc.oneof(fc.integer({ min: -2_000, max: 3_000 }), fc.constantFrom(0, 1, -1, 500, 501, 1_000, 1_001, 1_500, 1_501)),
    remoteLogical: fc.oneof(fc.integer({ min: 0, max: LOGICAL_SPAN - 1 }), fc.constantFrom(0, LOGICAL_SPAN - 1)),
    // How far the remote HLC leads the sender's own clock: its own time, or time relayed from further ahead.
    relayedLead: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2_500 }), fc.constantFrom(1_000, 1_001)),
  }),
);

const startArb = fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }));
const offsetArb = fc.oneof(fc.constant(DEFAULT_MAX_CLOCK_OFFSET_MS), fc.integer({ min: 0, max: 1_000 }));

describe('Hlc', () => {
  it('encodes (wall, logical) so that number order is lexicographic order', () => {
    const part = fc.record({ wall: fc.integer({ min: 0, max: 2 ** 42 }), logical: fc.integer({ min: 0, max: LOGICAL_SPAN - 1 }) });
    fc.assert(
      fc.property(part, part, (a, b) => {
        const ea = encodeHlc(a.wall, a.logical);
        const eb = encodeHlc(b.wall, b.logical);
        const lex = a.wall - b.wall || a.logical - b.logical;
        expect(Math.sign(ea - eb)).toBe(Math.sign(lex));
        expect(wallOf(ea)).toBe(a.wall);
        expect(logicalOf(ea)).toBe(a.logical);
        expect(Number.isSafeInteger(ea)).toBe(true);
      }),
      fcParams(1000),
    );
  });

  it('keeps every rule over random ticks and receives with a wandering physical clock', () => {
    fc.assert(
      fc.property(startArb, offsetArb, fc.array(eventArb, { minLength: 1, maxLength: 200 }), (start, maxOffsetMs, events) => {
        const clock = new Hlc({ maxOffsetMs });
        let phys = start;
        let maxPhys = -Infinity;
        let n = 0;
        for (const ev of events) {
          phys = Math.max(0, phys + ev.dPhys);
          const before = clock.last;
          maxPhys = Math.max(maxPhys, phys);
          n++;
          if (ev.kind === 'tick') {
            const ts = clock.tick(phys);
            expect(ts).toBeGreaterThan(before);
            expect(ts).toBe(clock.last);
            expect(wallOf(ts)).toBeGreaterThanOrEqual(phys);
          } else {
            const remoteWall = Math.max(0, phys + ev.remoteOffset);
            const remote = encodeHlc(remoteWall, ev.remoteLogical);
            const senderPhys = remoteWall - ev.relayedLead;
            const verdict = clock.receive(remote, senderPhys, phys);
            // The rule of docs/window-math.md, restated: wall parts against the two bounds.
            const expected =
              senderPhys - phys > maxOffsetMs
                ? 'sender-clock-ahead'
                : remoteWall - senderPhys > 2 * maxOffsetMs
                  ? 'hlc-ahead-of-sender'
                  : remoteWall - phys > 2 * maxOffsetMs
                    ? 'hlc-beyond-bound'
                    : 'accepted';
            expect(verdict).toBe(expected);
            if (verdict !== 'accepted') {
              expect(clock.last).toBe(before);
            } else {
              expect(clock.last).toBeGreaterThan(before);
              expect(clock.last).toBeGreaterThan(remote);
              expect(wallOf(clock.last)).toBeGreaterThanOrEqual(phys);
            }
          }
          expect(logicalOf(clock.last)).toBeLessThan(LOGICAL_SPAN);
          // The wall part stays within the largest physical time seen plus the
          // lead bound (2 · maxOffsetMs), plus the borrow: one ms per LOGICAL_SPAN
          // events, and one more when adopting a remote counter already at LOGICAL_SPAN − 1.
          expect(wallOf(clock.last)).toBeLessThanOrEqual(maxPhys + 2 * maxOffsetMs + 1 + Math.floor(n / LOGICAL_SPAN));
          expect(clock.offsetOf(clock.last, phys)).toBe(wallOf(clock.last) - phys);
        }
      }),
      fcParams(300),
    );
  });

  it('never runs ahead of physical time on ticks alone, except by the borrow', () => {
    fc.assert(
      fc.property(startArb, fc.array(dPhysArb, { minLength: 1, maxLength: 3000 }), (start, steps) => {
        const clock = new Hlc();
        let phys = start;
        let maxPhys = -Infinity;
        let prev = clock.last;
        steps.forEach((d, i) => {
          phys = Math.max(0, phys + d);
          maxPhys = Math.max(maxPhys, phys);
          const ts = clock.tick(phys);
          expect(ts).toBeGreaterThan(prev);
          expect(wallOf(ts)).toBeLessThanOrEqual(maxPhys + Math.floor((i + 1) / LOGICAL_SPAN));
          prev = ts;
        });
      }),
      fcParams(50),
    );
  });

  it('borrows the next millisecond after LOGICAL_SPAN events in one millisecond', () => {
    const clock = new Hlc();
    const stamps = Array.from({ length: 3 * LOGICAL_SPAN }, () => clock.tick(1_000));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBe(stamps[i - 1] + 1);
    expect(wallOf(stamps[0])).toBe(1_000);
    expect(logicalOf(stamps[LOGICAL_SPAN - 1])).toBe(LOGICAL_SPAN - 1);
    expect(wallOf(stamps[LOGICAL_SPAN])).toBe(1_001);
    expect(logicalOf(stamps[LOGICAL_SPAN])).toBe(0);
    expect(wallOf(clock.last)).toBe(1_002);
  });

  it('refuses a sender whose own clock runs more than maxOffsetMs ahead and leaves the clock untouched', () => {
    const clock = new Hlc({ maxOffsetMs: 500 });
    const last = clock.tick(10_000);
    expect(clock.receive(encodeHlc(10_501, 0), 10_501, 10_000)).toBe('sender-clock-ahead');
    expect(clock.last).toBe(last);
    expect(clock.receive(encodeHlc(10_500, 7), 10_500, 10_000)).toBe('accepted');
    expect(clock.last).toBe(encodeHlc(10_500, 8));
    // Later ticks stay ahead of the adopted remote time while physical time catches up.
    expect(clock.tick(10_100)).toBe(encodeHlc(10_500, 9));
    expect(clock.tick(10_600)).toBe(encodeHlc(10_600, 0));
  });

  it('runs one ms past the lead bound when it adopts a remote counter at LOGICAL_SPAN − 1 there', () => {
    // The remote's 1023 events and this receive are 1024 events in one ms: the borrow.
    const clock = new Hlc({ maxOffsetMs: 500 });
    expect(clock.maxLeadMs).toBe(1_000);
    expect(clock.receive(encodeHlc(2_000, LOGICAL_SPAN - 1), 1_500, 1_000)).toBe('accepted');
    expect(clock.last).toBe(encodeHlc(2_001, 0));
  });

  it('uses 500 ms as the default offset bound', () => {
    expect(new Hlc().maxOffsetMs).toBe(500);
    expect(DEFAULT_MAX_CLOCK_OFFSET_MS).toBe(500);
  });

  it('moves past a remote timestamp with the same wall time', () => {
    const clock = new Hlc();
    clock.tick(5_000); // (5000, 0)
    expect(clock.receive(encodeHlc(5_000, 40), 5_000, 4_990)).toBe('accepted');
    expect(clock.last).toBe(encodeHlc(5_000, 41));
    expect(clock.receive(encodeHlc(4_000, 900), 4_000, 4_995)).toBe('accepted');
    expect(clock.last).toBe(encodeHlc(5_000, 42));
  });

  it('reports the later of physical time and its own wall part as the bucket time', () => {
    const clock = new Hlc();
    expect(clock.wall(123)).toBe(123);
    clock.receive(encodeHlc(2_400, 0), 2_400, 2_000);
    expect(clock.wall(2_000)).toBe(2_400);
    expect(clock.wall(2_500)).toBe(2_500);
    // wall() is not an event
    expect(clock.last).toBe(encodeHlc(2_400, 1));
  });
});
