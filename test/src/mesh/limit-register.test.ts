/**
 * Runtime limit changes (the LWW limit register) across blips and lost
 * frames (issue 10, defect 10): the register travels in the retained
 * per-peer logs and the catch-up, and the digest covers it, so anti-entropy
 * repairs any path that loses it.
 */
import { describe, expect, it } from 'vitest';
import { createSimNetwork, type SimNetwork } from '../../../transport/sim/sim-network.js';
import type { Mesh } from '../../../src/mesh/mesh.js';
import { simNode } from '../../helpers/sim-mesh.js';

const LIMITER = { name: 'api', limit: 50, windowMs: 10_000 };
const DIGEST_INTERVAL_MS = 1_000; // the default
const SECRET = 'a-cluster-secret';

function node(net: SimNetwork, id: string, peers: string[], limiter: { name: string; limit: number; windowMs: number; buckets?: number } = LIMITER): Promise<Mesh> {
  // Default gossip, digest and suspicion intervals: the blip is what users see.
  return simNode(net, id, peers, { secret: SECRET, limiters: [limiter] });
}

async function pair(seed: number, limiter = LIMITER): Promise<{ net: SimNetwork; a: Mesh; b: Mesh }> {
  const net = createSimNetwork({ seed });
  const a = await node(net, 'a', ['b'], limiter);
  const b = await node(net, 'b', ['a'], limiter);
  net.advance(3_000);
  expect(a.ready && b.ready).toBe(true);
  return { net, a, b };
}

/** Decisions `node` allows out of `n` single hits on a fresh key, after a whole window of quiet. */
function admittedInFreshWindow(net: SimNetwork, node: Mesh, n: number, windowMs = LIMITER.windowMs): number {
  net.advance(windowMs + 1_000);
  let allowed = 0;
  for (let i = 0; i < n; i++) if (node.get('api')!.consume('fresh').allowed) allowed++;
  return allowed;
}

describe('limit register across a blip (issue 10, defect 10)', () => {
  it('reaches a peer that was partitioned for 1.5 s when the limit changed, through the catch-up', async () => {
    const { net, a, b } = await pair(10);
    net.partition(['a'], ['b']);
    net.advance(200);
    a.get('api')!.setLimit(5);
    net.advance(1_300);
    net.heal();
    // A few gossip intervals, well before the next digest could matter.
    expect(net.runUntil(() => b.get('api')!.limit === 5, 300)).toBe(true);
    expect(admittedInFreshWindow(net, b, 20)).toBeLessThanOrEqual(5);
  });

  it('reaches a peer that went suspect before the change (the change is made while the peer is unreachable)', async () => {
    const { net, a, b } = await pair(11);
    net.partition(['a'], ['b']);
    net.advance(1_200); // b is suspect on a by now: nothing is sent, everything retained
    a.get('api')!.setLimit(5);
    net.advance(300);
    net.heal();
    expect(net.runUntil(() => b.get('api')!.limit === 5, 300)).toBe(true);
    expect(admittedInFreshWindow(net, b, 20)).toBeLessThanOrEqual(5);
  });

  it('is repaired by the digest alone when the DELTA carrying the register is lost', async () => {
    const { net, a, b } = await pair(12);
    // A one-way cut shorter than the suspicion period: a keeps hearing b, so
    // b never goes suspect on a and there is no catch-up; the frame is lost.
    net.cut('a', 'b');
    a.get('api')!.setLimit(5);
    net.advance(100);
    net.heal();
    expect(b.get('api')!.limit).toBe(50);
    // Repaired within a few digest rounds.
    expect(net.runUntil(() => b.get('api')!.limit === 5, 3 * DIGEST_INTERVAL_MS)).toBe(true);
    expect(a.get('api')!.limit).toBe(5);
    expect(admittedInFreshWindow(net, b, 20)).toBeLessThanOrEqual(5);
  });

  it('is repaired by the digest even when the window has no settled buckets to compare (2 buckets)', async () => {
    const twoBuckets = { ...LIMITER, buckets: 2 };
    const { net, a, b } = await pair(13, twoBuckets);
    net.cut('a', 'b');
    a.get('api')!.setLimit(5);
    net.advance(100);
    net.heal();
    expect(net.runUntil(() => b.get('api')!.limit === 5, 3 * DIGEST_INTERVAL_MS)).toBe(true);
  });

  it('reaches a node across a bridge: a and c are cut, b relays the register through its digest', async () => {
    const net = createSimNetwork({ seed: 14 });
    const nodes = [await node(net, 'a', ['b', 'c']), await node(net, 'b', ['a', 'c']), await node(net, 'c', ['a', 'b'])];
    net.advance(3_000);
    net.cut('a', 'c');
    net.cut('c', 'a');
    nodes[0].get('api')!.setLimit(5);
    expect(net.runUntil(() => nodes.every((m) => m.get('api')!.limit === 5), 3 * DIGEST_INTERVAL_MS)).toBe(true);
  });

  it('keeps the newest register when two nodes change the limit on both sides of a partition', async () => {
    const { net, a, b } = await pair(15);
    net.partition(['a'], ['b']);
    net.advance(200);
    a.get('api')!.setLimit(5);
    net.advance(500);
    b.get('api')!.setLimit(9); // later: wins everywhere
    net.advance(800);
    net.heal();
    expect(net.runUntil(() => a.get('api')!.limit === 9 && b.get('api')!.limit === 9, 3 * DIGEST_INTERVAL_MS)).toBe(true);
  });
});
