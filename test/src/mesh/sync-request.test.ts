/**
 * SYNC: a node whose digest differs from a peer's in most shards, twice in a
 * row, asks that peer for a whole snapshot instead of repairing shard by
 * shard (issue 10: SYNC was defined and answered but never sent). The state
 * planted on `a` is a third replica's cells, merged without relay, in
 * settled buckets: what a node holds after a snapshot from a peer the other
 * side never reached.
 */
import { describe, expect, it } from 'vitest';
import { createSimNetwork } from '../../../transport/sim/sim-network.js';
import type { Mesh } from '../../../src/mesh/mesh.js';
import { SYNC_SHARDS } from '../../../src/mesh/anti-entropy.js';
import { FAST_INTERVALS, simNode } from '../../helpers/sim-mesh.js';

const LIMITER = { name: 'api', limit: 1_000_000, windowMs: 60_000, buckets: 10 };

async function pair(seed: number): Promise<{ a: Mesh; b: Mesh; advance: (ms: number) => void }> {
  const net = createSimNetwork({ seed });
  const a = await simNode(net, 'a', ['b'], { ...FAST_INTERVALS, limiters: [LIMITER] });
  const b = await simNode(net, 'b', ['a'], { ...FAST_INTERVALS, limiters: [LIMITER] });
  net.advance(1_000);
  expect(a.ready && b.ready).toBe(true);
  return { a, b, advance: (ms) => net.advance(ms) };
}

/** Plants `keys` keys of a third replica, one hit each, in a settled bucket of `m`, without relaying them. */
function plant(m: Mesh, keys: number): void {
  const r = m.get('api')!.replica;
  const bucket = r.currentBucket() - 5;
  r.merge({ replicas: ['c#1'], keys: Array.from({ length: keys }, (_, i) => [`user:${i}`, [bucket, 0, 0, 1]] as [string, number[]]) }, false);
}

const held = (m: Mesh, keys: number): number => {
  let n = 0;
  for (let i = 0; i < keys; i++) n += m.get('api')!.replica.cellsOf(`user:${i}`).reduce((s, c) => s + c.count, 0);
  return n;
};

describe('SYNC (a snapshot asked for when most of a window differs)', () => {
  it('is sent when most shards differ twice in a row, and the snapshot converges the peer', async () => {
    const { a, b, advance } = await pair(501);
    const before = a.cluster().replication.snapshotChunks;
    plant(a, 3_000);
    expect(held(b, 3_000)).toBe(0);
    for (let waited = 0; waited < 3_000 && held(b, 3_000) < 3_000; waited += 50) advance(50);
    expect(held(b, 3_000)).toBe(3_000);
    expect(b.cluster().replication.syncsSent).toBe(1);
    expect(a.cluster().replication.snapshotChunks).toBeGreaterThan(before);
    // Converged: no more SYNCs however long it runs.
    advance(5_000);
    expect(b.cluster().replication.syncsSent).toBe(1);
    await a.close();
    await b.close();
  });

  it(`is not sent for a few differing shards (at most ${SYNC_SHARDS}): those are repaired`, async () => {
    const { a, b, advance } = await pair(502);
    plant(a, 20);
    for (let waited = 0; waited < 3_000 && held(b, 20) < 20; waited += 50) advance(50);
    expect(held(b, 20)).toBe(20);
    expect(b.cluster().replication.syncsSent).toBe(0);
    expect(b.cluster().replication.repairPushesStarted).toBeGreaterThan(0);
    await a.close();
    await b.close();
  });
});
