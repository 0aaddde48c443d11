/**
 * The reference model of a window cell: a G-Counter cell per replica with a
 * floor (crdt/observed-remove-counter.ts). Join laws, delta-mutation, and
 * the observed-remove property: a reset hides exactly what its issuer had
 * observed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObservedRemoveCounter, visibleHits } from '../../crdt/observed-remove-counter.js';
import { fcParams } from '../helpers/fc.js';

const REPLICAS = ['a#1', 'b#1', 'c#1', 'd#1'];

/** A cell an honest state can hold: floor ≤ count. */
const cellArb = fc
  .record({ replica: fc.constantFrom(...REPLICAS), count: fc.integer({ min: 0, max: 20 }), hidden: fc.integer({ min: 0, max: 20 }) })
  .map(({ replica, count, hidden }) => ({ replica, count, floor: Math.min(count, hidden) }));

/** A counter reachable by merging arbitrary honest cells. */
const counterArb: fc.Arbitrary<ObservedRemoveCounter> = fc.array(cellArb, { maxLength: 12 }).map((cells) => {
  const c = new ObservedRemoveCounter();
  for (const { replica, count, floor } of cells) c.mergeCell(replica, count, floor);
  return c;
});

/** A local mutation: an increment of a replica's own cell, or a reset issued here. */
const mutationArb = fc.oneof(
  fc.record({ op: fc.constant('inc' as const), replica: fc.constantFrom(...REPLICAS), n: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ op: fc.constant('reset' as const) }),
);

/** Order-independent view of a counter. */
function view(c: ObservedRemoveCounter): Array<[string, number, number]> {
  return [...c.cells].map(([r, cell]): [string, number, number] => [r, cell.count, cell.floor]).sort((x, y) => (x[0] < y[0] ? -1 : 1));
}

function merged(...cs: ObservedRemoveCounter[]): ObservedRemoveCounter {
  const out = new ObservedRemoveCounter();
  for (const c of cs) out.merge(c);
  return out;
}

describe('ObservedRemoveCounter', () => {
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
        expect(view(merged(x, y, y, x))).toEqual(view(merged(x, y)));
        const self = x.clone();
        expect([...x.cells].every(([r, c]) => !self.mergeCell(r, c.count, c.floor))).toBe(true);
        expect(view(self)).toEqual(view(x));
      }),
      fcParams(500),
    );
  });

  it('equals the mutated counter after merging the delta of the mutation, resets included', () => {
    fc.assert(
      fc.property(counterArb, fc.array(mutationArb, { maxLength: 10 }), counterArb, (x, mutations, stale) => {
        const mutated = x.clone();
        const touched = new Set<string>();
        for (const m of mutations) {
          if (m.op === 'inc') {
            mutated.increment(m.replica, m.n);
            touched.add(m.replica);
          } else {
            mutated.reset();
            for (const r of mutated.cells.keys()) touched.add(r);
          }
        }
        const delta = mutated.delta(touched);
        // merge(x, delta) == mutate(x)
        const atPeer = x.clone();
        atPeer.merge(delta);
        expect(view(atPeer)).toEqual(view(mutated));
        expect(atPeer.value()).toBe(mutated.value());
        // A peer that knew less ends at the join of what it knew and the mutation.
        const behind = stale.clone();
        behind.merge(x);
        behind.merge(delta);
        expect(view(behind)).toEqual(view(merged(stale, mutated)));
      }),
      fcParams(500),
    );
  });

  it('only ever raises counts and floors, and keeps floor ≤ count', () => {
    fc.assert(
      fc.property(counterArb, fc.array(fc.oneof(mutationArb, cellArb.map((c) => ({ ...c, op: 'merge' as const }))), { maxLength: 20 }), (x, ops) => {
        const c = x.clone();
        for (const op of ops) {
          const before = view(c);
          if (op.op === 'inc') c.increment(op.replica, op.n);
          else if (op.op === 'reset') c.reset();
          else c.mergeCell(op.replica, op.count, op.floor);
          for (const [r, count, floor] of before) {
            const now = c.cells.get(r)!;
            expect(now.count).toBeGreaterThanOrEqual(count);
            expect(now.floor).toBeGreaterThanOrEqual(floor);
          }
          for (const cell of c.cells.values()) expect(cell.floor).toBeLessThanOrEqual(cell.count);
        }
      }),
      fcParams(300),
    );
  });

  it('hides on reset exactly the hits the issuer had observed: each peer ends with what the issuer had not seen', () => {
    // Each replica's hits, of which the issuer saw a prefix (a G-Counter cell
    // anywhere is a prefix of its owner's count); after the join, a replica
    // shows exactly its hits past that prefix.
    const scenarioArb = fc.array(
      fc.record({ replica: fc.constantFrom(...REPLICAS), before: fc.integer({ min: 0, max: 10 }), seen: fc.integer({ min: 0, max: 10 }), after: fc.integer({ min: 0, max: 10 }) }),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(scenarioArb, (rows) => {
        const owners = new Map<string, ObservedRemoveCounter>();
        const issuer = new ObservedRemoveCounter();
        const seenBy = new Map<string, number>();
        for (const { replica, before, seen, after } of rows) {
          let own = owners.get(replica);
          if (own === undefined) owners.set(replica, (own = new ObservedRemoveCounter()));
          own.increment(replica, before);
          // The issuer hears part of it: at most what was counted.
          const part = Math.min(seen, own.cells.get(replica)!.count);
          if (part > (seenBy.get(replica) ?? 0)) {
            issuer.mergeCell(replica, part, 0);
            seenBy.set(replica, part);
          }
          own.increment(replica, after);
        }
        issuer.reset();
        const all = merged(issuer, ...owners.values());
        for (const [replica, own] of owners) {
          const cell = all.cells.get(replica)!;
          expect(visibleHits(cell.count, cell.floor)).toBe(own.cells.get(replica)!.count - (seenBy.get(replica) ?? 0));
        }
      }),
      fcParams(300),
    );
  });

  it('hides nothing of a replica the issuer never heard of (a restarted node’s new incarnation)', () => {
    const b = new ObservedRemoveCounter();
    b.mergeCell('a#1', 5, 0);
    b.reset();
    b.increment('b#1', 2);
    const a2 = new ObservedRemoveCounter();
    a2.increment('a#2', 30);
    expect(merged(b, a2).value()).toBe(32);
    expect(merged(a2, b).value()).toBe(32);
  });

  it('shows a floor that arrives before its count as 0 visible, and the rest once the count comes', () => {
    const c = new ObservedRemoveCounter();
    c.mergeCell('a#1', 0, 0);
    c.mergeCell('a#1', 4, 4); // the issuer's view, ahead of this copy's
    expect(c.value()).toBe(0);
    c.mergeCell('a#1', 6, 0);
    expect(c.value()).toBe(2);
    expect(visibleHits(3, 5)).toBe(0);
  });

  it('copies deeply on clone and delta', () => {
    const c = new ObservedRemoveCounter();
    c.increment('a#1', 1);
    const copy = c.clone();
    const d = c.delta(['a#1', 'zz#1']);
    c.increment('a#1', 1);
    c.reset();
    expect(copy.cells.get('a#1')).toEqual({ count: 1, floor: 0 });
    expect(d.cells.get('a#1')).toEqual({ count: 1, floor: 0 });
    expect(d.cells.has('zz#1')).toBe(false);
  });
});
