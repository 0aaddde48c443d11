/**
 * Targeted relaying (issue 10, defect 11): relays go only to peers that
 * report no live link to the cells' origin (PEERS `linked` flags), so a
 * healthy full mesh gossips about what it did without relaying, while a
 * bridge still converges within a few gossip intervals — also when the cut
 * falls in the middle of load (the peer that lost its direct path is sent
 * the origin's cells it may have missed) and when it is one-way.
 *
 * Bytes are counted by the simulated network (every frame, all types); the
 * baseline is the same cluster, seed and load with relaying off, in the same
 * test. The truth is the harness's own log of admitted hits.
 */
import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../transport/sim/prng.js';
import { createSimNetwork, type SimNetwork } from '../../../transport/sim/sim-network.js';
import { createMesh, type Mesh } from '../../../src/mesh/mesh.js';
import type { RelayMode } from '../../../src/mesh/relay-routes.js';

const SECRET = 'a-cluster-secret';
const GOSSIP_INTERVAL_MS = 20;
const MAX_LATENCY_MS = 5;
/** Two hops of gossip and latency, with slack (as in bridge-relay.test.ts). */
const BOUND_MS = 5 * GOSSIP_INTERVAL_MS + 2 * MAX_LATENCY_MS;
/** Healthy-cluster gossip with targeted relaying, against none: the stated bound. */
const MAX_BYTE_RATIO = 1.15;

async function cluster(ids: string[], buckets: number, seed: number, mode: RelayMode): Promise<{ net: SimNetwork; nodes: Mesh[] }> {
  const net = createSimNetwork({ seed });
  const nodes: Mesh[] = [];
  for (const id of ids) {
    const incarnation = `${id}-1`;
    const { transport, scheduler } = net.addNode(id, { secret: SECRET, incarnation });
    const peers = ids.filter((p) => p !== id).map((p) => `sim:${p}`);
    const mesh = await createMesh({ nodeId: id, transport, scheduler, secret: SECRET, incarnation, peers });
    mesh.setRelayMode(mode);
    mesh.limiter({ name: 'api', limit: 1_000_000, windowMs: 60_000, buckets });
    nodes.push(mesh);
  }
  net.advance(3_000);
  expect(nodes.every((m) => m.ready)).toBe(true);
  return { net, nodes };
}

const held = (m: Mesh, key: string): number => m.get('api')!.replica.cellsOf(key).reduce((n, c) => n + c.count, 0);
const bytesSent = (net: SimNetwork, ids: string[]): number => ids.reduce((n, id) => n + net.counters(id).bytesSent, 0);

const IDS = ['a', 'b', 'c', 'd', 'e'];

/** Bytes all nodes send during 10 s of load (after the cluster formed), and whether every node ends exact. */
async function healthyBytes(mode: RelayMode, workload: 'shared' | 'per-node', seed: number): Promise<{ bytes: number; exact: boolean }> {
  const { net, nodes } = await cluster(IDS, 10, seed, mode);
  const rng = createPrng(seed);
  const truth = new Map<string, number>();
  const start = bytesSent(net, IDS);
  for (let step = 0; step < 500; step++) {
    for (const m of nodes) {
      for (let i = 0; i < 4; i++) {
        const key = workload === 'shared' ? `hot:${rng.int(20)}` : `${m.nodeId}:${rng.int(200)}`;
        if (m.get('api')!.consume(key).allowed) truth.set(key, (truth.get(key) ?? 0) + 1);
      }
    }
    net.advance(GOSSIP_INTERVAL_MS);
  }
  net.advance(10 * GOSSIP_INTERVAL_MS);
  const bytes = bytesSent(net, IDS) - start;
  const exact = [...truth].every(([key, total]) => nodes.every((m) => held(m, key) === total));
  return { bytes, exact };
}

describe('targeted relaying (issue 10, defect 11)', () => {
  for (const workload of ['shared', 'per-node'] as const) {
    it(`keeps a healthy 5-node cluster's gossip within ${MAX_BYTE_RATIO}× of no relaying (${workload} keys)`, async () => {
      const seed = workload === 'shared' ? 1201 : 1202;
      const off = await healthyBytes('off', workload, seed);
      const targeted = await healthyBytes('targeted', workload, seed);
      const all = await healthyBytes('all', workload, seed);
      expect(off.exact && targeted.exact && all.exact).toBe(true);
      const ratio = targeted.bytes / off.bytes;
      console.log(`${workload}: off ${off.bytes} B, targeted ${targeted.bytes} B (${ratio.toFixed(3)}×), all ${all.bytes} B (${(all.bytes / off.bytes).toFixed(2)}×)`);
      expect(ratio).toBeLessThanOrEqual(MAX_BYTE_RATIO);
      // The check can fail: relaying everything to everyone is well past the bound.
      expect(all.bytes / off.bytes).toBeGreaterThan(MAX_BYTE_RATIO);
    });
  }

  for (const buckets of [1, 2, 10]) {
    for (const oneWay of [false, true]) {
      it(`converges when a–c is cut${oneWay ? ' one way (a → c)' : ''} in the middle of load, through b, with ${buckets} bucket(s)`, async () => {
        const seed = 1300 + buckets + (oneWay ? 50 : 0);
        const { net, nodes } = await cluster(['a', 'b', 'c'], buckets, seed, 'targeted');
        const [a, b, c] = nodes;
        const rng = createPrng(seed);
        const truth = new Map<string, number>();
        // Keys of each phase are never hit again later: a cell counted while the cut was not yet
        // suspected cannot ride along with a later relay of the same cell.
        let phase = 'before';
        const hit = (m: Mesh): void => {
          const key = `${phase}:${rng.int(12)}`;
          const cost = 1 + rng.int(3);
          if (m.get('api')!.consume(key, cost).allowed) truth.set(key, (truth.get(key) ?? 0) + cost);
        };
        // Load throughout: before the cut, while a and c find each other silent, and after.
        let cutAt = -1;
        for (let step = 0; step < 150; step++) {
          if (step === 20) {
            net.cut('a', 'c');
            if (!oneWay) net.cut('c', 'a');
            cutAt = step;
            phase = 'unsuspected';
          }
          if (step === 30) phase = 'after';
          for (const m of step % 3 === 2 ? [a, b, c] : [a, c]) hit(m);
          net.advance(GOSSIP_INTERVAL_MS);
        }
        expect(cutAt).toBe(20);
        // Exact within the bound of the last hit, with a and c still cut.
        net.advance(BOUND_MS);
        for (const [key, total] of truth) {
          expect(nodes.map((m) => held(m, key)), `seed ${seed}, key ${key}`).toEqual([total, total, total]);
        }
      });
    }
  }
});
