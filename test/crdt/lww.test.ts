import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lwwWins, mergeLww, type LwwRegister } from '../../crdt/lww.js';
import { fcParams } from '../helpers/fc.js';

/**
 * Writes as replicas make them: (ts, replica) identifies a write (an HLC never
 * issues one timestamp twice), so the value is a function of the pair.
 */
const writeArb: fc.Arbitrary<LwwRegister<string>> = fc
  .record({ ts: fc.integer({ min: 0, max: 6 }), replica: fc.constantFrom('a#1', 'b#1', 'b#2', 'c#1') })
  .map(({ ts, replica }) => ({ ts, replica, value: `${replica}@${ts}` }));

const regArb: fc.Arbitrary<LwwRegister<string> | null> = fc.option(writeArb, { nil: null, freq: 5 });

describe('LWW register', () => {
  it('is commutative', () => {
    fc.assert(
      fc.property(regArb, regArb, (a, b) => {
        expect(mergeLww(a, b)).toEqual(mergeLww(b, a));
      }),
      fcParams(1000),
    );
  });

  it('is associative', () => {
    fc.assert(
      fc.property(regArb, regArb, regArb, (a, b, c) => {
        expect(mergeLww(mergeLww(a, b), c)).toEqual(mergeLww(a, mergeLww(b, c)));
      }),
      fcParams(1000),
    );
  });

  it('is idempotent, with the empty register as identity', () => {
    fc.assert(
      fc.property(regArb, (a) => {
        expect(mergeLww(a, a)).toEqual(a);
        expect(mergeLww(a, null)).toEqual(a);
        expect(mergeLww(null, a)).toEqual(a);
      }),
      fcParams(500),
    );
  });

  it('keeps the write with the largest timestamp', () => {
    fc.assert(
      fc.property(fc.array(writeArb, { minLength: 1, maxLength: 10 }), (writes) => {
        const winner = writes.reduce<LwwRegister<string> | null>((acc, w) => mergeLww(acc, w), null) as LwwRegister<string>;
        const maxTs = Math.max(...writes.map((w) => w.ts));
        expect(winner.ts).toBe(maxTs);
        const top = writes.filter((w) => w.ts === maxTs).map((w) => w.replica).sort();
        expect(winner.replica).toBe(top[top.length - 1]);
      }),
      fcParams(500),
    );
  });

  it('breaks a timestamp tie by the larger replica id', () => {
    const a = { ts: 7, replica: 'a#1', value: 1 };
    const b = { ts: 7, replica: 'b#1', value: 2 };
    expect(mergeLww(a, b)).toBe(b);
    expect(mergeLww(b, a)).toBe(b);
    expect(lwwWins(b, a)).toBe(true);
    expect(lwwWins(a, b)).toBe(false);
    expect(lwwWins(a, a)).toBe(false);
    expect(lwwWins(a, null)).toBe(true);
    expect(lwwWins({ ts: 8, replica: 'a#0', value: 0 }, b)).toBe(true);
  });
});
