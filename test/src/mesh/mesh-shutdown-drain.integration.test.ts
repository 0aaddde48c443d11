/**
 * Issue 10, defect 9: closing a node whose peer reads slowly must still hand
 * that peer the final DELTA and the BYE. The peer sits behind a TCP relay
 * that stops reading, so the closing node's socket and send queue back up
 * the way they do behind a slow receiver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMesh, type Mesh, type MeshOptions } from '../../../src/mesh/mesh.js';
import { fillSendQueue, startPausableProxy, type PausableProxy } from '../../helpers/backpressure.js';
import { waitFor } from '../../helpers/wait-for.js';

const SECRET = 'integration-secret';
const LIMITER = { name: 'api', limit: 1_000_000, windowMs: 60_000 };

const meshes: Mesh[] = [];
const proxies: PausableProxy[] = [];

afterEach(async () => {
  for (const p of proxies.splice(0)) p.resume();
  await Promise.all(meshes.splice(0).map((m) => m.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function start(nodeId: string, peers: string[], extra: Partial<MeshOptions> = {}): Promise<Mesh> {
  const mesh = await createMesh({ nodeId, host: '127.0.0.1', port: 0, peers, secret: SECRET, joinTimeoutMs: 300, ...extra });
  mesh.limiter(LIMITER);
  meshes.push(mesh);
  return mesh;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Sender `a` linked to receiver `b` through a relay; the relay stops reading,
 * and `a` admits hits on new keys until frames wait in its send queue. Returns
 * every hit `a` admitted, by key.
 */
async function backedUpPair(senderOptions: Partial<MeshOptions>) {
  const b = await start('b', []);
  const proxy = await startPausableProxy(b.address());
  proxies.push(proxy);
  // A large queue bound: this is about the close, not about overflow (which falls back to a snapshot).
  const a = await start('a', [proxy.address], { maxQueueBytes: 256 * 1024 * 1024, ...senderOptions });
  await waitFor(() => a.cluster().peers.some((p) => p.nodeId === 'b' && p.state === 'live'));
  await waitFor(() => b.cluster().peers.some((p) => p.nodeId === 'a' && p.state === 'live'));
  const admitted = new Map<string, number>();
  const api = a.get('api')!;
  const admit = (key: string, cost = 1): void => {
    expect(api.consume(key, cost).allowed).toBe(true);
    admitted.set(key, (admitted.get(key) ?? 0) + cost);
  };
  proxy.pause();
  await fillSendQueue(a, 'b', (key) => admit(key));
  expect(a.cluster().peers.find((p) => p.nodeId === 'b')?.framesDropped).toBe(0);
  // The last gossip interval's hits: only the final flush inside close() carries them.
  for (let i = 0; i < 100; i++) admit(`final:${i}`, 1 + (i % 3));
  return { a, b, proxy, admitted };
}

function missing(b: Mesh, admitted: Map<string, number>): string[] {
  const api = b.get('api')!;
  const lost: string[] = [];
  for (const [key, hits] of admitted) if (Math.round(api.count(key)) !== hits) lost.push(key);
  return lost;
}

const peerA = (b: Mesh) => b.cluster().peers.find((p) => p.nodeId === 'a');

describe('closing a node whose peer reads slowly (issue 10, defect 9)', () => {
  it('delivers the queued frames, the final delta and the BYE before closing the socket', async () => {
    const { a, b, proxy, admitted } = await backedUpPair({ closeTimeoutMs: 15_000 });
    const closed = a.close();
    await nextTurn();
    proxy.resume();
    await closed;
    meshes.splice(meshes.indexOf(a), 1);
    await waitFor(() => peerA(b)?.state === 'down');
    expect({ reason: peerA(b)?.reason, missing: missing(b, admitted).length }).toEqual({ reason: 'left: shutdown', missing: 0 });
    expect(a.cluster().replication.framesUnsent).toBe(0);
  });

  it('keeps draining through a stall longer than a second, within the close timeout', async () => {
    const { a, b, proxy, admitted } = await backedUpPair({ closeTimeoutMs: 15_000 });
    let settled = false;
    const closed = a.close().then(() => {
      settled = true;
    });
    // The receiver stays stalled past the transport's old fixed one-second grace.
    const stallUntil = Date.now() + 1_500;
    await waitFor(() => Date.now() >= stallUntil, 5_000);
    expect(settled).toBe(false);
    proxy.resume();
    await closed;
    meshes.splice(meshes.indexOf(a), 1);
    await waitFor(() => peerA(b)?.state === 'down');
    expect({ reason: peerA(b)?.reason, missing: missing(b, admitted).length }).toEqual({ reason: 'left: shutdown', missing: 0 });
  });

  it('closes at the close timeout and counts the frames it could not send', async () => {
    const { a, proxy } = await backedUpPair({ closeTimeoutMs: 300 });
    const unsent: Array<{ nodeId: string; frames: number; bytes: number }> = [];
    a.on('unsent', (e: { nodeId: string; frames: number; bytes: number }) => unsent.push(e));
    const started = Date.now();
    await a.close();
    meshes.splice(meshes.indexOf(a), 1);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(unsent).toHaveLength(1);
    expect(unsent[0].nodeId).toBe('b');
    expect(unsent[0].frames).toBeGreaterThan(0);
    expect(unsent[0].bytes).toBeGreaterThan(0);
    expect(a.cluster().replication.framesUnsent).toBe(unsent[0].frames);
    proxy.resume();
  });
});
