/**
 * The `/readyz` policy against real meshes on the simulated network: every
 * state it reports (syncing, skewed, unreached seeds, a clock problem, the key
 * bound) is reached by running the mesh, never by a hand-built stand-in.
 */
import { describe, expect, it } from 'vitest';
import { readiness } from '../../../../src/daemon/http/readiness.js';
import { createMesh, type Mesh } from '../../../../src/mesh/mesh.js';
import { createSimNetwork, type SimNetwork } from '../../../../transport/sim/sim-network.js';

const SECRET = 'a-cluster-secret';
/** The simulated network's default one-way latency is 1–5 ms: clocks that agree measure within that. */
const LATENCY_MS = 5;

/** Starts `id` on `net` with its clock `offsetMs` ahead, seeded with `peers`. */
async function startNode(net: SimNetwork, id: string, offsetMs: number, peers: string[], joinTimeoutMs = 60_000): Promise<Mesh> {
  const { transport, scheduler } = net.addNode(id, { secret: SECRET, clockOffsetMs: offsetMs, incarnation: `${id}-1` });
  const mesh = await createMesh({ nodeId: id, transport, scheduler, secret: SECRET, incarnation: `${id}-1`, peers: peers.map((p) => `sim:${p}`), joinTimeoutMs });
  mesh.limiter({ name: 'api', limit: 10, windowMs: 10_000 });
  return mesh;
}

const stateOf = (mesh: Mesh, nodeId: string): string | undefined => mesh.cluster().peers.find((p) => p.nodeId === nodeId)?.state;

describe('readiness', () => {
  it('is ready once the mesh is, and names its peers', async () => {
    const net = createSimNetwork({ seed: 1 });
    await startNode(net, 'b', 0, []);
    const a = await startNode(net, 'a', 0, ['b']);
    expect(net.runUntil(() => a.cluster().node.ready, 5_000)).toBe(true);
    const r = readiness(a, ['sim:b'], false);
    expect(r).toEqual({
      ready: true,
      peers: [{ nodeId: 'b', state: 'live', clockOffsetMs: expect.any(Number) }],
      seeds: [{ address: 'sim:b', state: 'connected', lastError: null }],
    });
    expect(Math.abs(r.peers[0].clockOffsetMs)).toBeLessThanOrEqual(LATENCY_MS);
  });

  it('explains what it waits for: syncing peers, skewed peers, unreached seeds', async () => {
    const net = createSimNetwork({ seed: 2 });
    await startNode(net, 'b', 0, []);
    await startNode(net, 'c', 812, []);
    const a = await startNode(net, 'a', 0, ['b', 'c', 'd']); // d never exists
    // Hold b in its initial sync: once linked, nothing more from b reaches a.
    expect(net.runUntil(() => stateOf(a, 'b') === 'syncing', 5_000)).toBe(true);
    net.cut('b', 'a');
    expect(net.runUntil(() => stateOf(a, 'c') === 'skewed', 5_000)).toBe(true);
    net.advance(100);
    const r = readiness(a, ['sim:b', 'sim:c', 'sim:d'], false);
    expect(r.ready).toBe(false);
    const m = /^waiting for the initial sync from b; refusing peers whose clocks run ahead: c \((\d+) ms ahead\); reached 2 of 3 seed peers; not reached: sim:d \(refused: sim:d is not listening\)$/.exec(r.reason ?? '');
    expect(m, r.reason).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(812 - LATENCY_MS);
    expect(Number(m![1])).toBeLessThanOrEqual(812);
    expect(r.peers.map((p) => [p.nodeId, p.state]).sort()).toEqual([['b', 'syncing'], ['c', 'skewed']]);
  });

  it('is not ready, even after its sync, while its own clock runs so far ahead that peers refuse it', async () => {
    const net = createSimNetwork({ seed: 3 });
    await startNode(net, 'a', 0, ['c'], 200);
    await startNode(net, 'b', 0, ['c'], 200);
    const c = await startNode(net, 'c', 5_000, ['a', 'b'], 200);
    expect(net.runUntil(() => c.cluster().node.ready && c.cluster().node.clockProblem !== null, 5_000)).toBe(true);
    const problem = c.cluster().node.clockProblem!;
    expect(problem).toMatch(/^this node's clock runs up to \d+ ms ahead of a, b \(max offset 500 ms\): peers refuse its frames$/);
    expect(readiness(c, ['sim:a', 'sim:b'], false)).toMatchObject({ ready: false, reason: problem });
  });

  it('stays ready past the key bound, listing the overflows and the bound as a degraded mode', async () => {
    const net = createSimNetwork({ seed: 4 });
    const a = await startNode(net, 'a', 0, []);
    expect(net.runUntil(() => a.cluster().node.ready, 5_000)).toBe(true);
    const l0 = a.limiter({ name: 'l0', limit: 10, windowMs: 10_000 });
    const l1 = a.limiter({ name: 'l1', limit: 10, windowMs: 10_000 });
    for (let i = 0; i < 60; i++) l0.consume(`k${i}`);
    for (let i = 0; i < 39; i++) l1.consume(`k${i}`);
    const overflows = [{ limiter: 'api', policy: 'allow' as const, count: 12, sinceMs: 4_200, lastMs: 300 }, { limiter: 'login', policy: 'deny' as const, count: 1, sinceMs: 0, lastMs: 0 }];
    // Below the bound and with no recent overflow, nothing is listed.
    expect(readiness(a, [], false, { maxKeys: 100, overflows: [] })).toEqual({ ready: true, peers: [] });
    l1.consume('k39');
    expect(readiness(a, [], false, { maxKeys: 100, overflows })).toEqual({
      ready: true,
      degraded: [
        'limiter api overflowed 12 times in the last 5 s (last 0 s ago): new keys past maxKeys are admitted uncounted',
        'limiter login overflowed once in the last 1 s (last 0 s ago): new keys past maxKeys are denied',
        "holding 100 keys, at the node's bound of 100 (maxKeys): new keys meet their limiter's overflow policy",
      ],
      peers: [],
    });
  });

  it('is not ready while shutting down', async () => {
    const net = createSimNetwork({ seed: 5 });
    const a = await startNode(net, 'a', 0, []);
    expect(net.runUntil(() => a.cluster().node.ready, 5_000)).toBe(true);
    expect(readiness(a, [], true)).toMatchObject({ ready: false, reason: 'shutting down' });
  });
});
