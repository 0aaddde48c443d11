/**
 * The replication surface of a limiter (`limiter.replica`): limit registers
 * merged last-writer-wins, state carried across a restart, and the deprecated
 * aliases on the limiter that forward to it.
 */
import { describe, expect, it } from 'vitest';
import { SlidingWindow } from '../../../crdt/sliding-window.js';
import { createLimiter } from '../../../src/limiter/limiter.js';
import { ReplicaState } from '../../../src/limiter/replica-state.js';
import { MAX_LIMIT } from '../../../src/validate.js';

describe('ReplicaState', () => {
  it('merges limit changes last-writer-wins, ties broken by replica id', () => {
    const clock = { now: 1_000 };
    const a = createLimiter({ name: 'api', limit: 100, windowMs: 1_000, nodeId: 'a', now: () => clock.now });
    const b = createLimiter({ name: 'api', limit: 100, windowMs: 1_000, nodeId: 'b', now: () => clock.now });
    a.setLimit(10);
    clock.now = 2_000;
    b.setLimit(20);
    a.replica.mergeLimit(b.replica.limitRegister);
    b.replica.mergeLimit(a.replica.limitRegister);
    expect([a.limit, b.limit]).toEqual([20, 20]);
    // An older change arriving late loses.
    const c = createLimiter({ name: 'api', limit: 100, windowMs: 1_000, nodeId: 'c', now: () => 1_500 });
    c.setLimit(15);
    a.replica.mergeLimit(c.replica.limitRegister);
    expect(a.limit).toBe(20);
    // The same HLC time on two replicas: the larger replica id wins everywhere.
    const x = createLimiter({ name: 'api', limit: 100, windowMs: 1_000, nodeId: 'x', now: () => 9_000 });
    const y = createLimiter({ name: 'api', limit: 100, windowMs: 1_000, nodeId: 'y', now: () => 9_000 });
    x.setLimit(7);
    y.setLimit(8);
    expect(x.replica.limitRegister.ts).toBe(y.replica.limitRegister.ts);
    x.replica.mergeLimit(y.replica.limitRegister);
    y.replica.mergeLimit(x.replica.limitRegister);
    expect([x.limit, y.limit]).toEqual([8, 8]);
    // Any runtime change wins over a configured limit.
    const fresh = createLimiter({ name: 'api', limit: 100, windowMs: 1_000, nodeId: 'z', now: () => 100_000 });
    fresh.replica.mergeLimit(x.replica.limitRegister);
    expect(fresh.limit).toBe(8);
  });

  it('never loses hits when restarted: the new incarnation counts beside the old one', () => {
    const clock = { now: 1_000 };
    const opts = { name: 'api', limit: 10, windowMs: 1_000, buckets: 10, nodeId: 'n1', now: () => clock.now };
    const before = createLimiter(opts);
    before.consume('k', 5);
    const saved = before.replica.snapshot().state;
    // "Restart": a new process, same node id, same bucket.
    clock.now = 1_020;
    const after = createLimiter(opts);
    after.replica.merge(saved);
    expect(after.count('k')).toBe(5);
    after.consume('k', 3);
    expect(after.count('k')).toBe(8);
    // The old state arriving again (a peer still has it) masks nothing.
    after.replica.merge(saved);
    expect(after.count('k')).toBe(8);
    expect(after.consume('k', 3).allowed).toBe(false);
    // A peer that hears from both sees every hit.
    const peer = createLimiter({ ...opts, nodeId: 'n2' });
    peer.replica.merge(after.replica.drainDelta().state!);
    peer.replica.merge(saved);
    expect(peer.count('k')).toBe(8);
  });

  it('would mask new hits if a restarted replica reused its id (why incarnations exist)', () => {
    const old = new SlidingWindow({ windowMs: 1_000, buckets: 10, replicaId: 'n1' });
    old.decide('k', 5, 10, 1_000, true);
    const reused = new SlidingWindow({ windowMs: 1_000, buckets: 10, replicaId: 'n1' });
    reused.decide('k', 3, 10, 1_020, true);
    reused.merge(old.snapshot(1_020).state, 1_020);
    expect(reused.count('k', 1_020)).toBe(5); // not 8: max(5, 3)
  });

  it('belongs to its limiter, which keeps the replication methods as deprecated aliases', () => {
    const clock = { now: 1_000 };
    const a = createLimiter({ name: 'api', limit: 10, windowMs: 1_000, buckets: 10, nodeId: 'a', now: () => clock.now });
    const b = createLimiter({ name: 'api', limit: 10, windowMs: 1_000, buckets: 10, nodeId: 'b', now: () => clock.now });
    expect(a.replica).toBeInstanceOf(ReplicaState);
    expect(a.replica).toBe(a.replica);
    a.consume('k', 2);
    a.setLimit(5);
    // The alias drains the same delta the replica state would.
    const delta = a.drainDelta();
    expect(delta.limitChanged).toBe(true);
    expect(a.replica.drainDelta()).toEqual({ state: null, limitChanged: false });
    b.merge(delta.state!);
    b.mergeLimit(a.limitRegister);
    expect([b.count('k'), b.limit]).toEqual([2, 5]);
    expect(b.cellsOf('k')).toEqual(b.replica.cellsOf('k'));
    expect(b.currentBucket()).toBe(b.replica.currentBucket());
    expect(b.digest(0, 100, 4)).toEqual(b.replica.digest(0, 100, 4));
    expect(b.snapshot().state).toEqual(b.replica.snapshot().state);
    expect(b.shardState(4, new Set([0, 1, 2, 3]))).toEqual(b.replica.shardState(4, new Set([0, 1, 2, 3])));
    b.discardDelta();
    expect(b.sweep()).toBe(0);
    expect(a.limitRegister).toBe(a.replica.limitRegister);
  });

  it('refuses a merged limit register setLimit would refuse, and consume keeps working (issue 9, defect 7)', () => {
    const api = createLimiter({ name: 'api', limit: 10, windowMs: 1_000, nodeId: 'a', now: () => 5_000 });
    for (const value of [0, -1, MAX_LIMIT + 1, 1e15, Number.NaN, 1.5, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      expect(api.replica.mergeLimit({ ts: 9e15, replica: 'evil#1', value }), String(value)).toBe(false);
      expect(api.limit).toBe(10);
      expect(api.consume('k').allowed).toBe(true);
      expect(() => api.setLimit(value)).toThrow(); // the same rule
    }
    // What setLimit takes, a merge takes, the largest limit included.
    expect(api.replica.mergeLimit({ ts: 1, replica: 'b#1', value: MAX_LIMIT })).toBe(true);
    expect(api.limit).toBe(MAX_LIMIT);
    // A valid register that loses is not refused.
    expect(api.replica.mergeLimit({ ts: 0, replica: 'a', value: 3 })).toBe(true);
    expect(api.limit).toBe(MAX_LIMIT);
  });
});
