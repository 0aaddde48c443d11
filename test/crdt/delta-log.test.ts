import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BATCH_CELL_BUCKET, BATCH_CELL_REPLICA, BATCH_CELL_STRIDE, type CellBatch } from '../../crdt/cell-batch.js';
import { DeltaLog } from '../../crdt/delta-log.js';
import { mergeLww, type LwwRegister } from '../../crdt/lww.js';
import { SlidingWindow } from '../../crdt/sliding-window.js';
import { copyState, stateView, windowView } from '../helpers/cells.js';
import { fcParams } from '../helpers/fc.js';
import { ReplicaSim, type SimOp } from '../helpers/replica-sim.js';

const KEYS = ['k0', 'k1', 'k2', 'k3'];
const SHAPE = { windowMs: 1_000, buckets: 10 };

/** Every state a few replicas produce (drained deltas and snapshot chunks) over a short random run. */
const statesArb: fc.Arbitrary<{ states: CellBatch[]; t: number }> = fc
  .array(
    fc.oneof(
      fc.record({ kind: fc.constant('consume' as const), replica: fc.integer({ min: 0, max: 2 }), key: fc.constantFrom(...KEYS), cost: fc.integer({ min: 1, max: 3 }), dt: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('reset' as const), replica: fc.integer({ min: 0, max: 2 }), key: fc.constantFrom(...KEYS), dt: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('drain' as const), replica: fc.integer({ min: 0, max: 2 }), dt: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('snapshot' as const), replica: fc.integer({ min: 0, max: 2 }), maxKeys: fc.integer({ min: 1, max: 3 }), dt: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('deliver' as const), to: fc.integer({ min: 0, max: 2 }), pick: fc.nat(), dt: fc.integer({ min: 0, max: 40 }) }),
    ) as fc.Arbitrary<SimOp>,
    { maxLength: 60 },
  )
  .map((ops) => {
    const sim = new ReplicaSim({ ...SHAPE, limit: 20, skews: [0, 30, 60], start: 1_700_000_000_000 });
    for (const op of ops) sim.apply(op);
    for (const [i, w] of sim.windows.entries()) {
      const d = w.drainDelta(sim.timeOf(i));
      if (d !== null) sim.pool.push(copyState(d));
    }
    return { states: sim.pool, t: sim.horizon };
  });

function windowOf(states: CellBatch[], t: number): SlidingWindow {
  const w = new SlidingWindow({ ...SHAPE, replicaId: 'observer#1' });
  for (const s of states) w.merge(copyState(s), t);
  return w;
}

function distinctCells(states: CellBatch[]): number {
  const seen = new Set<string>();
  for (const s of states) {
    for (const [key, flat] of s.keys) {
      for (let i = 0; i < flat.length; i += BATCH_CELL_STRIDE) {
        seen.add(`${key}|${flat[i + BATCH_CELL_BUCKET]}|${s.replicas[flat[i + BATCH_CELL_REPLICA]]}`);
      }
    }
  }
  return seen.size;
}

describe('DeltaLog', () => {
  it('keeps the join of everything added: draining it equals merging every part directly', () => {
    fc.assert(
      fc.property(statesArb, ({ states, t }) => {
        const log = new DeltaLog();
        for (const s of states) log.add('api', copyState(s));
        expect(log.cells).toBe(distinctCells(states));
        const drained = log.drain();
        expect(drained.every((d) => d.limiter === 'api')).toBe(true);
        const viaLog = windowOf(
          drained.map((d) => d.state),
          t,
        );
        const direct = windowOf(states, t);
        expect(windowView(viaLog, KEYS, t)).toEqual(windowView(direct, KEYS, t));
        for (const key of KEYS) expect(viaLog.count(key, t)).toBeCloseTo(direct.count(key, t), 9);
      }),
      fcParams(150),
    );
  });

  it('holds one cell per (key, bucket, replica) however often it changes, with its latest value', () => {
    const log = new DeltaLog();
    for (let n = 1; n <= 100; n++) log.add('api', { replicas: ['a#1'], keys: [['k', [7, 0, 0, n]]] });
    // a stale, smaller value arriving late does not win
    log.add('api', { replicas: ['a#1'], keys: [['k', [7, 0, 0, 3]]] });
    expect(log.cells).toBe(1);
    const [{ state }] = log.drain();
    expect(stateView(state)).toEqual({ k: [{ bucket: 7, replica: 'a#1', floor: 0, count: 100 }] });
  });

  it('keeps the join of a cell’s count and floor, each the highest added', () => {
    const log = new DeltaLog();
    log.add('api', { replicas: ['a#1'], keys: [['k', [1, 0, 0, 5]]] });
    log.add('api', { replicas: ['a#1'], keys: [['k', [1, 0, 3, 3]]] });
    log.add('api', { replicas: ['a#1'], keys: [['j', [1, 0, 0, 2]]] });
    const [{ state }] = log.drain();
    expect(stateView(state)).toEqual({
      k: [{ bucket: 1, replica: 'a#1', floor: 3, count: 5 }],
      j: [{ bucket: 1, replica: 'a#1', floor: 0, count: 2 }],
    });
  });

  it('drops every cell of buckets below the prune point, and only of that limiter', () => {
    const log = new DeltaLog();
    for (let b = 1; b <= 10; b++) {
      log.add('api', { replicas: ['a#1', 'b#1'], keys: [['k', [b, 0, 0, b, b, 1, 0, 1]]] });
      log.add('other', { replicas: ['a#1'], keys: [['k', [b, 0, 0, b]]] });
    }
    expect(log.cells).toBe(30);
    log.prune('api', 6);
    expect(log.cells).toBe(10 + 10);
    log.prune('missing', 100);
    const out = new Map(log.drain().map((d) => [d.limiter, stateView(d.state)]));
    expect(out.get('api')?.k.map((c) => c.bucket)).toEqual([6, 6, 7, 7, 8, 8, 9, 9, 10, 10]);
    expect(out.get('other')?.k).toHaveLength(10);
  });

  it('has nothing to send once every cell was pruned, resets included (they are floors of those cells)', () => {
    const log = new DeltaLog();
    log.add('api', { replicas: ['a#1'], keys: [['k', [1, 0, 0, 2]]] });
    log.prune('api', 5);
    expect(log.cells).toBe(0);
    expect(log.empty).toBe(true);
    expect(log.drain()).toEqual([]);
    log.add('api', { replicas: ['a#1'], keys: [['k', [1, 0, 2, 2]]] });
    log.prune('api', 5);
    expect(log.empty).toBe(true);
  });

  it('is empty after a drain or a clear', () => {
    const log = new DeltaLog();
    expect(log.empty).toBe(true);
    log.add('api', { replicas: ['a#1'], keys: [['k', [1, 0, 0, 2]]] });
    expect(log.empty).toBe(false);
    expect(log.drain()).toHaveLength(1);
    expect(log.empty).toBe(true);
    expect(log.cells).toBe(0);
    expect(log.drain()).toEqual([]);
    log.add('api', { replicas: ['a#1'], keys: [['k', [1, 0, 0, 2]]] });
    log.clear();
    expect(log.empty).toBe(true);
    expect(log.cells).toBe(0);
  });

  it('round-trips a replica’s drained deltas into a window equal to merging them directly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.constantFrom(...KEYS), cost: fc.integer({ min: 1, max: 3 }), dt: fc.integer({ min: 0, max: 300 }), drain: fc.boolean() }), { maxLength: 50 }),
        (ops) => {
          const a = new SlidingWindow({ ...SHAPE, replicaId: 'a#1' });
          const log = new DeltaLog();
          const deltas: CellBatch[] = [];
          let t = 1_700_000_000_000;
          for (const op of ops) {
            t += op.dt;
            a.decide(op.key, op.cost, 50, t, true);
            if (op.drain) {
              const d = a.drainDelta(t);
              if (d !== null) {
                deltas.push(copyState(d));
                log.add('api', d);
                // what the replicator does each tick: drop what left the window
                log.prune('api', a.bucketOf(t) - a.buckets);
              }
            }
          }
          const viaLog = windowOf(
            log.drain().map((d) => d.state),
            t,
          );
          expect(windowView(viaLog, KEYS, t)).toEqual(windowView(windowOf(deltas, t), KEYS, t));
        },
      ),
      fcParams(150),
    );
  });
});

/** Limit registers as replicas write them: (ts, replica) identifies a write, so the value is a function of the pair. */
const registerArb: fc.Arbitrary<LwwRegister<number>> = fc
  .record({ ts: fc.integer({ min: 1, max: 6 }), replica: fc.constantFrom('a#1', 'b#1', 'b#2', 'c#1') })
  .map(({ ts, replica }) => ({ ts, replica, value: ts * 10 + replica.charCodeAt(0) }));

const addsArb = fc.array(fc.tuple(fc.constantFrom('api', 'other'), registerArb), { maxLength: 20 });

describe('DeltaLog limit registers (issue 10, defect 10)', () => {
  it('keeps the LWW join of the registers added, in any order: the latest, ties by replica id', () => {
    fc.assert(
      fc.property(addsArb.chain((adds) => fc.tuple(fc.constant(adds), fc.shuffledSubarray(adds, { minLength: adds.length }))), ([adds, shuffled]) => {
        for (const order of [adds, shuffled]) {
          const log = new DeltaLog();
          for (const [limiter, register] of order) log.addLimit(limiter, register);
          const drained = new Map(log.drain().map((d) => [d.limiter, d.limit]));
          for (const limiter of ['api', 'other']) {
            const expected = adds.filter(([l]) => l === limiter).reduce<LwwRegister<number> | null>((acc, [, r]) => mergeLww(acc, r), null);
            expect(drained.get(limiter) ?? null).toEqual(expected);
          }
        }
      }),
      fcParams(500),
    );
  });

  it('prefers the later timestamp, and the larger replica id on a tie', () => {
    const log = new DeltaLog();
    log.addLimit('api', { ts: 5, replica: 'b#1', value: 7 });
    log.addLimit('api', { ts: 4, replica: 'z#1', value: 9 });
    expect(log.drain()[0].limit).toEqual({ ts: 5, replica: 'b#1', value: 7 });
    log.addLimit('api', { ts: 5, replica: 'a#1', value: 7 });
    log.addLimit('api', { ts: 5, replica: 'c#1', value: 3 });
    log.addLimit('api', { ts: 5, replica: 'b#1', value: 8 });
    expect(log.drain()[0].limit).toEqual({ ts: 5, replica: 'c#1', value: 3 });
  });

  it('drains a register with its limiter’s cells, or on its own when the limiter has none', () => {
    const log = new DeltaLog();
    log.addLimit('quiet', { ts: 3, replica: 'a#1', value: 5 });
    expect(log.empty).toBe(false);
    expect(log.cells).toBe(0);
    log.add('api', { replicas: ['a#1'], keys: [['k', [1, 0, 0, 2]]] });
    log.addLimit('api', { ts: 4, replica: 'a#1', value: 6 });
    const out = new Map(log.drain().map((d) => [d.limiter, d]));
    expect(out.get('api')?.limit).toEqual({ ts: 4, replica: 'a#1', value: 6 });
    expect(stateView(out.get('api')!.state)).toEqual({ k: [{ bucket: 1, replica: 'a#1', floor: 0, count: 2 }] });
    expect(out.get('quiet')).toEqual({ limiter: 'quiet', state: { replicas: [], keys: [] }, limit: { ts: 3, replica: 'a#1', value: 5 } });
    expect(log.empty).toBe(true);
  });

  it('keeps a register when pruning drops every cell of its limiter (a register does not expire with buckets)', () => {
    const log = new DeltaLog();
    log.add('api', { replicas: ['a#1'], keys: [['k', [1, 0, 0, 2]]] });
    log.addLimit('api', { ts: 3, replica: 'a#1', value: 5 });
    log.prune('api', 5);
    expect(log.empty).toBe(false);
    expect(log.drain()).toEqual([{ limiter: 'api', state: { replicas: [], keys: [] }, limit: { ts: 3, replica: 'a#1', value: 5 } }]);
  });

  it('forgets registers on clear (a snapshot carries the register instead)', () => {
    const log = new DeltaLog();
    log.addLimit('api', { ts: 3, replica: 'a#1', value: 5 });
    log.clear();
    expect(log.empty).toBe(true);
    expect(log.drain()).toEqual([]);
  });
});
