import { describe, expect, it } from 'vitest';
import { readiness } from '../../../src/daemon/readiness.js';
import type { ClusterStatus, Mesh } from '../../../src/mesh/mesh.js';

function meshWith(ready: boolean, peers: Array<{ nodeId: string; state: string; clockOffsetMs?: number }>, clockProblem: string | null = null): Mesh {
  const cluster = { node: { ready, clockProblem }, peers: peers.map((p) => ({ clockOffsetMs: 0, ...p })) } as unknown as ClusterStatus;
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

  it('is not ready while shutting down', () => {
    expect(readiness(meshWith(true, []), [], true)).toMatchObject({ ready: false, reason: 'shutting down' });
  });
});
