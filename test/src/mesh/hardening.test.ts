import { describe, expect, it } from 'vitest';
import { SlidingWindow } from '../../../crdt/sliding-window.js';
import { encodeHlc } from '../../../crdt/hlc.js';
import { createSimNetwork } from '../../../transport/sim/sim-network.js';
import { createMesh } from '../../../src/mesh/mesh.js';

const T = 1_800_000_000_000;

describe('merge bounds against a peer that holds the secret', () => {
  const window = () => new SlidingWindow({ windowMs: 10_000, buckets: 10, replicaId: 'a#1', maxClockOffsetMs: 500 });

  it('refuses cells in buckets beyond the clock bound', () => {
    const w = window();
    const far = w.bucketOf(T) + 1_000_000;
    expect(w.merge({ replicas: ['evil#1'], keys: [['k', [far, 0, 0, 5]]] }, T)).toBe(0);
    expect(w.count('k', T)).toBe(0);
  });

  it('accepts cells up to the clock bound ahead', () => {
    const w = window();
    const ahead = w.bucketOf(T + 500);
    expect(w.merge({ replicas: ['b#1'], keys: [['k', [ahead, 0, 0, 5]]] }, T)).toBe(1);
    expect(w.count('k', T)).toBe(5);
  });

  it('refuses a cell whose floor is above its count (no honest state holds one)', () => {
    const w = window();
    w.merge({ replicas: ['b#1'], keys: [['k', [w.bucketOf(T), 0, 0, 2]]] }, T);
    expect(w.merge({ replicas: ['b#1'], keys: [['k', [w.bucketOf(T), 0, 2 ** 40, 1]]] }, T)).toBe(0);
    expect(w.count('k', T)).toBe(2);
  });
});

describe('clock problems are visible where operators look', () => {
  it('keeps a peer dropped for its clock marked skewed, and the fast node knows it is the problem', async () => {
    const net = createSimNetwork({ seed: 5 });
    const start = async (id: string, offset: number, peers: string[]) => {
      const { transport, scheduler } = net.addNode(id, { secret: 'a-cluster-secret', clockOffsetMs: offset, incarnation: `${id}-1` });
      const m = await createMesh({ nodeId: id, transport, scheduler, secret: 'a-cluster-secret', incarnation: `${id}-1`, peers: peers.map((p) => `sim:${p}`), joinTimeoutMs: 200 });
      m.limiter({ name: 'api', limit: 10, windowMs: 10_000 });
      return m;
    };
    const a = await start('a', 0, ['c']);
    const b = await start('b', 0, ['c']);
    const c = await start('c', 5_000, ['a', 'b']);
    net.advance(3_000);
    for (const m of [a, b]) {
      const peer = m.cluster().peers.find((p) => p.nodeId === 'c')!;
      expect(peer.state).toBe('skewed');
      expect(peer.reason).toMatch(/clock/);
    }
    expect(a.cluster().node.clockProblem).toBeNull();
    expect(c.cluster().node.clockProblem).toMatch(/ahead of a, b/);
  });
});
