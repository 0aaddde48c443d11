/**
 * The library side of issue 9, defect 6: a mesh created without a secret
 * runs on a random one (an empty HMAC key is anyone's), and the port a mesh
 * opens refuses browsers on `/v1/mesh` like a daemon's.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createMesh, type Mesh } from '../../../src/mesh/mesh.js';
import { resolveMeshOptions } from '../../../src/mesh/mesh-options.js';
import { createWsTransport } from '../../../transport/ws/ws-transport.js';

const meshes: Mesh[] = [];
afterEach(async () => {
  await Promise.all(meshes.splice(0).map((m) => m.close()));
});

async function lone(): Promise<Mesh> {
  const m = await createMesh({ nodeId: 'lone', port: 0, joinTimeoutMs: 0 });
  meshes.push(m);
  return m;
}

/** Status of a WebSocket upgrade to `address` with `headers`: 101 when it opened. */
function upgradeStatus(address: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${address}/v1/mesh`, { headers, handshakeTimeout: 5_000 });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

describe('createMesh without a secret', () => {
  it('runs on a random secret of 32 bytes, a new one each time', () => {
    const a = resolveMeshOptions({ nodeId: 'a' });
    const b = resolveMeshOptions({ nodeId: 'a', secret: '' });
    expect(a.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.secret).not.toBe(b.secret);
    expect(resolveMeshOptions({ nodeId: 'a', secret: 'a-configured-secret' }).secret).toBe('a-configured-secret');
  });

  it('refuses peers: no peer could accept a node on a random secret', () => {
    expect(() => resolveMeshOptions({ nodeId: 'a', peers: ['127.0.0.1:7071'] })).toThrow(
      expect.objectContaining({ code: 'TALLYMESH_ERR_OPTION_RANGE', message: expect.stringContaining('"secret"') }),
    );
  });

  it('cannot be joined by a peer computing the handshake HMAC with an empty key', async () => {
    const mesh = await lone();
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const events: string[] = [];
    const intruder = createWsTransport({ nodeId: 'intruder', incarnation: randomUUID(), secret: '', server, advertise: '127.0.0.1:1' });
    let rejected!: () => void;
    const refused = new Promise<void>((resolve) => (rejected = resolve));
    await intruder.start({
      onPeerUp: (p) => events.push(`up:${p.nodeId}`),
      onPeerDown: () => {},
      onFrame: () => {},
      onOverflow: () => {},
      onReject: (_who, reason) => {
        events.push(`reject:${reason}`);
        rejected();
      },
    });
    const rejectedHere = new Promise<void>((resolve) => mesh.once('reject', () => resolve()));
    try {
      intruder.connect(mesh.address());
      await Promise.race([refused, rejectedHere]);
      expect(events.filter((e) => e.startsWith('up:'))).toEqual([]);
      expect(mesh.cluster().peers.map((p) => p.nodeId)).not.toContain('intruder');
    } finally {
      await intruder.close();
      server.close();
    }
  });
});

describe('the port a mesh opens', () => {
  it('refuses a browser upgrade (Origin, Sec-Fetch-Site) on /v1/mesh with 403 and a foreign Host with 421', async () => {
    const mesh = await lone();
    const [, port] = /:(\d+)$/.exec(mesh.address()) as RegExpExecArray;
    expect(await upgradeStatus(mesh.address(), { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(mesh.address(), { 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(await upgradeStatus(mesh.address(), { host: `evil.example:${port}` })).toBe(421);
    // A peer's upgrade (no browser header, a loopback Host) reaches the transport and opens.
    expect(await upgradeStatus(mesh.address(), {})).toBe(101);
  });
});
