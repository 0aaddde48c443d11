import { describe, expect, it } from 'vitest';
import { createSimNetwork, type SimNetwork } from '../../../transport/sim/sim-network.js';
import type { Mesh } from '../../../src/mesh/mesh.js';
import { FAST_INTERVALS, simNode } from '../../helpers/sim-mesh.js';

const LIMITER = { name: 'api', limit: 1_000, windowMs: 10_000 };

function node(net: SimNetwork, id: string, peers: string[], opts: { secret?: string; incarnation?: string; offset?: number } = {}): Promise<Mesh> {
  return simNode(net, id, peers, { ...FAST_INTERVALS, secret: opts.secret, incarnation: opts.incarnation, clockOffsetMs: opts.offset ?? 0, limiters: [LIMITER] });
}

async function cluster(ids: string[], seed = 1): Promise<{ net: SimNetwork; nodes: Mesh[] }> {
  const net = createSimNetwork({ seed });
  const nodes = [];
  for (const id of ids) nodes.push(await node(net, id, ids.filter((p) => p !== id)));
  net.advance(1_000);
  return { net, nodes };
}

const count = (m: Mesh, key: string) => Math.round(m.get('api')!.count(key));

describe('mesh on the simulated network', () => {
  it('converges three nodes within a few gossip intervals', async () => {
    const { net, nodes } = await cluster(['a', 'b', 'c']);
    nodes[0].get('api')!.consume('k', 3);
    nodes[1].get('api')!.consume('k', 2);
    nodes[2].get('api')!.consume('k');
    net.advance(60);
    expect(nodes.map((m) => count(m, 'k'))).toEqual([6, 6, 6]);
    expect(nodes.every((m) => m.ready)).toBe(true);
  });

  it('repairs through a bridge node what two cut-off sides cannot send each other', async () => {
    const { net, nodes } = await cluster(['a', 'b', 'c']);
    net.cut('a', 'c');
    net.cut('c', 'a');
    nodes[0].get('api')!.consume('k', 4);
    nodes[2].get('api')!.consume('k', 5);
    net.advance(5_000);
    expect(nodes.map((m) => count(m, 'k'))).toEqual([9, 9, 9]);
  });

  it('counts the shard pushes it starts apart from the REPAIR requests it answers', async () => {
    const { net, nodes } = await cluster(['a', 'b', 'c']);
    // Deltas lost to live peers: only anti-entropy repairs them (a bridge no longer needs it: b relays).
    net.setFaults({ loss: 1 });
    nodes[0].get('api')!.consume('k', 4);
    nodes[2].get('api')!.consume('k', 5);
    net.advance(40);
    net.setFaults({ loss: 0 });
    net.advance(5_000);
    expect(nodes.map((m) => count(m, 'k'))).toEqual([9, 9, 9]);
    const stats = nodes.map((m) => m.cluster().replication);
    expect(stats.reduce((n, r) => n + r.repairPushesStarted, 0)).toBeGreaterThan(0);
    expect(stats.reduce((n, r) => n + r.repairRequestsAnswered, 0)).toBeGreaterThan(0);
    // The deprecated field keeps its old meaning: both kinds of push.
    for (const r of stats) expect(r.repairsAnswered).toBe(r.repairPushesStarted + r.repairRequestsAnswered);
  });

  it('replicates resets and runtime limit changes', async () => {
    const { net, nodes } = await cluster(['a', 'b', 'c']);
    nodes[0].get('api')!.consume('k', 10);
    net.advance(100);
    nodes[1].get('api')!.reset('k');
    nodes[2].get('api')!.setLimit(7);
    net.advance(100);
    for (const m of nodes) {
      expect(count(m, 'k')).toBe(0);
      expect(m.get('api')!.limit).toBe(7);
    }
  });

  it('frees the keys it only merged once they expire, on its gossip tick (issue 9, defect 1)', async () => {
    const { net, nodes } = await cluster(['a', 'b', 'c']);
    for (let i = 0; i < 500; i++) nodes[0].get('api')!.consume(`k${i}`);
    net.advance(100);
    expect(nodes.map((m) => m.get('api')!.size)).toEqual([500, 500, 500]);
    // b and c count nothing and create no key: only the paced sweep frees what they merged,
    // within half a window (two laps per window) of the keys' expiry after window + one bucket.
    net.advance(LIMITER.windowMs + 1_000 + LIMITER.windowMs / 2 + 100);
    expect(nodes.map((m) => m.get('api')!.size)).toEqual([0, 0, 0]);
  });

  it('replicates nothing for a reset of a key no node holds (issue 9, defect 2)', async () => {
    const { net, nodes } = await cluster(['a', 'b', 'c']);
    for (let i = 0; i < 100; i++) nodes[0].get('api')!.reset(`unknown${i}`);
    net.advance(100);
    expect(nodes.map((m) => m.get('api')!.size)).toEqual([0, 0, 0]);
  });

  it('brings a restarted node back ready with the cluster counts', async () => {
    const { net, nodes } = await cluster(['a', 'b', 'c']);
    nodes[0].get('api')!.consume('k', 8);
    nodes[2].get('api')!.consume('k', 2);
    net.advance(100);
    await nodes[2].close();
    net.crash('c');
    const c2 = await node(net, 'c', ['a'], { incarnation: 'c-2' });
    expect(c2.ready).toBe(false);
    net.advance(1_000);
    expect(c2.ready).toBe(true);
    expect(count(c2, 'k')).toBe(10);
    c2.get('api')!.consume('k');
    net.advance(100);
    expect(count(nodes[0], 'k')).toBe(11);
  });

  it('learns the whole cluster from one seed', async () => {
    const { net, nodes } = await cluster(['a', 'b', 'c']);
    const d = await node(net, 'd', ['a']);
    net.advance(2_000);
    expect(d.cluster().peers.map((p) => p.nodeId).sort()).toEqual(['a', 'b', 'c']);
    expect(nodes[2].cluster().peers.some((p) => p.nodeId === 'd' && p.state === 'live')).toBe(true);
  });

  it('marks a silent peer suspect and catches it up when it is heard again', async () => {
    const { net, nodes } = await cluster(['a', 'b', 'c']);
    net.partition(['c'], ['a', 'b']);
    nodes[0].get('api')!.consume('k', 5);
    net.advance(1_000);
    expect(nodes[0].cluster().peers.find((p) => p.nodeId === 'c')!.state).toBe('suspect');
    expect(count(nodes[2], 'k')).toBe(0);
    net.heal();
    net.advance(500);
    expect(nodes[0].cluster().peers.find((p) => p.nodeId === 'c')!.state).toBe('live');
    expect(count(nodes[2], 'k')).toBe(5);
  });

  it('refuses frames from a peer whose clock runs beyond the max offset', async () => {
    const net = createSimNetwork({ seed: 3 });
    const a = await node(net, 'a', ['b']);
    const b = await node(net, 'b', ['a'], { offset: 5_000 });
    net.advance(1_000);
    b.get('api')!.consume('k', 3);
    net.advance(500);
    expect(count(a, 'k')).toBe(0);
    const peer = a.cluster().peers.find((p) => p.nodeId === 'b')!;
    expect(peer.state).toBe('skewed');
    expect(peer.rejected['clock-skew']).toBeGreaterThan(0);
  });

  it('gives a peer with the wrong secret nothing', async () => {
    const { net, nodes } = await cluster(['a', 'b']);
    nodes[0].get('api')!.consume('k', 5);
    const x = await node(net, 'x', ['a', 'b'], { secret: 'another-cluster-secret' });
    net.advance(2_000);
    expect(count(x, 'k')).toBe(0);
    expect(x.cluster().peers.filter((p) => p.state !== 'down')).toEqual([]);
    expect(nodes[0].cluster().peers.map((p) => p.nodeId)).toEqual(['b']);
  });
});
