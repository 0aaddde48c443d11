/**
 * When a `partition: 'share'` limiter goes onto its share and off it, on the
 * simulated network: lost contact, replication lag past `maxLagMs` (degrade
 * on lag), members that left with a BYE or were forgotten after
 * `forgetAfterMs`, and the heal.
 */
import { describe, expect, it } from 'vitest';
import type { Mesh } from '../../../../src/mesh/mesh.js';
import type { ShareEvent } from '../../../../src/mesh/accuracy/partition-guard.js';
import { createSimNetwork, type SimNetwork } from '../../../../transport/sim/sim-network.js';
import { FAST_INTERVALS, simNode } from '../../../helpers/sim-mesh.js';

const LIMITERS = [
  { name: 'shared', limit: 90, windowMs: 10_000, partition: 'share' as const, maxLagMs: 100 },
  { name: 'plain', limit: 90, windowMs: 10_000 },
];

async function cluster(seed: number, ids: string[], options: { forgetAfterMs?: number } = {}): Promise<{ net: SimNetwork; nodes: Map<string, Mesh>; events: Array<ShareEvent & { node: string }> }> {
  const net = createSimNetwork({ seed });
  const nodes = new Map<string, Mesh>();
  const events: Array<ShareEvent & { node: string }> = [];
  for (const id of ids) {
    const m = await simNode(net, id, ids.filter((p) => p !== id), { ...FAST_INTERVALS, ...options, limiters: LIMITERS });
    m.on('share', (e: ShareEvent) => events.push({ ...e, node: id }));
    nodes.set(id, m);
  }
  net.advance(1_000);
  expect([...nodes.values()].every((m) => m.ready)).toBe(true);
  return { net, nodes, events };
}

const shareOf = (m: Mesh) => m.get('shared')!.share;

describe('the partition guard', () => {
  it('puts a share limiter on its share when a member is cut off, and off it a suspicion period after the heal', async () => {
    const { net, nodes, events } = await cluster(501, ['a', 'b', 'c']);
    const a = nodes.get('a')!;
    expect(events).toEqual([]);
    net.partition(['a'], ['b', 'c']);
    expect(net.runUntil(() => shareOf(a) !== null, 2_000)).toBe(true);
    expect(shareOf(a)).toMatchObject({ cause: 'contact', members: 3, weight: 1 / 3 });
    expect(net.runUntil(() => shareOf(a)!.reason === 'lost contact with b (suspect), c (suspect)', 500)).toBe(true);
    // Local limiters never share.
    expect(a.get('plain')!.share).toBeNull();
    expect(a.cluster().limiters.find((l) => l.name === 'shared')).toMatchObject({ partition: 'share', share: { members: 3 } });
    expect(net.runUntil(() => [...nodes.values()].every((m) => shareOf(m) !== null), 2_000)).toBe(true);
    net.heal();
    const healedAt = net.now();
    expect(net.runUntil(() => [...nodes.values()].every((m) => shareOf(m) === null), 5_000)).toBe(true);
    // Not before every member was reachable again for a suspicion period.
    expect(net.now() - healedAt).toBeGreaterThanOrEqual(FAST_INTERVALS.suspectAfterMs);
    const ends = events.filter((e) => !e.active);
    expect(ends.map((e) => e.node).sort()).toEqual(['a', 'b', 'c']);
    expect(ends.every((e) => e.limiter === 'shared' && e.cause === 'healed')).toBe(true);
    expect(events.filter((e) => e.active).every((e) => e.cause === 'contact' && e.limiter === 'shared')).toBe(true);
  });

  it('falls back to the share when replication lag passes maxLagMs, naming the lag, and returns when it recovers', async () => {
    const { net, nodes, events } = await cluster(502, ['a', 'b']);
    const a = nodes.get('a')!;
    net.setFaults({ latencyMs: [150, 160] });
    expect(net.runUntil(() => shareOf(a) !== null, 5_000)).toBe(true);
    expect(shareOf(a)).toMatchObject({ cause: 'lag', members: 2, weight: 1 / 2 });
    const began = events.find((e) => e.node === 'a' && e.active)!;
    expect(began).toMatchObject({ limiter: 'shared', cause: 'lag', maxLagMs: 100 });
    expect(began.lagMs).toBeGreaterThan(100);
    expect(began.reason).toMatch(/^replication lag [\d.]+ ms from b \(max 100 ms\)$/);
    // A lagging peer is still reachable: no contact lost.
    expect(a.cluster().peers[0].state).toBe('live');
    net.setFaults({ latencyMs: [1, 5] });
    expect(net.runUntil(() => shareOf(a) === null, 5_000)).toBe(true);
    const ended = events.filter((e) => e.node === 'a' && !e.active);
    expect(ended).toHaveLength(1);
    expect(ended[0].lagMs).toBeLessThanOrEqual(75); // under 0.75 × maxLagMs
  });

  it('holds no share for a member that left with a BYE; a crashed one holds its share until forgetAfterMs', async () => {
    const forgetAfterMs = 5_000;
    const { net, nodes } = await cluster(503, ['a', 'b', 'c'], { forgetAfterMs });
    const a = nodes.get('a')!;
    const closing = nodes.get('c')!.close();
    net.advance(100);
    await closing;
    net.advance(3 * FAST_INTERVALS.suspectAfterMs);
    expect(shareOf(a)).toBeNull();
    net.crash('b');
    expect(net.runUntil(() => shareOf(a) !== null, 2_000)).toBe(true);
    // Two members left: a and the crashed b.
    expect(shareOf(a)).toMatchObject({ members: 2, weight: 1 / 2 });
    const since = net.now();
    expect(net.runUntil(() => shareOf(a) === null, forgetAfterMs + 2_000)).toBe(true);
    expect(net.now() - since).toBeGreaterThanOrEqual(forgetAfterMs - 2 * FAST_INTERVALS.suspectAfterMs);
    // Alone now: the whole limit.
    expect(a.get('shared')!.consume('k', 90).allowed).toBe(true);
  });
});
