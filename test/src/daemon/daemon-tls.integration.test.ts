import { selfSignedCert, HAS_OPENSSL } from '../../helpers/tls.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, eventually, startTestDaemon } from '../../helpers/daemon.js';


let dir = '';
let cert = '';
let key = '';

beforeAll(() => {
  if (!HAS_OPENSSL) return;
  dir = mkdtempSync(join(tmpdir(), 'tallymesh-tls-'));
  // One self-signed certificate for 127.0.0.1 serves as CA, server and client certificate.
  const files = selfSignedCert(dir);
  cert = readFileSync(files.certFile, 'utf8');
  key = readFileSync(files.keyFile, 'utf8');
});
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});
afterEach(closeAll);

function get(url: string, withClientCert: boolean): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: cert, ...(withClientCert ? { cert, key } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
}

describe.skipIf(!HAS_OPENSSL)('a daemon with TLS', () => {
  it('serves the API over https and replicates over wss; with a CA, clients need a certificate too', async () => {
    const tls = () => ({ cert, key, ca: cert });
    const a = await startTestDaemon('a', { tls: tls() });
    const b = await startTestDaemon('b', { tls: tls(), peers: [a.address] });
    expect(a.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    a.mesh.get('api')!.consume('k', 2);
    await eventually(async () => ((await get(`${b.url}/v1/limiters/api/keys/k`, true)).body.count === 2 ? true : undefined), 10_000, 'the hit reached b over wss');
    await expect(get(`${a.url}/healthz`, false)).rejects.toThrow();
  });
});
