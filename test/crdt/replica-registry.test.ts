import { describe, expect, it } from 'vitest';
import { MAX_REPLICA_IDS } from '../../crdt/cell-batch.js';
import { NO_REPLICA, ReplicaRegistry, SELF } from '../../crdt/replica-registry.js';

describe('ReplicaRegistry', () => {
  it('gives this replica index 0 and never forgets it', () => {
    const r = new ReplicaRegistry('a#1');
    expect(r.indexOf('a#1')).toBe(SELF);
    r.endLap();
    r.endLap();
    expect(r.has('a#1')).toBe(true);
  });

  it('forgets an id no cell met during a whole lap and reuses its index', () => {
    const r = new ReplicaRegistry('a#1');
    const b = r.indexOf('b#1');
    const c = r.indexOf('c#1');
    r.endLap(); // both were registered during this lap: kept
    expect(r.has('b#1') && r.has('c#1')).toBe(true);
    r.met(c);
    r.endLap(); // b met nothing in the lap that just ended
    expect(r.has('b#1')).toBe(false);
    expect(r.has('c#1')).toBe(true);
    expect(r.hashes[b]).toBe(0);
    expect(r.indexOf('d#1')).toBe(b);
    expect(r.ids[b]).toBe('d#1');
  });

  it('refuses ids past the bound, and admits() says so before any is taken', () => {
    const r = new ReplicaRegistry('a#1');
    for (let i = 1; i < MAX_REPLICA_IDS; i++) expect(r.indexOf(`r${i}`)).not.toBe(NO_REPLICA);
    expect(r.full).toBe(true);
    expect(r.indexOf('one-more')).toBe(NO_REPLICA);
    expect(r.admits(['r1', 'r2'])).toBe(true);
    expect(r.admits(['r1', 'one-more'])).toBe(false);
  });
});
