/**
 * Relayed cells in deltas (issue 10, defect 11): what a merge changed joins
 * the next delta as current values, so a replica that reaches two others
 * that cannot reach each other carries each one's cells to the other; what
 * changed nothing is not relayed, so nothing echoes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RELAY_CELLS } from '../../crdt/window-cells.js';
import { SlidingWindow } from '../../crdt/sliding-window.js';
import { fcParams } from '../helpers/fc.js';
import { stateView, windowView } from '../helpers/cells.js';

const T = 1_800_000_000_000;
const make = (id: string, buckets = 10) => new SlidingWindow({ windowMs: 10_000, buckets, replicaId: id });
const hit = (w: SlidingWindow, key: string, cost: number, t: number) => w.decide(key, cost, 1_000_000, t, true);

describe('relayed cells in deltas', () => {
  it('relays the cells of other replicas that a merge changed, with their current values', () => {
    const a = make('a#1');
    const b = make('b#1');
    hit(a, 'k', 3, T);
    b.merge(a.drainDelta(T)!, T);
    hit(b, 'k', 2, T);
    const delta = b.drainDelta(T)!;
    expect(stateView(delta).k.map((c) => [c.replica, c.count]).sort()).toEqual([
      ['a#1', 3],
      ['b#1', 2],
    ]);
    expect(delta.replicas[0]).toBe('b#1'); // own cells first in the table, as ever
    expect(b.drainDelta(T)).toBeNull(); // drained
  });

  it('relays nothing for a merge that changed nothing, so a relayed cell does not come back', () => {
    const a = make('a#1');
    const b = make('b#1');
    hit(a, 'k', 3, T);
    const delta = a.drainDelta(T)!;
    b.merge(delta, T);
    const relayed = b.drainDelta(T)!;
    expect(a.merge(relayed, T)).toBe(0); // a already holds its own cell
    expect(a.drainDelta(T)).toBeNull();
    b.merge(delta, T); // a duplicate
    expect(b.drainDelta(T)).toBeNull();
  });

  it('relays a reset it merged (the floors it raised), whatever replica the cells belong to', () => {
    const a = make('a#1');
    const b = make('b#1');
    const c = make('c#1');
    hit(a, 'k', 3, T);
    const first = a.drainDelta(T)!;
    b.merge(first, T);
    c.merge(first, T);
    b.drainDelta(T);
    c.drainDelta(T);
    expect(a.reset('k')).toBe(true);
    // Even with a targeting predicate that relays none of a's cells, a raised floor is relayed.
    b.merge(a.drainDelta(T)!, T, () => false);
    c.merge(b.drainDelta(T)!, T);
    expect(c.count('k', T)).toBe(0);
  });

  it('does not relay what a snapshot chunk brought', () => {
    const a = make('a#1');
    const b = make('b#1');
    hit(a, 'k', 3, T);
    b.merge(a.snapshot(T).state, T, false);
    expect(b.drainDelta(T)).toBeNull();
  });

  it('forgets the relays with the pending changes when there is no one to send them to', () => {
    const a = make('a#1');
    const b = make('b#1');
    hit(a, 'k', 3, T);
    b.merge(a.drainDelta(T)!, T);
    b.discardDelta(T);
    expect(b.drainDelta(T)).toBeNull();
  });

  it('relays whole keys past MAX_RELAY_CELLS changed cells, and loses none', () => {
    const a = make('a#1', 1);
    const b = make('b#1', 1);
    const c = make('c#1', 1);
    const n = MAX_RELAY_CELLS + 10;
    for (let i = 0; i < n; i++) hit(a, `k${i}`, 1, T);
    b.merge(a.drainDelta(T)!, T);
    c.merge(b.drainDelta(T)!, T);
    expect(c.size).toBe(n);
    expect(c.count(`k${n - 1}`, T)).toBe(1);
  });

  it('brings a line a – b – c to the same cells through b alone, and then goes quiet (property)', () => {
    const op = fc.record({ node: fc.constantFrom(0, 1, 2), key: fc.constantFrom('x', 'y', 'z'), cost: fc.integer({ min: 1, max: 3 }), dt: fc.integer({ min: 0, max: 700 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), fc.constantFrom(1, 2, 10), (ops, buckets) => {
        const [a, b, c] = [make('a#1', buckets), make('b#1', buckets), make('c#1', buckets)];
        let t = T;
        // One gossip round: each sends its delta to its neighbours on the line (a and c never meet).
        const round = () => {
          const da = a.drainDelta(t);
          const dc = c.drainDelta(t);
          if (da) b.merge(da, t);
          if (dc) b.merge(dc, t);
          const db = b.drainDelta(t);
          if (db) {
            a.merge(db, t);
            c.merge(db, t);
          }
        };
        for (const { node, key, cost, dt } of ops) {
          t += dt;
          hit([a, b, c][node], key, cost, t);
          round();
        }
        round();
        round();
        const keys = ['x', 'y', 'z'];
        expect(windowView(a, keys, t)).toEqual(windowView(b, keys, t));
        expect(windowView(c, keys, t)).toEqual(windowView(b, keys, t));
        // Quiet: nothing changed, so nothing is relayed.
        expect([a.drainDelta(t), b.drainDelta(t), c.drainDelta(t)]).toEqual([null, null, null]);
      }),
      fcParams(200),
    );
  });
});
