/**
 * The clock bound through relays (issue 10, defect 12) on the simulated
 * network: a node is judged by its own physical clock, which every frame
 * carries; a clock relayed through an honest node is not its fault. See
 * docs/window-math.md, "Time: the hybrid logical clock".
 */
import { describe, expect, it } from 'vitest';
import { encodeHlc, wallOf } from '../../../crdt/hlc.js';
import type { Mesh } from '../../../src/mesh/mesh.js';
import { FAST_INTERVALS, simNode } from '../../helpers/sim-mesh.js';
import { FrameType, type Frame, type WindowBatch } from '../../../transport/codec/frame.js';
import { createSimNetwork, type SimNetwork } from '../../../transport/sim/sim-network.js';

const SECRET = 'clock-relay-cluster-secret';
const LIMITER = { name: 'api', limit: 1_000, windowMs: 10_000 };

function node(net: SimNetwork, id: string, peers: string[], offset: number): Promise<Mesh> {
  return simNode(net, id, peers, { ...FAST_INTERVALS, secret: SECRET, clockOffsetMs: offset, limiters: [LIMITER] });
}

const count = (m: Mesh, key: string) => Math.round(m.get('api')!.count(key));
const skewRefusals = (m: Mesh) => m.cluster().replication.skewRejections;

describe('the clock bound through relays', () => {
  it('converges a line of clocks at +450, 0 and −100 ms (a–c cut, b the bridge) with no skew refusal', async () => {
    const net = createSimNetwork({ seed: 12 });
    net.cut('a', 'c');
    net.cut('c', 'a');
    const a = await node(net, 'a', ['b'], 450);
    const b = await node(net, 'b', ['a', 'c'], 0);
    const c = await node(net, 'c', ['b'], -100);
    const skews: string[] = [];
    for (const m of [a, b, c]) m.on('skew', (e: { nodeId: string }) => skews.push(`${m.nodeId} refused ${e.nodeId}`));
    net.advance(1_000);
    a.get('api')!.consume('k', 4);
    net.advance(100);
    // b adopted a's wall time and relays it to c, whose own clock is 550 ms behind a's.
    expect(wallOf(c.hlc.last) - (net.now() - 100)).toBeGreaterThan(400);
    c.get('api')!.consume('k', 5);
    b.get('api')!.consume('k', 1);
    // A limit change stamped by a's HLC (+450) reaches c through b, as its cells do.
    a.get('api')!.setLimit(7);
    net.advance(2_000);
    expect([a, b, c].map((m) => count(m, 'k'))).toEqual([10, 10, 10]);
    expect([a, b, c].map((m) => m.get('api')!.limit)).toEqual([7, 7, 7]);
    const refusedByC = c.cluster().peers.find((p) => p.nodeId === 'b')!.rejected;
    expect([refusedByC['clock-skew'], refusedByC['clock-relayed'], refusedByC['future-timestamp']]).toEqual([undefined, undefined, undefined]);
    expect(skews).toEqual([]);
    expect([a, b, c].map(skewRefusals)).toEqual([0, 0, 0]);
    for (const m of [a, b, c]) {
      for (const p of m.cluster().peers) expect(p.state, `${m.nodeId} sees ${p.nodeId}`).not.toBe('skewed');
    }
    expect(b.cluster().peers.map((p) => [p.nodeId, p.state]).sort()).toEqual([['a', 'live'], ['c', 'live']]);
    // Each peer's offset is its own clock's, not the HLC it relays (one-way latency makes it look behind).
    const offsets = Object.fromEntries(c.cluster().peers.map((p) => [p.nodeId, p.clockOffsetMs]));
    expect(offsets.b).toBeGreaterThanOrEqual(90);
    expect(offsets.b).toBeLessThanOrEqual(100);
    expect(c.clockProblem()).toBeNull();
  });

  it('refuses a sender whose physical clock field is honest but whose HLC runs far ahead, and drops it', async () => {
    const net = createSimNetwork({ seed: 5 });
    const a = await node(net, 'a', [], 0);
    const x = net.addNode('x', { secret: SECRET, incarnation: 'x-1' });
    await x.transport.start({ onPeerUp: () => {}, onPeerDown: () => {}, onFrame: () => {}, onOverflow: () => {}, onReject: () => {} });
    x.transport.connect('sim:a');
    expect(net.runUntil(() => x.transport.peers().some((p) => p.nodeId === 'a'), 5_000)).toBe(true);
    net.advance(500);
    const states: string[] = [];
    a.on('peer', (e: { nodeId: string; state: string; reason: string }) => states.push(`${e.nodeId} ${e.state}: ${e.reason}`));
    const now = x.scheduler.now();
    const batch: WindowBatch = {
      name: 'api',
      windowMs: LIMITER.windowMs,
      buckets: 10,
      limit: null,
      replicas: ['x#1'],
      keys: [['k', [Math.floor(now / 1_000), 0, 0, 7]]],
    };
    const hostile: Frame = { type: FrameType.DELTA, hlc: encodeHlc(now + 3_600_000, 0), physicalMs: now, body: { batches: [batch] } };
    expect(x.transport.send('a', hostile)).toBe(true);
    net.advance(50);
    expect(count(a, 'k')).toBe(0);
    expect(wallOf(a.hlc.last)).toBeLessThan(now + 1_000);
    const peer = a.cluster().peers.find((p) => p.nodeId === 'x')!;
    expect(peer.rejected['clock-skew']).toBe(1);
    expect(states.some((s) => /^x skewed: HLC \d+ ms ahead of its own clock/.test(s)), states.join('; ')).toBe(true);
    // Five in a row and the link is closed.
    for (let i = 0; i < 4; i++) x.transport.send('a', { ...hostile, hlc: hostile.hlc + i + 1 });
    expect(net.runUntil(() => !x.transport.peers().some((p) => p.nodeId === 'a'), 1_000)).toBe(true);
  });
});
