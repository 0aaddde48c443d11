/**
 * A silent peer's retained delta log keeps only live buckets: expired cells
 * are pruned on the gossip tick, so a silence longer than the window never
 * overflows the log into a snapshot, and the catch-up still converges.
 */
import { describe, expect, it } from 'vitest';
import type { Mesh } from '../../../src/mesh/mesh.js';
import { simNode } from '../../helpers/sim-mesh.js';
import { createSimNetwork, type SimNetwork } from '../../../transport/sim/sim-network.js';

const SECRET = 'a-cluster-secret';
const WINDOW_MS = 1_000;
const KEYS = 20;

function startNode(net: SimNetwork, id: string, peers: string[]): Promise<Mesh> {
  // 20 keys, each hit once per window in a 10-bucket window: about 20 live cells, 10× that over ten windows.
  return simNode(net, id, peers, { secret: SECRET, suspectAfterMs: 300, maxLogCells: 100, limiters: [{ name: 'api', limit: 1_000, windowMs: WINDOW_MS, buckets: 10 }] });
}

describe('retained delta log', () => {
  it('drops expired buckets while a peer is silent, so a silence of ten windows stays under maxLogCells', async () => {
    const net = createSimNetwork({ seed: 11 });
    const b = await startNode(net, 'b', []);
    const a = await startNode(net, 'a', ['b']);
    expect(net.runUntil(() => a.cluster().node.ready && b.cluster().node.ready, 5_000)).toBe(true);
    net.partition(['a'], ['b']);
    expect(net.runUntil(() => a.cluster().peers.find((p) => p.nodeId === 'b')?.state === 'suspect', 5_000)).toBe(true);
    const api = a.limiter({ name: 'api', limit: 1_000, windowMs: WINDOW_MS, buckets: 10 });
    for (let step = 0; step < (10 * WINDOW_MS) / 50; step++) {
      api.consume(`k${step % KEYS}`);
      net.advance(50);
    }
    expect(a.cluster().replication.logOverflows).toBe(0);
    net.heal();
    const bApi = b.limiter({ name: 'api', limit: 1_000, windowMs: WINDOW_MS, buckets: 10 });
    const converged = (): boolean => Array.from({ length: KEYS }, (_, i) => `k${i}`).every((k) => Math.abs(bApi.peek(k).remaining - api.peek(k).remaining) === 0);
    expect(net.runUntil(converged, 5_000)).toBe(true);
    expect(a.cluster().replication.logOverflows).toBe(0);
  });
});
