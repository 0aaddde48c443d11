/**
 * Resets are observed-remove (issue 10, defect 8): a reset hides exactly the
 * hits its issuer had observed. Hits it had not seen — here, those of a node
 * that crashed and came back with a new incarnation after the reset — stay
 * visible everywhere, however old the reset.
 */
import { describe, expect, it } from 'vitest';
import { createSimNetwork, type SimNetwork } from '../../../transport/sim/sim-network.js';
import type { Mesh } from '../../../src/mesh/mesh.js';
import { simNode } from '../../helpers/sim-mesh.js';

const LIMITER = { name: 'api', limit: 100, windowMs: 60_000 };
const SECRET = 'a-cluster-secret';
const KEY = 'K';

function node(net: SimNetwork, id: string, incarnation: string, peers: string[]): Promise<Mesh> {
  return simNode(net, id, peers, { secret: SECRET, incarnation, limiters: [LIMITER] });
}

function consume(mesh: Mesh, n: number): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (mesh.get('api')!.consume(KEY).allowed) allowed++;
  return allowed;
}

const count = (mesh: Mesh): number => mesh.get('api')!.count(KEY);

/**
 * b resets K (and, when `beforeCrashMs` > 0, counts now and then for that
 * long after it) and counts 2; a is killed and restarted with no seeds (ready at once) and admits
 * 30 hits; once b reconnects, both must show b's 2 and a's 30.
 */
async function crashAfterReset(seed: number, beforeCrashMs: number): Promise<{ a: Mesh; b: Mesh }> {
  const net = createSimNetwork({ seed });
  const a1 = await node(net, 'a', 'a-1', ['b']);
  const b = await node(net, 'b', 'b-1', ['a']);
  net.advance(3_000);
  expect(a1.ready && b.ready).toBe(true);
  expect(consume(a1, 5)).toBe(5);
  expect(net.runUntil(() => count(b) === 5, 2_000)).toBe(true);
  b.get('api')!.reset(KEY);
  expect(count(b)).toBe(0);
  // An old reset: b keeps the key alive, one hit every 62 s (each gone from
  // the 60 s window before the next), for `beforeCrashMs`.
  if (beforeCrashMs > 0) {
    for (let elapsed = 0; elapsed < beforeCrashMs; elapsed += 62_000) {
      expect(consume(b, 1)).toBe(1);
      net.advance(62_000);
    }
  }
  expect(consume(b, 2)).toBe(2);
  expect(net.runUntil(() => count(a1) === 2, 2_000)).toBe(true);

  net.crash('a');
  const a = await node(net, 'a', 'a-2', []);
  expect(a.ready).toBe(true);
  expect(consume(a, 30)).toBe(30);
  // b redials a and they exchange state.
  net.runUntil(() => count(a) !== 30 && count(b) !== 2, 10_000);
  net.advance(3_000);
  return { a, b };
}

describe('a reset hides exactly what its issuer had observed (issue 10, defect 8)', () => {
  it('leaves visible the hits a restarted node admitted after the reset', async () => {
    const { a, b } = await crashAfterReset(8, 0);
    expect(count(a)).toBe(32);
    expect(count(b)).toBe(32);
  });

  it('leaves them visible when the reset is an hour old', async () => {
    const { a, b } = await crashAfterReset(80, 3_600_000);
    expect(count(a)).toBe(32);
    expect(count(b)).toBe(32);
  }, 60_000);
});

describe('a reset in a healthy mesh with targeted relaying', () => {
  it("reaches every node with the floors it raised on other nodes' cells", async () => {
    // a, b, c fully linked: targeted relaying sends no other replica's cells
    // to anyone. a's reset raises floors on b's and c's cells; those must
    // still reach b and c (and each the other's), or c keeps counting b's
    // hits that a's reset observed.
    const net = createSimNetwork({ seed: 31 });
    const a = await node(net, 'a', 'a-1', ['b', 'c']);
    const b = await node(net, 'b', 'b-1', ['a', 'c']);
    const c = await node(net, 'c', 'c-1', ['a', 'b']);
    net.advance(3_000);
    expect(a.ready && b.ready && c.ready).toBe(true);
    expect(consume(b, 4)).toBe(4);
    expect(consume(c, 6)).toBe(6);
    expect(net.runUntil(() => [a, b, c].every((m) => count(m) === 10), 2_000)).toBe(true);
    a.get('api')!.reset(KEY);
    expect(count(a)).toBe(0);
    expect(net.runUntil(() => [a, b, c].every((m) => count(m) === 0), 2_000)).toBe(true);
    // Hits after the reset stay visible everywhere.
    expect(consume(c, 3)).toBe(3);
    expect(net.runUntil(() => [a, b, c].every((m) => count(m) === 3), 2_000)).toBe(true);
  });
});
