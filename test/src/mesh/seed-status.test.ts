/**
 * Seed status on the simulated network: what `cluster().seeds` says of a
 * seed that does not exist, one cut off by a partition, one that is this
 * node itself, and one reached — and how it follows a partition and its heal.
 */
import { describe, expect, it } from 'vitest';
import { createSimNetwork } from '../../../transport/sim/sim-network.js';
import { seedsNotReached, SeedStatus } from '../../../src/mesh/seed-status.js';
import { FAST_INTERVALS, simNode } from '../../helpers/sim-mesh.js';

const stateOf = (seeds: Array<{ address: string; state: string }>, address: string): string | undefined => seeds.find((s) => s.address === address)?.state;

describe('seed status on the simulated network', () => {
  it('names a seed nobody listens on, one behind a partition and one reached, and follows the heal', async () => {
    const net = createSimNetwork({ seed: 7 });
    const b = await simNode(net, 'b', [], FAST_INTERVALS);
    const c = await simNode(net, 'c', [], FAST_INTERVALS);
    net.partition(['a'], ['c']);
    const a = await simNode(net, 'a', ['b', 'c', 'nobody'], FAST_INTERVALS);
    expect(a.cluster().seeds.map((s) => s.state)).toEqual(['connecting', 'connecting', 'connecting']);
    expect(net.runUntil(() => a.ready, 10_000)).toBe(true);
    const seeds = a.cluster().seeds;
    expect(seeds.find((s) => s.address === 'sim:b')).toMatchObject({ state: 'connected', nodeId: 'b', failures: 0, lastError: null });
    expect(seeds.find((s) => s.address === 'sim:c')).toMatchObject({ state: 'unreachable', nodeId: null, lastError: { reason: 'unreachable' } });
    expect(seeds.find((s) => s.address === 'sim:nobody')).toMatchObject({ state: 'unreachable', lastError: { reason: 'refused' } });
    expect(seedsNotReached(seeds)).toBe(
      '2 of 3 seed peers not reached: sim:c (unreachable: sim:c is unreachable); sim:nobody (refused: sim:nobody is not listening)',
    );

    net.heal();
    expect(net.runUntil(() => stateOf(a.cluster().seeds, 'sim:c') === 'connected', 30_000)).toBe(true);
    // The last error stays, so a seed that flapped explains itself; the failure count restarts.
    expect(a.cluster().seeds.find((s) => s.address === 'sim:c')).toMatchObject({ nodeId: 'c', failures: 0, lastError: { reason: 'unreachable' } });
    // Reached through a link either side dialed: c going away makes it unreachable again once a redial fails.
    await c.close();
    expect(net.runUntil(() => stateOf(a.cluster().seeds, 'sim:c') === 'unreachable', 30_000)).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('calls a seed that is this node itself self, not unreachable', async () => {
    const net = createSimNetwork({ seed: 9 });
    const a = await simNode(net, 'a', ['a'], FAST_INTERVALS);
    expect(a.cluster().seeds).toMatchObject([{ address: 'sim:a', state: 'self' }]);
    expect(seedsNotReached(a.cluster().seeds)).toBeNull();
    await a.close();
  });
});

describe('SeedStatus', () => {
  it('ignores dials to addresses that are not seeds (learned from peers: bounded by the seed list)', () => {
    const seeds = new SeedStatus(['h:1'], 'a', () => 0);
    seeds.record('h:2', { ok: false, reason: 'refused', detail: 'x' });
    expect(seeds.report('h:0', () => false).map((s) => s.address)).toEqual(['h:1']);
  });

  it('counts failures in a row and shows how long ago the last one was', () => {
    let now = 1_000;
    const seeds = new SeedStatus(['h:1'], 'a', () => now);
    seeds.record('h:1', { ok: false, reason: 'timeout', detail: 'no answer' });
    now += 500;
    seeds.record('h:1', { ok: false, reason: 'tls', detail: 'unable to verify the first certificate' });
    now += 250;
    expect(seeds.report('h:0', () => false)[0]).toEqual({
      address: 'h:1',
      state: 'unreachable',
      nodeId: null,
      failures: 2,
      lastError: { reason: 'tls', detail: 'unable to verify the first certificate', agoMs: 250 },
    });
  });
});
