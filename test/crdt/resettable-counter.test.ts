import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cellAbove, ResettableCounter } from '../../crdt/resettable-counter.js';
import { fcParams } from '../helpers/fc.js';

const REPLICAS = ['a#1', 'b#1', 'c#1', 'd#1'];
const GENS = [0, 5, 9];

const cellArb = fc.record({
  replica: fc.constantFrom(...REPLICAS),
  gen: fc.constantFrom(...GENS),
  count: fc.integer({ min: 0, max: 20 }),
});

/** A counter reachable by merging arbitrary cells. */
const counterArb: fc.Arbitrary<ResettableCounter> = fc.array(cellArb, { maxLength: 12 }).map((cells) => {
  const c = new ResettableCounter();
  for (const { replica, gen, count } of cells) c.mergeCell(replica, gen, count);
  return c;
});

const incrementArb = fc.record({
  replica: fc.constantFrom(...REPLICAS),
  gen: fc.constantFrom(...GENS),
  n: fc.integer({ min: 0, max: 5 }),
});

/** Order-independent view of a counter. */
function view(c: ResettableCounter): Array<[string, number, number]> {
  return [...c.cells].map(([r, cell]): [string, number, number] => [r, cell.gen, cell.count]).sort((x, y) => (x[0] < y[0] ? -1 : 1));
}

function merged(...cs: ResettableCounter[]): ResettableCounter {
  const out = new ResettableCounter();
  for (const c of cs) out.merge(c);
  return out;
}

describe('ResettableCounter', () => {
  it('is commutative: merge(x, y) equals merge(y, x)', () => {
    fc.assert(
      fc.property(counterArb, counterArb, (x, y) => {
        expect(view(merged(x, y))).toEqual(view(merged(y, x)));
      }),
      fcParams(500),
    );
  });

  it('is associative: merge(merge(x, y), z) equals merge(x, merge(y, z))', () => {
    fc.assert(
      fc.property(counterArb, counterArb, counterArb, (x, y, z) => {
        const left = merged(x, y);
        left.merge(z);
        const right = x.clone();
        right.merge(merged(y, z));
        expect(view(left)).toEqual(view(right));
      }),
      fcParams(500),
    );
  });

  it('is idempotent when a state is merged twice', () => {
    fc.assert(
      fc.property(counterArb, counterArb, (x, y) => {
        const once = merged(x, y);
        const twice = merged(x, y, y, x);
        expect(view(twice)).toEqual(view(once));
        const self = x.clone();
        expect([...x.cells].every(([r, c]) => !self.mergeCell(r, c.gen, c.count))).toBe(true);
        expect(view(self)).toEqual(view(x));
      }),
      fcParams(500),
    );
  });

  it('equals the mutated counter after merging the delta of the mutation', () => {
    fc.assert(
      fc.property(counterArb, fc.array(incrementArb, { maxLength: 10 }), counterArb, (x, increments, stale) => {
        const mutated = x.clone();
        const touched = new Set<string>();
        for (const { replica, gen, n } of increments) {
          mutated.increment(replica, gen, n);
          touched.add(replica);
        }
        const delta = mutated.delta(touched);
        // merge(x, delta) == mutate(x)
        const atPeer = x.clone();
        atPeer.merge(delta);
        expect(view(atPeer)).toEqual(view(mutated));
        // A peer that knew less ends at the join of what it knew and the mutation.
        const behind = stale.clone();
        behind.merge(x);
        behind.merge(delta);
        expect(view(behind)).toEqual(view(merged(stale, mutated)));
      }),
      fcParams(500),
    );
  });

  it('only ever moves a cell up in the join order', () => {
    fc.assert(
      fc.property(counterArb, fc.array(fc.oneof(incrementArb.map((i) => ({ ...i, op: 'inc' as const })), cellArb.map((c) => ({ ...c, op: 'merge' as const }))), { maxLength: 20 }), (x, ops) => {
        const c = x.clone();
        for (const op of ops) {
          const before = view(c);
          if (op.op === 'inc') c.increment(op.replica, op.gen, op.n);
          else c.mergeCell(op.replica, op.gen, op.count);
          for (const [r, gen, count] of before) {
            const now = c.cells.get(r);
            expect(now).toBeDefined();
            expect(now!.gen > gen || (now!.gen === gen && now!.count >= count)).toBe(true);
          }
        }
      }),
      fcParams(300),
    );
  });

  it('has a value that never decreases under merge within one generation', () => {
    const sameGen = (gen: number) =>
      fc.array(fc.record({ replica: fc.constantFrom(...REPLICAS), count: fc.integer({ min: 0, max: 20 }) }), { maxLength: 8 }).map((cells) => {
        const c = new ResettableCounter();
        for (const { replica, count } of cells) c.mergeCell(replica, gen, count);
        return c;
      });
    fc.assert(
      fc.property(fc.constantFrom(...GENS).chain((g) => fc.tuple(fc.constant(g), sameGen(g), sameGen(g))), ([gen, x, y]) => {
        const m = merged(x, y);
        expect(m.value(gen)).toBeGreaterThanOrEqual(x.value(gen));
        expect(m.value(gen)).toBeGreaterThanOrEqual(y.value(gen));
        let expected = 0;
        for (const r of REPLICAS) expected += Math.max(x.cells.get(r)?.count ?? 0, y.cells.get(r)?.count ?? 0);
        expect(m.value(gen)).toBe(expected);
      }),
      fcParams(500),
    );
  });

  it('sums only the cells counted under the given reset generation or later', () => {
    fc.assert(
      fc.property(counterArb, fc.constantFrom(0, ...GENS, 10), (x, resetGen) => {
        let expected = 0;
        for (const cell of x.cells.values()) if (cell.gen >= resetGen) expected += cell.count;
        expect(x.value(resetGen)).toBe(expected);
      }),
      fcParams(300),
    );
  });

  it('starts a cell over when a replica counts under a newer generation, and ignores an older one', () => {
    const c = new ResettableCounter();
    c.increment('a#1', 0, 5);
    c.increment('a#1', 0, 2);
    expect(c.cells.get('a#1')).toEqual({ gen: 0, count: 7 });
    c.increment('a#1', 9, 1);
    expect(c.cells.get('a#1')).toEqual({ gen: 9, count: 1 });
    c.increment('a#1', 5, 4);
    expect(c.cells.get('a#1')).toEqual({ gen: 9, count: 1 });
    expect(c.value(0)).toBe(1);
    expect(c.value(10)).toBe(0);
  });

  it('orders cells by generation first, then count', () => {
    expect(cellAbove(2, 0, 1, 100)).toBe(true);
    expect(cellAbove(1, 100, 2, 0)).toBe(false);
    expect(cellAbove(1, 3, 1, 2)).toBe(true);
    expect(cellAbove(1, 2, 1, 2)).toBe(false);
  });

  it('copies deeply on clone and delta', () => {
    const c = new ResettableCounter();
    c.increment('a#1', 0, 1);
    const copy = c.clone();
    const d = c.delta(['a#1', 'zz#1']);
    c.increment('a#1', 0, 1);
    expect(copy.cells.get('a#1')).toEqual({ gen: 0, count: 1 });
    expect(d.cells.get('a#1')).toEqual({ gen: 0, count: 1 });
    expect(d.cells.has('zz#1')).toBe(false);
  });
});
