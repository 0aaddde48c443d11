/**
 * Issue 13, item 2 ("Probes and tooling under mTLS"), against real daemons
 * started through the CLI: the openssl recipe of docs/operations.md, run as
 * written, makes certificates two nodes can form a mutual-TLS mesh with; the
 * CLI reaches them with the recipe's client certificate, and says clearly why
 * it cannot without one; the admin listener answers probes and scrapes in
 * plain HTTP, and never a decision.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_OPENSSL, selfSignedCert } from '../helpers/tls.js';
import { CliProcess, eventually, runCli, startCli, type DaemonProcess } from './cli-process.js';

const OPERATIONS = fileURLToPath(new URL('../../docs/operations.md', import.meta.url));
const MARKER = '<!-- mtls-recipe:';

/** The shell block right after the recipe's marker in docs/operations.md. */
function recipe(): string {
  const doc = readFileSync(OPERATIONS, 'utf8');
  const at = doc.indexOf(MARKER);
  expect(at, 'the recipe marker in docs/operations.md').toBeGreaterThan(-1);
  const m = /```sh\n([\s\S]*?)```/.exec(doc.slice(at));
  expect(m, 'a ```sh block after the marker').not.toBeNull();
  return m![1]!;
}

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-mtls-'));
const spawned: CliProcess[] = [];
let a: DaemonProcess;
let b: DaemonProcess;
let adminA: string;

afterAll(() => {
  for (const p of spawned) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string): string => join(dir, name);
const CLIENT = (): string[] => ['--tls-ca', file('ca.crt'), '--tls-cert', file('client.crt'), '--tls-key', file('client.key')];

async function start(id: string, peers: string[]): Promise<{ d: DaemonProcess; admin: string }> {
  const d = await startCli([
    '--id', id, '--port', '0', '--admin-port', '0', '--secret-file', file('secret'), '--limiter', 'name=api,limit=3,window=60s',
    '--tls-cert', file(`${id}.crt`), '--tls-key', file(`${id}.key`), '--tls-ca', file('ca.crt'), '--join-timeout', '500ms', '--suspect-after', '500ms',
    ...(peers.length > 0 ? ['--peers', peers.join(',')] : []),
  ]);
  spawned.push(d.proc);
  const [, admin] = await d.proc.waitForStdout(/^tallymesh admin listening on (http:\/\/\S+)$/m);
  return { d, admin: admin! };
}

describe.skipIf(!HAS_OPENSSL)('the mutual TLS recipe of docs/operations.md', () => {
  beforeAll(async () => {
    // The block exactly as the doc shows it, in an empty directory, failing on the first error.
    execFileSync('bash', ['-euo', 'pipefail', '-c', recipe()], { cwd: dir, stdio: 'pipe', env: { ...process.env, NODES: '', DAYS: '' } });
    writeFileSync(file('secret'), 'a-shared-secret-for-the-mtls-recipe\n', { mode: 0o600 });
    const first = await start('a', []);
    a = first.d;
    adminA = first.admin;
    b = (await start('b', [a.address])).d;
    // Readiness over the admin listener: plain HTTP, no certificate.
    await eventually(async () => {
      const c = (await (await fetch(`${adminA}/v1/cluster`)).json()) as { peers: Array<{ nodeId: string; state: string }> };
      return c.peers.some((p) => p.nodeId === 'b' && p.state === 'live');
    }, 20_000, 'a sees b live over mutual TLS');
  }, 60_000);

  it('makes node certificates that name their address in subjectAltName, for both ends of a link', () => {
    const text = execFileSync('openssl', ['x509', '-in', file('a.crt'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toMatch(/IP Address:127\.0\.0\.1/);
    expect(text).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(execFileSync('openssl', ['verify', '-CAfile', file('ca.crt'), file('a.crt'), file('b.crt'), file('client.crt')], { encoding: 'utf8' })).toMatch(/a\.crt: OK[\s\S]*client\.crt: OK/);
  });

  it('serves https with a client certificate required on the main port', () => {
    expect(a.url).toMatch(/^https:\/\//);
  });

  it('lets status reach a mutual-TLS node with the recipe client certificate', async () => {
    const r = await runCli(['status', '--url', a.url, ...CLIENT()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/node a at .* — ready, .*1 of 1 peers reachable/);
    expect(r.stdout).toMatch(/^b\s+127\.0\.0\.1:\d+\s+live\s+yes/m);
  });

  it('lets consume decide through the client certificate', async () => {
    const r = await runCli(['consume', '--url', b.url, '--limiter', 'api', '--key', 'k', '--json', ...CLIENT()]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ allowed: true, limit: 3 });
  });

  it('says a client certificate is required when status has none, not UND_ERR_SOCKET', async () => {
    const r = await runCli(['status', '--url', a.url, '--tls-ca', file('ca.crt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the daemon requires a client certificate \(mutual TLS: its tls\.caFile is set\): pass --tls-cert and --tls-key/);
    expect(r.stderr).not.toMatch(/UND_ERR|ECONNRESET/);
  });

  it("says the daemon's certificate is untrusted when the CA is not given", async () => {
    const r = await runCli(['status', '--url', a.url, '--tls-cert', file('client.crt'), '--tls-key', file('client.key')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the daemon's certificate is not signed by a CA this client trusts \([A-Z_]+\): pass --tls-ca/);
  });

  it('says the client certificate was refused when another CA signed it', async () => {
    const other = mkdtempSync(join(dir, 'other-'));
    const { certFile, keyFile } = selfSignedCert(other);
    const r = await runCli(['status', '--url', a.url, '--tls-ca', file('ca.crt'), '--tls-cert', certFile, '--tls-key', keyFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the daemon refused the client certificate \((ERR_SSL_[A-Z0-9_]+|ECONNRESET)\): it must be signed by the CA in the daemon's tls\.caFile/);
  });

  it('refuses half a key pair, an unreadable file and certificate flags on an http URL before connecting', async () => {
    const half = await runCli(['status', '--url', a.url, '--tls-cert', file('client.crt')]);
    expect([half.code, half.stderr.trim()]).toEqual([2, 'tallymesh: --tls-cert needs its private key: pass --tls-key too']);
    const missing = await runCli(['status', '--url', a.url, '--tls-ca', file('nope.crt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--tls-ca: cannot read .*nope\.crt: ENOENT/);
    const plain = await runCli(['status', '--url', adminA, ...CLIENT()]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/--tls-cert, --tls-key and --tls-ca need an https:\/\/ URL/);
  });

  it('answers probes, metrics and the cluster on the admin listener in plain HTTP', async () => {
    expect((await fetch(`${adminA}/healthz`)).status).toBe(200);
    const ready = await fetch(`${adminA}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true });
    const metrics = await fetch(`${adminA}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^tallymesh_peers\{/m);
    const status = await runCli(['status', '--url', adminA]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/node a at/);
  });

  it('never decides on the admin listener', async () => {
    for (const [method, path] of [['POST', '/v1/consume'], ['GET', '/v1/limiters/api/keys/k'], ['DELETE', '/v1/limiters/api/keys/k'], ['GET', '/v1/stream']] as const) {
      const res = await fetch(`${adminA}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"limiter":"api","key":"k"}' : undefined });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/the admin listener serves only .*decisions are on the main port/);
    }
  });
});
