/**
 * Accuracy while running (docs/accuracy.md): the estimated admitted ratio per
 * limiter — the largest window count of any key read in the last window ÷
 * the limit — and the `slo` event when it passes `sloRatio`, on the
 * simulated network. The over-admission is made by a partition under the
 * `local` policy, so the truth (the hits each side was granted) is known.
 */
import { describe, expect, it } from 'vitest';
import type { Mesh } from '../../../../src/mesh/mesh.js';
import type { SloEvent } from '../../../../src/mesh/accuracy/accuracy-watch.js';
import { createSimNetwork } from '../../../../transport/sim/sim-network.js';
import { FAST_INTERVALS, simNode } from '../../../helpers/sim-mesh.js';

const LIMITER = { name: 'api', limit: 100, windowMs: 10_000, sloRatio: 1.05 };
const ratioOf = (m: Mesh): number => m.cluster().limiters[0].admittedRatio;

async function pair(seed: number): Promise<{ net: ReturnType<typeof createSimNetwork>; a: Mesh; b: Mesh; events: Array<SloEvent & { node: string }> }> {
  const net = createSimNetwork({ seed });
  const a = await simNode(net, 'a', ['b'], { ...FAST_INTERVALS, limiters: [LIMITER] });
  const b = await simNode(net, 'b', ['a'], { ...FAST_INTERVALS, limiters: [LIMITER] });
  net.advance(1_000);
  const events: Array<SloEvent & { node: string }> = [];
  a.on('slo', (e: SloEvent) => events.push({ ...e, node: 'a' }));
  b.on('slo', (e: SloEvent) => events.push({ ...e, node: 'b' }));
  return { net, a, b, events };
}

describe('the accuracy estimate', () => {
  it('reports twice the limit, and an slo event, once a partition that let each side admit the limit heals; and the return under the bound', async () => {
    const { net, a, b, events } = await pair(601);
    net.partition(['a'], ['b']);
    net.advance(2 * FAST_INTERVALS.suspectAfterMs);
    for (const m of [a, b]) for (let i = 0; i < 100; i++) expect(m.get('api')!.consume('k').allowed).toBe(true);
    net.advance(2 * FAST_INTERVALS.digestIntervalMs);
    // Each side knows only its own 100.
    expect(ratioOf(a)).toBe(1);
    expect(events).toEqual([]);
    net.heal();
    expect(net.runUntil(() => events.length === 2, 3_000)).toBe(true);
    for (const node of ['a', 'b']) expect(events.find((e) => e.node === node)).toMatchObject({ limiter: 'api', active: true, ratio: 2, sloRatio: 1.05 });
    expect(ratioOf(a)).toBe(2);
    expect(ratioOf(b)).toBe(2);
    // The hits leave the window a window after they were admitted; the estimate (the largest count read in
    // the last window) follows a window after that.
    expect(net.runUntil(() => events.length === 4, 2 * LIMITER.windowMs + 3_000)).toBe(true);
    expect(events.slice(2).every((e) => !e.active && e.ratio <= 1.05)).toBe(true);
  });

  it('stays at the limit, with no event, when a single node admits exactly its limit', async () => {
    const net = createSimNetwork({ seed: 602 });
    const a = await simNode(net, 'a', [], { ...FAST_INTERVALS, limiters: [LIMITER] });
    const events: SloEvent[] = [];
    a.on('slo', (e: SloEvent) => events.push(e));
    for (let i = 0; i < 150; i++) a.get('api')!.consume(`k${i % 2}`);
    // 75 hits on each key.
    net.advance(3 * FAST_INTERVALS.digestIntervalMs);
    expect(ratioOf(a)).toBe(0.75);
    // k0 up to its limit: 25 more admitted, the rest denied.
    for (let i = 0; i < 100; i++) a.get('api')!.consume('k0');
    net.advance(3 * FAST_INTERVALS.digestIntervalMs);
    expect(ratioOf(a)).toBe(1);
    expect(events).toEqual([]);
  });

  it('finds the one over-admitted key among more than one walk of keys', async () => {
    const { net, a, b, events } = await pair(603);
    for (let i = 0; i < 10_000; i++) a.get('api')!.consume(`cold-${i}`);
    net.advance(1_000);
    net.partition(['a'], ['b']);
    net.advance(2 * FAST_INTERVALS.suspectAfterMs);
    for (const m of [a, b]) m.get('api')!.consume('hot', 100);
    net.heal();
    // 10,001 keys: three walks of 4,096 cover them all.
    expect(net.runUntil(() => events.some((e) => e.node === 'a' && e.active), 2_000 + 4 * FAST_INTERVALS.digestIntervalMs)).toBe(true);
    expect(ratioOf(a)).toBe(2);
  });
});
