/**
 * Degrade on lag reads the delay beyond each link's floor: a clock offset
 * within the bound is not lag. Before, `now − sent` included the offset, and
 * the simulator's seeds with clocks a few hundred ms apart kept every
 * `partition: 'share'` limiter on its share for the whole run.
 */
import { describe, expect, it } from 'vitest';
import { createSimNetwork } from '../../../../transport/sim/sim-network.js';
import { FAST_INTERVALS, simNode } from '../../../helpers/sim-mesh.js';

const LIMITER = { name: 'api', limit: 100, windowMs: 10_000, partition: 'share' as const, maxLagMs: 200 };

describe('the lag a share limiter degrades on', () => {
  it('is not a clock offset: 400 ms apart, no share', async () => {
    const net = createSimNetwork({ seed: 31 });
    const a = await simNode(net, 'a', ['b'], { ...FAST_INTERVALS, clockOffsetMs: 0, limiters: [LIMITER] });
    const b = await simNode(net, 'b', ['a'], { ...FAST_INTERVALS, clockOffsetMs: -400, limiters: [LIMITER] });
    net.advance(3_000);
    // b's clock reads 400 ms behind: every frame from b looks 400 ms late at a.
    expect(a.cluster().peers.find((p) => p.nodeId === 'b')?.replicationLagMs).toBeGreaterThan(300);
    expect(a.get('api')!.share).toBeNull();
    expect(b.get('api')!.share).toBeNull();
    await a.close();
    await b.close();
  });

  it('is a link falling behind: 300 ms of extra latency puts the limiter on its share, and its end takes it off', async () => {
    const net = createSimNetwork({ seed: 32 });
    const a = await simNode(net, 'a', ['b'], { ...FAST_INTERVALS, limiters: [LIMITER] });
    const b = await simNode(net, 'b', ['a'], { ...FAST_INTERVALS, limiters: [LIMITER] });
    net.advance(2_000);
    expect(b.get('api')!.share).toBeNull();
    net.setFaults({ latencyMs: [300, 310] });
    net.advance(2_000);
    expect(b.get('api')!.share?.cause).toBe('lag');
    net.setFaults({ latencyMs: [1, 5] });
    net.advance(3_000);
    expect(b.get('api')!.share).toBeNull();
    await a.close();
    await b.close();
  });
});
