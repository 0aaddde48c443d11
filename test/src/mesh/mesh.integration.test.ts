import { afterEach, describe, expect, it } from 'vitest';
import { createMesh, type Mesh } from '../../../src/mesh/mesh.js';
import { waitFor } from '../../helpers/wait-for.js';

const SECRET = 'integration-secret';
const LIMITER = { name: 'api', limit: 1_000, windowMs: 60_000 };
const open: Mesh[] = [];

async function start(nodeId: string, peers: string[], secret = SECRET): Promise<Mesh> {
  const mesh = await createMesh({ nodeId, host: '127.0.0.1', port: 0, peers, secret, joinTimeoutMs: 300, digestIntervalMs: 200, suspectAfterMs: 500 });
  mesh.limiter(LIMITER);
  open.push(mesh);
  return mesh;
}

const count = (m: Mesh, key = 'k') => Math.round(m.get('api')!.count(key));

afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

describe('mesh over real WebSockets on loopback', () => {
  it('converges three nodes joined through one seed', async () => {
    const a = await start('a', []);
    const b = await start('b', [a.address()]);
    const c = await start('c', [a.address()]);
    await waitFor(() => c.cluster().peers.filter((p) => p.state === 'live').length === 2);
    a.get('api')!.consume('k', 3);
    b.get('api')!.consume('k', 2);
    c.get('api')!.consume('k', 1);
    await waitFor(() => [a, b, c].every((m) => count(m) === 6));
    expect(await Promise.all([a, b, c].map((m) => m.whenReady().then(() => m.ready)))).toEqual([true, true, true]);
  });

  it('brings a killed and restarted node back ready with the cluster counts', async () => {
    const a = await start('a', []);
    const b = await start('b', [a.address()]);
    await waitFor(() => b.ready && a.cluster().peers.some((p) => p.state === 'live'));
    b.get('api')!.consume('k', 4);
    await waitFor(() => count(a) === 4);
    await b.close();
    open.splice(open.indexOf(b), 1);
    a.get('api')!.consume('k', 1);
    const b2 = await start('b', [a.address()]);
    expect(b2.incarnation).not.toBe(b.incarnation);
    await b2.whenReady();
    expect(count(b2)).toBe(5);
    b2.get('api')!.consume('k', 2);
    await waitFor(() => count(a) === 7);
  });

  it('refuses a peer with the wrong secret and gives it no state', async () => {
    const a = await start('a', []);
    a.get('api')!.consume('k', 9);
    const rejects: string[] = [];
    a.on('reject', (e: { reason: string }) => rejects.push(e.reason));
    const x = await start('x', [a.address()], 'not-the-cluster-secret');
    await waitFor(() => rejects.includes('auth'));
    expect(count(x)).toBe(0);
    expect(a.cluster().peers).toEqual([]);
    expect(x.cluster().peers.filter((p) => p.state !== 'down')).toEqual([]);
  });
});
