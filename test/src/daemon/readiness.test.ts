import { describe, expect, it } from 'vitest';
import { readiness } from '../../../src/daemon/readiness.js';
import type { ClusterStatus, Mesh } from '../../../src/mesh/mesh.js';

function meshWith(ready: boolean, peers: Array<{ nodeId: string; state: string; clockOffsetMs?: number }>, clockProblem: string | null = null, keys: number[] = []): Mesh {
  const limiters = keys.map((n, i) => ({ name: `l${i}`, keys: n }));
  const cluster = { node: { ready, clockProblem }, peers: peers.map((p) => ({ clockOffsetMs: 0, ...p })), limiters } as unknown as ClusterStatus;
  return { cluster: () => cluster } as unknown as Mesh;
}

describe('readiness', () => {
  it('is ready once the mesh is, and names its peers', () => {
    expect(readiness(meshWith(true, [{ nodeId: 'b', state: 'live' }]), ['b:1'], false)).toEqual({ ready: true, peers: [{ nodeId: 'b', state: 'live', clockOffsetMs: 0 }] });
  });

  it('explains what it waits for: syncing peers, skewed peers, unreached seeds', () => {
    const r = readiness(
      meshWith(false, [
        { nodeId: 'b', state: 'syncing' },
        { nodeId: 'c', state: 'skewed', clockOffsetMs: 812 },
      ]),
      ['b:1', 'c:1', 'd:1'],
      false,
    );
    expect(r.ready).toBe(false);
    expect(r.reason).toBe('waiting for the initial sync from b; refusing peers whose clocks run ahead: c (812 ms ahead); reached 2 of 3 seed peers');
  });

  it('is not ready, even after its sync, while its own clock runs so far ahead that peers refuse it', () => {
    const problem = "this node's clock runs up to 5012 ms ahead of b (max offset 500 ms): peers refuse its frames";
    expect(readiness(meshWith(true, [{ nodeId: 'b', state: 'down' }], problem), ['b:1'], false)).toMatchObject({ ready: false, reason: problem });
  });

  it('stays ready past the key bound, listing the overflows and the bound as a degraded mode', () => {
    const overflows = [{ limiter: 'api', policy: 'allow' as const, count: 12, sinceMs: 4_200, lastMs: 300 }, { limiter: 'login', policy: 'deny' as const, count: 1, sinceMs: 0, lastMs: 0 }];
    const r = readiness(meshWith(true, [], null, [60, 40]), [], false, { maxKeys: 100, overflows });
    expect(r).toEqual({
      ready: true,
      degraded: [
        'limiter api overflowed 12 times in the last 5 s (last 0 s ago): new keys past maxKeys are admitted uncounted',
        'limiter login overflowed once in the last 1 s (last 0 s ago): new keys past maxKeys are denied',
        "holding 100 keys, at the node's bound of 100 (maxKeys): new keys meet their limiter's overflow policy",
      ],
      peers: [],
    });
    // Below the bound and with no recent overflow, nothing is listed.
    expect(readiness(meshWith(true, [], null, [60, 39]), [], false, { maxKeys: 100, overflows: [] })).toEqual({ ready: true, peers: [] });
  });

  it('is not ready while shutting down', () => {
    expect(readiness(meshWith(true, []), [], true)).toMatchObject({ ready: false, reason: 'shutting down' });
  });
});
