/**
 * Issue 9, defect 6 ("Browsers"), against real daemons started through the
 * CLI: a web page the operator opens must not be able to join the mesh of a
 * loopback daemon, open its WebSockets, reach it through DNS rebinding, or
 * make it count a hit with a cross-site form post — while peers, `curl -d`
 * and JSON clients carry on as documented.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createWsTransport } from '../../transport/ws/ws-transport.js';
import type { Transport } from '../../transport/transport.js';
import { CliProcess, eventually, runCli, startCli, type DaemonProcess } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-browser-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, 'a-shared-secret-for-the-browser-test\n', { mode: 0o600 });
const LIMITER = ['--limiter', 'name=api,limit=5,window=60s'];

const spawned: CliProcess[] = [];
afterAll(() => {
  for (const p of spawned) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function start(args: string[]): Promise<DaemonProcess> {
  const d = await startCli(args);
  spawned.push(d.proc);
  return d;
}

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A plain HTTP request through node:http, which (unlike fetch) lets a test set `Host`. */
function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens a WebSocket to `path` with `headers`; resolves with 101 when it opened (then closes it), or the refusal's status and body. */
function upgrade(url: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, { headers, handshakeTimeout: 5_000 });
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, body: '', headers: {} });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    ws.once('error', (err) => reject(err));
  });
}

function errorCode(answer: Answer): unknown {
  return (JSON.parse(answer.body) as { error?: { code?: unknown } }).error?.code;
}

async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('a loopback daemon without a secret or token, visited by a browser (issue 9, defect 6)', () => {
  let d: DaemonProcess;
  let port: string;

  beforeAll(async () => {
    d = await start(['--id', 'solo', '--port', '0', ...LIMITER]);
    port = new URL(d.url).port;
  });

  it('refuses a WebSocket upgrade carrying an Origin header on /v1/mesh and /v1/stream with 403, and counts it', async () => {
    for (const [path, endpoint] of [
      ['/v1/mesh', 'mesh'],
      ['/v1/stream', 'stream'],
    ] as const) {
      const answer = await upgrade(d.url, path, { origin: 'https://evil.example' });
      expect(answer.status, path).toBe(403);
      expect(errorCode(answer), path).toBe('TALLYMESH_ERR_HTTP_ORIGIN_REFUSED');
      expect(await metric(d.url, `tallymesh_browser_refused_total{reason="origin",endpoint="${endpoint}"}`)).toBe(1);
    }
    // An opaque origin (a sandboxed frame, a file:// page) is a browser too.
    expect((await upgrade(d.url, '/v1/stream', { origin: 'null' })).status).toBe(403);
    // Sec-Fetch-Site is only ever sent by browsers.
    expect((await upgrade(d.url, '/v1/mesh', { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // Node's own WebSocket sends Sec-Fetch-Mode but no Origin: not a browser, and the stream opens.
    expect((await upgrade(d.url, '/v1/stream', { 'sec-fetch-mode': 'websocket' })).status).toBe(101);
  });

  it('cannot be joined by a peer that computes the handshake HMAC with an empty key', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const events: string[] = [];
    const intruder: Transport = createWsTransport({ nodeId: 'intruder', incarnation: randomUUID(), secret: '', server, advertise: '127.0.0.1:1' });
    await intruder.start({
      onPeerUp: (p) => events.push(`up:${p.nodeId}`),
      onPeerDown: () => {},
      onFrame: () => {},
      onOverflow: () => {},
      onReject: (_who, reason) => events.push(`reject:${reason}`),
    });
    try {
      intruder.connect(d.address);
      // Whichever side checks a proof first refuses the handshake: wait for that (or for the join this test forbids).
      await eventually(
        async () => events.length > 0 || (await metric(d.url, 'tallymesh_frames_rejected_total{reason="auth"}')) > 0,
        10_000,
        'the handshake to end',
      );
      expect(events.filter((e) => e.startsWith('up:'))).toEqual([]);
      const cluster = (await (await fetch(`${d.url}/v1/cluster`)).json()) as { peers: Array<{ nodeId: string }> };
      expect(cluster.peers.map((p) => p.nodeId)).not.toContain('intruder');
    } finally {
      await intruder.close();
      server.close();
    }
  });

  it('refuses Host: evil.example (DNS rebinding) with 421 on requests and upgrades, and answers 127.0.0.1 and localhost', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`]) {
      const cluster = await request(`${d.url}/v1/cluster`, { headers: { host } });
      expect(cluster.status, host).toBe(421);
      expect(errorCode(cluster)).toBe('TALLYMESH_ERR_HTTP_HOST_REFUSED');
      const consume = await request(`${d.url}/v1/consume`, {
        method: 'POST',
        headers: { host, 'content-type': 'application/json' },
        body: '{"limiter":"api","key":"rebound"}',
      });
      expect(consume.status, host).toBe(421);
    }
    const stream = await upgrade(d.url, '/v1/stream', { host: `evil.example:${port}` });
    expect(stream.status).toBe(421);
    expect(errorCode(stream)).toBe('TALLYMESH_ERR_HTTP_HOST_REFUSED');
    expect((await upgrade(d.url, '/v1/mesh', { host: `evil.example:${port}` })).status).toBe(421);
    expect(await metric(d.url, 'tallymesh_browser_refused_total{reason="host",endpoint="http"}')).toBe(6);
    expect(await metric(d.url, 'tallymesh_browser_refused_total{reason="host",endpoint="stream"}')).toBe(1);
    expect(await metric(d.url, 'tallymesh_browser_refused_total{reason="host",endpoint="mesh"}')).toBe(1);

    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`, `127.0.0.2:${port}`]) {
      expect((await request(`${d.url}/v1/cluster`, { headers: { host } })).status, host).toBe(200);
    }
    const peek = await request(`${d.url}/v1/limiters/api/keys/rebound`, { headers: { host: `localhost:${port}` } });
    expect(JSON.parse(peek.body)).toMatchObject({ remaining: 5 });
    expect((await upgrade(d.url, '/v1/stream', { host: `localhost:${port}` })).status).toBe(101);
  });

  it('refuses a text/plain POST to /v1/consume with 415 and counts nothing; JSON and curl -d posts are answered', async () => {
    const body = '{"limiter":"api","key":"csrf"}';
    const plain = await request(`${d.url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    expect(plain.status).toBe(415);
    expect(errorCode(plain)).toBe('TALLYMESH_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE');
    // A form a page posts to the daemon: text/plain from a cross-site page (what the audit reproduced).
    const form = await request(`${d.url}/v1/consume`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
      body,
    });
    expect(form.status).toBe(403);
    expect(errorCode(form)).toBe('TALLYMESH_ERR_HTTP_ORIGIN_REFUSED');
    // Form-urlencoded is curl -d's type, and a browser's too: only without browser headers.
    const browserForm = await request(`${d.url}/v1/consume`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://127.0.0.1:${port}` },
      body,
    });
    expect(browserForm.status).toBe(415);
    const noType = await request(`${d.url}/v1/consume`, { method: 'POST', body });
    expect(noType.status).toBe(415);
    const peek = await request(`${d.url}/v1/limiters/api/keys/csrf`);
    expect(JSON.parse(peek.body)).toMatchObject({ remaining: 5 });

    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/merge-patch+json']) {
      const json = await request(`${d.url}/v1/consume`, { method: 'POST', headers: { 'content-type': type }, body });
      expect(json.status, type).toBe(200);
    }
    const curlStyle = await request(`${d.url}/v1/consume`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'curl/8.5.0', accept: '*/*' },
      body,
    });
    expect(curlStyle.status).toBe(200);
    expect(JSON.parse(curlStyle.body)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it.skipIf(!existsSync('/usr/bin/curl') && !existsSync('/bin/curl'))('answers the README curl line as printed (curl -d, Host localhost)', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile('curl', ['-s', `localhost:${port}/v1/consume`, '-d', '{"limiter":"api","key":"user:42"}'], (err, stdout) =>
        err === null ? resolve(stdout) : reject(err),
      ),
    );
    expect(JSON.parse(out)).toMatchObject({ allowed: true, limit: 5, remaining: 4 });
  });
});

describe('peers and non-browser clients (issue 9, defect 6)', () => {
  it('joins two daemons that share a secret, and a daemon bound to 0.0.0.0 answers any Host, as the fault suite addresses daemons by IP', async () => {
    const a = await start(['--id', 'a', '--host', '0.0.0.0', '--port', '0', '--secret-file', secretFile, ...LIMITER]);
    const b = await start(['--id', 'b', '--port', '0', '--peers', a.address, '--secret-file', secretFile, ...LIMITER]);
    await eventually(async () => {
      const [ca, cb] = await Promise.all([a.url, b.url].map(async (u) => (await (await fetch(`${u}/v1/cluster`)).json()) as { peers: Array<{ nodeId: string; reachable: boolean }> }));
      return ca.peers.some((p) => p.nodeId === 'b' && p.reachable) && cb.peers.some((p) => p.nodeId === 'a' && p.reachable);
    }, 15_000, 'a and b to join');
    const port = new URL(a.url).port;
    // What a load generator dialing 198.18.0.11 sends: its Host is the IP it dialed, not a loopback name.
    const viaIp = await request(`${a.url}/v1/consume`, {
      method: 'POST',
      headers: { host: `198.18.0.11:${port}`, 'content-type': 'application/json' },
      body: '{"limiter":"api","key":"by-ip"}',
    });
    expect(viaIp.status).toBe(200);
    // A wildcard bind cannot know its names, but browsers are still refused on its WebSockets.
    expect((await upgrade(a.url, '/v1/mesh', { origin: 'https://evil.example' })).status).toBe(403);
  });

  it('answers the names given with --allowed-hosts on a loopback daemon, and no others', async () => {
    const d = await start(['--id', 'named', '--port', '0', '--allowed-hosts', 'tallymesh.internal,.svc.example', ...LIMITER]);
    for (const host of ['tallymesh.internal', 'tallymesh.internal:7070', 'api.svc.example', 'svc.example', '127.0.0.1']) {
      expect((await request(`${d.url}/v1/cluster`, { headers: { host } })).status, host).toBe(200);
    }
    for (const host of ['evil.example', 'tallymesh.internal.evil.example', 'xsvc.example']) {
      expect((await request(`${d.url}/v1/cluster`, { headers: { host } })).status, host).toBe(421);
    }
  });

  it('refuses --peers without a cluster secret: such a node could join nobody (exit 2, naming --peers)', async () => {
    const r = await runCli(['start', '--port', '0', '--peers', '127.0.0.1:7999', ...LIMITER], {}, 10_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--peers');
    expect(r.stderr).toContain('secret');
  });
});
