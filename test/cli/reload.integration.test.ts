/**
 * Live reconfiguration (issue 13, item 3), through the CLI with real
 * processes: SIGHUP and `POST /v1/admin/reload` re-read the config file —
 * limiters added, removed, limits changed and replicated to a node that did
 * not reload; a window change and an invalid file refused with the running
 * configuration kept; `PUT /v1/limiters/:name`; certificates rotated without
 * a restart.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../helpers/prom-parse.js';
import { HAS_OPENSSL, httpsGet, selfSignedCert } from '../helpers/tls.js';
import { startCliCluster } from './cli-cluster.js';
import { eventually, type CliProcess } from './cli-process.js';
import { cliScratch } from './cli-scratch.js';

const scratch = cliScratch('reload');
afterEach(() => scratch.cleanup());
const start = (args: string[]) => scratch.start(args);

interface LimiterView {
  name: string;
  limit: number;
  windowMs: number;
}

async function limiters(url: string, headers: Record<string, string> = {}): Promise<LimiterView[]> {
  return ((await (await fetch(`${url}/v1/cluster`, { headers })).json()) as { limiters: LimiterView[] }).limiters;
}

async function limitOf(url: string, name: string): Promise<number | undefined> {
  return (await limiters(url)).find((l) => l.name === name)?.limit;
}

async function consume(url: string, limiter: string, key = 'k'): Promise<number> {
  const res = await fetch(`${url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limiter, key }) });
  await res.arrayBuffer();
  return res.status;
}

async function request(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

const logLines = (proc: CliProcess): Array<Record<string, any>> => proc.jsonLines();

/** Sends SIGHUP and waits for the reload's own log line (applied or failed), returning it. */
async function hangup(proc: CliProcess): Promise<Record<string, any>> {
  const before = logLines(proc).filter((l) => l.event === 'reload' || l.event === 'reload-failed').length;
  proc.child.kill('SIGHUP');
  await eventually(() => logLines(proc).filter((l) => l.event === 'reload' || l.event === 'reload-failed').length > before, 10_000, 'a reload line');
  return logLines(proc).filter((l) => l.event === 'reload' || l.event === 'reload-failed')[before];
}

async function metric(url: string, name: string, labels: Record<string, string>): Promise<number | undefined> {
  return sampleValue(parsePrometheusText(await (await fetch(`${url}/metrics`)).text()), name, labels);
}

describe('reloading the config file', () => {
  it('adds, changes and removes limiters, replicates a new limit, and refuses a window change and an invalid file', async () => {
    const dir = scratch.dir();
    const file = join(dir, 'cluster.yaml');
    const write = (limitersYaml: string): void => writeFileSync(file, `limiters:\n${limitersYaml}`);
    write('  - { name: api, limit: 5, window: 60s }\n');
    const cluster = await startCliCluster(['r1', 'r2'], ['--config', file, '--join-timeout', '500ms', '--drain-ms', '0']);
    scratch.defer(cluster.stop);
    const [r1, r2] = cluster.nodes;

    // Added limiter, changed limit: applied on r1 by SIGHUP; the limit reaches r2, which did not reload.
    write('  - { name: api, limit: 9, window: 60s }\n  - { name: login, limit: 2, window: 1m }\n');
    const applied = await hangup(r1.proc);
    expect(applied).toMatchObject({ event: 'reload', trigger: 'SIGHUP' });
    expect(applied.applied).toEqual(['limiter api: limit 5 -> 9', 'limiter login added (limit 2, window 60000 ms)']);
    expect(await consume(r1.url, 'login')).toBe(200);
    await eventually(async () => (await limitOf(r2.url, 'api')) === 9, 10_000, 'the new limit on r2');
    expect(await metric(r1.url, 'tallymesh_config_reloads_total', { result: 'applied' })).toBe(1);

    // A window change would split the cluster: refused whole, with a clear message; the running config stays.
    write('  - { name: api, limit: 20, window: 30s }\n  - { name: login, limit: 2, window: 1m }\n');
    const refused = await hangup(r1.proc);
    expect(refused).toMatchObject({ event: 'reload-failed', code: 'TALLYMESH_ERR_CONFIG_RELOAD_REFUSED', level: 50 });
    expect(refused.msg).toContain('limiter api: window 60000 ms in 60 buckets cannot become 30000 ms in 30 buckets');
    expect(refused.msg).toContain('split the cluster');
    const answer = await request(`${r1.url}/v1/admin/reload`, 'POST');
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('TALLYMESH_ERR_CONFIG_RELOAD_REFUSED');
    expect((await limiters(r1.url)).find((l) => l.name === 'api')).toMatchObject({ limit: 9, windowMs: 60_000 });
    expect(await consume(r1.url, 'api')).toBe(200);
    expect(await metric(r1.url, 'tallymesh_config_reloads_total', { result: 'refused' })).toBe(2);

    // An invalid file: refused, named, the running config stays.
    writeFileSync(file, 'limiters:\n  - { name: api, limit: 9, window: 60s\n');
    const invalid = await hangup(r1.proc);
    expect(invalid).toMatchObject({ event: 'reload-failed', code: 'TALLYMESH_ERR_CONFIG_INVALID' });
    expect(invalid.msg).toContain('is not valid YAML');
    const bad = await request(`${r1.url}/v1/admin/reload`, 'POST');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('TALLYMESH_ERR_CONFIG_INVALID');
    write('  - { name: api, limit: 0, window: 60s }\n');
    expect((await request(`${r1.url}/v1/admin/reload`, 'POST')).body.error.message).toContain('limiters[0].limit');
    expect(await consume(r1.url, 'login')).toBe(200);
    expect(await metric(r1.url, 'tallymesh_config_reloads_total', { result: 'invalid' })).toBe(3);

    // A limit changed over the API replicates, and a reload that does not touch the limit leaves it.
    const put = await request(`${r1.url}/v1/limiters/api`, 'PUT', { limit: 7 });
    expect(put).toEqual({ status: 200, body: { name: 'api', limit: 7, windowMs: 60_000, buckets: 60 } });
    await eventually(async () => (await limitOf(r2.url, 'api')) === 7, 10_000, 'the API limit on r2');

    // Removing a limiter over POST /v1/admin/reload.
    write('  - { name: api, limit: 9, window: 60s }\n');
    const removed = await request(`${r1.url}/v1/admin/reload`, 'POST');
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ reloaded: true, file, applied: ['limiter login removed'], restartNeeded: [] });
    expect(await consume(r1.url, 'login')).toBe(404);
    expect(await limitOf(r1.url, 'api')).toBe(7);
    // Nothing else changed: a second reload is a no-op.
    expect((await request(`${r1.url}/v1/admin/reload`, 'POST')).body.applied).toEqual([]);

    // Settings a running node cannot change are reported, not applied.
    writeFileSync(file, 'gossipInterval: 50ms\nlimiters:\n  - { name: api, limit: 9, window: 60s }\n');
    expect((await request(`${r1.url}/v1/admin/reload`, 'POST')).body.restartNeeded).toEqual(['gossipIntervalMs']);
  }, 90_000);

  it('validates PUT /v1/limiters/:name', async () => {
    const d = await start(['--port', '0', '--limiter', 'name=api,limit=5,window=60s', '--drain-ms', '0']);
    const put = (path: string, body: unknown) => request(`${d.url}${path}`, 'PUT', body);
    expect((await put('/v1/limiters/nope', { limit: 3 })).body.error.code).toBe('TALLYMESH_ERR_LIMITER_UNKNOWN');
    expect((await put('/v1/limiters/nope', { limit: 3 })).status).toBe(404);
    for (const body of [{ limit: 0 }, { limit: 2.5 }, { limit: '7' }, { limit: 1e13 }, {}, { limit: 3, window: 1000 }, [3]]) {
      const res = await put('/v1/limiters/api', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('TALLYMESH_ERR_HTTP_BAD_REQUEST');
    }
    expect((await request(`${d.url}/v1/limiters/api`, 'GET')).status).toBe(405);
    expect((await put('/v1/limiters/api', { limit: 3 })).body.limit).toBe(3);
    // The new limit decides: 3 admitted, the 4th denied.
    const statuses: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await request(`${d.url}/v1/consume`, 'POST', { limiter: 'api', key: 'x' });
      statuses.push(r.body.allowed as boolean);
    }
    expect(statuses).toEqual([true, true, true, false]);
    // Without a config file there is nothing to reload over HTTP either.
    const nothing = await request(`${d.url}/v1/admin/reload`, 'POST');
    expect(nothing.status).toBe(409);
    expect(nothing.body.error.code).toBe('TALLYMESH_ERR_CONFIG_NOTHING_TO_RELOAD');
  }, 30_000);

  it('needs the API token for reloads and limit changes when one is set', async () => {
    const dir = scratch.dir();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'a-token-for-the-reload-test', { mode: 0o600 });
    const file = join(dir, 'node.yaml');
    writeFileSync(file, 'limiters:\n  - { name: api, limit: 5, window: 60s }\n');
    const d = await start(['--port', '0', '--config', file, '--api-token-file', tokenFile, '--drain-ms', '0']);
    const auth = { authorization: 'Bearer a-token-for-the-reload-test' };
    expect((await request(`${d.url}/v1/admin/reload`, 'POST')).status).toBe(401);
    expect((await request(`${d.url}/v1/limiters/api`, 'PUT', { limit: 3 })).status).toBe(401);
    expect((await request(`${d.url}/v1/limiters/api`, 'PUT', { limit: 3 }, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await limiters(d.url, auth)).find((l) => l.name === 'api')?.limit).toBe(5);
    expect((await request(`${d.url}/v1/limiters/api`, 'PUT', { limit: 3 }, auth)).status).toBe(200);
    expect((await request(`${d.url}/v1/admin/reload`, 'POST', undefined, auth)).status).toBe(200);
  }, 30_000);
});

/** The certificate a fresh TLS connection to `url` is served, as a fingerprint. */
function servedFingerprint(url: string, port = Number(new URL(url).port)): Promise<string> {
  const { hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port, rejectUnauthorized: false }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      socket.destroy();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

describe.skipIf(!HAS_OPENSSL)('reloading TLS certificates', () => {
  it('serves the new certificate after SIGHUP on the API and RESP ports, and keeps the old one when the new pair does not match', async () => {
    const dir = scratch.dir();
    const [one, two] = [join(dir, 'one'), join(dir, 'two')];
    mkdirSync(one);
    mkdirSync(two);
    const first = selfSignedCert(one);
    const second = selfSignedCert(two);
    const fingerprint = (certFile: string) => new X509Certificate(readFileSync(certFile)).fingerprint256;
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    const file = join(dir, 'node.yaml');
    writeFileSync(file, 'tls: { certFile: cert.pem, keyFile: key.pem }\nlimiters:\n  - { name: api, limit: 5, window: 60s }\n');
    const d = await start(['--port', '0', '--resp-port', '0', '--config', file, '--drain-ms', '0']);
    const respPort = Number((await d.proc.waitForStdout(/^tallymesh resp listening on port (\d+)$/m))[1]);
    const served = async (): Promise<string[]> => [await servedFingerprint(d.url), await servedFingerprint(d.url, respPort)];
    expect(await served()).toEqual([fingerprint(first.certFile), fingerprint(first.certFile)]);

    // A certificate without its key: refused, the old pair keeps being served.
    copyFileSync(second.certFile, certFile);
    const mismatched = await hangup(d.proc);
    expect(mismatched).toMatchObject({ event: 'reload-failed', code: 'TALLYMESH_ERR_CONFIG_INVALID' });
    expect(await served()).toEqual([fingerprint(first.certFile), fingerprint(first.certFile)]);

    copyFileSync(second.keyFile, keyFile);
    const rotated = await hangup(d.proc);
    expect(rotated.applied).toEqual(['TLS certificates re-read: new connections use the new ones']);
    expect(await served()).toEqual([fingerprint(second.certFile), fingerprint(second.certFile)]);
    expect(d.proc.running).toBe(true);
  }, 40_000);
});

describe.skipIf(!HAS_OPENSSL)('reloading the certificate a node dials its peers with', () => {
  it('joins a peer that trusts only the new client certificate once the node reloads it', async () => {
    const dir = scratch.dir();
    const made = Object.fromEntries(
      ['a', 'b1', 'b2'].map((name) => {
        const d = join(dir, name);
        mkdirSync(d);
        return [name, selfSignedCert(d, `tallymesh-test-${name}`)];
      }),
    ) as Record<'a' | 'b1' | 'b2', { certFile: string; keyFile: string }>;
    const pem = (f: string) => readFileSync(f, 'utf8');
    // a trusts itself and b2 only; b trusts all three (so only a's side decides).
    writeFileSync(join(dir, 'a-ca.pem'), pem(made.a.certFile) + pem(made.b2.certFile));
    writeFileSync(join(dir, 'b-ca.pem'), pem(made.a.certFile) + pem(made.b1.certFile) + pem(made.b2.certFile));
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'a-secret-for-the-rotation-test', { mode: 0o600 });
    const a = await start(['--id', 'rot-a', '--port', '0', '--secret-file', secret, '--join-timeout', '300ms', '--drain-ms', '0', '--limiter', 'name=api,limit=5,window=60s', '--tls-cert', made.a.certFile, '--tls-key', made.a.keyFile, '--tls-ca', join(dir, 'a-ca.pem')]);
    copyFileSync(made.b1.certFile, join(dir, 'b.pem'));
    copyFileSync(made.b1.keyFile, join(dir, 'b.key'));
    const file = join(dir, 'b.yaml');
    writeFileSync(file, `id: rot-b\npeers: [${a.address}]\ntls: { certFile: b.pem, keyFile: b.key, caFile: b-ca.pem }\nlimiters:\n  - { name: api, limit: 5, window: 60s }\n`);
    const b = await start(['--port', '0', '--config', file, '--secret-file', secret, '--join-timeout', '300ms', '--drain-ms', '0']);
    // b1 is not trusted by a: b's dials are refused.
    await eventually(() => logLines(a.proc).some((l) => l.event === 'tls-refused'), 10_000, 'rot-a refusing rot-b1');
    await eventually(() => logLines(b.proc).some((l) => l.event === 'dial-failed'), 10_000, 'rot-b failing to dial');

    copyFileSync(made.b2.certFile, join(dir, 'b.pem'));
    copyFileSync(made.b2.keyFile, join(dir, 'b.key'));
    const reloaded = await hangup(b.proc);
    expect(reloaded.applied).toEqual(['TLS certificates re-read: new connections use the new ones']);
    // The next dial presents b2, which a trusts: the two link up without a restart.
    const asA = { cert: pem(made.a.certFile), key: pem(made.a.keyFile), ca: pem(join(dir, 'b-ca.pem')) };
    await eventually(async () => {
      const view = JSON.parse((await httpsGet(`${b.url}/v1/cluster`, asA)).text) as { seeds: Array<{ state: string }> };
      return view.seeds[0]?.state === 'connected';
    }, 20_000, 'rot-b connected to rot-a');
    expect(b.proc.running).toBe(true);
  }, 60_000);
});

