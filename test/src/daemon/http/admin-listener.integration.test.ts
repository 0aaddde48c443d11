/**
 * The admin listener and the dashboard's routes on a real daemon: what the
 * plain port serves without a token and what it never serves, the browser
 * guard on it, the dashboard's headers and file lookup, the token-for-cookie
 * exchange on the main port, and a failed admin bind that leaves nothing
 * bound behind.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { closeAll, getJson, postJson, startTestDaemon } from '../../../helpers/daemon.js';
import { SseClient } from '../../../helpers/sse.js';
import { UI_CSP } from '../../../../src/daemon/ui/ui-routes.js';

afterEach(closeAll);

const TOKEN = 'an-api-token-for-the-admin-test';
const auth = { authorization: `Bearer ${TOKEN}` };

/** A request through node:http, which lets a test set Host, read every header, and send a path as it is (`..` included). */
function raw(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const m = /^(http:\/\/[^/]+)(\/.*)$/.exec(url) as RegExpExecArray;
  const { hostname, port } = new URL(m[1]!);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: m[2], method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the admin listener', () => {
  it('serves probes, metrics, the cluster, events and /ui without the token, and shows its port in /v1/cluster', async () => {
    const d = await startTestDaemon('a', { apiToken: TOKEN, adminPort: 0 });
    const admin = d.adminUrl!;
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const path of ['/healthz', '/readyz', '/metrics', '/v1/cluster', '/ui/']) expect((await raw(`${admin}${path}`)).status, path).toBe(200);
    // The event stream, live: a denial on the main port shows up on the admin listener's stream.
    const events = await SseClient.open(`${admin}/v1/events`);
    try {
      for (let i = 0; i < 6; i++) await postJson(`${d.url}/v1/consume`, { limiter: 'api', key: 'hot' }, auth);
      expect((await events.next((e) => e.event === 'denied')).event).toBe('denied');
    } finally {
      events.close();
    }
    const cluster = await getJson(`${admin}/v1/cluster`);
    expect(cluster.body.ports).toEqual({ http: Number(new URL(d.url).port), admin: Number(new URL(admin).port) });
    // The main port still wants the token for the same reads.
    expect((await getJson(`${d.url}/v1/cluster`)).status).toBe(401);
    expect((await getJson(`${d.url}/v1/cluster`, { headers: auth })).status).toBe(200);
  });

  it('never decides, resets or streams, with or without the token', async () => {
    const d = await startTestDaemon('a', { apiToken: TOKEN, adminPort: 0 });
    const admin = d.adminUrl!;
    expect((await postJson(`${admin}/v1/consume`, { limiter: 'api', key: 'k' }, auth)).status).toBe(404);
    expect((await raw(`${admin}/v1/limiters/api/keys/k`, { method: 'DELETE', headers: auth })).status).toBe(404);
    expect((await raw(`${admin}/v1/limiters/api/keys/k`, { headers: auth })).status).toBe(404);
    // No WebSocket of any kind: the stream and the peers' mesh are refused at the socket.
    for (const path of ['/v1/stream', '/v1/mesh']) {
      const ws = new WebSocket(`${admin.replace('http', 'ws')}${path}`, { headers: auth });
      await expect(new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))).rejects.toThrow();
    }
    // Nothing was counted.
    expect((await getJson(`${d.url}/v1/limiters/api/keys/k`, { headers: auth })).body.count).toBe(0);
  });

  it('refuses a Host it does not answer to, as the main port does (DNS rebinding)', async () => {
    const d = await startTestDaemon('a', { adminPort: 0 });
    const port = new URL(d.adminUrl!).port;
    const rebound = await raw(`${d.adminUrl}/v1/cluster`, { headers: { host: `evil.example:${port}` } });
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body).error.code).toBe('TALLYMESH_ERR_HTTP_HOST_REFUSED');
    expect((await raw(`${d.adminUrl}/ui/`, { headers: { host: `evil.example:${port}` } })).status).toBe(421);
    expect((await raw(`${d.adminUrl}/v1/cluster`, { headers: { host: `localhost:${port}` } })).status).toBe(200);
  });

  it('binds its own host, and a taken admin port fails the start and frees the main port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startTestDaemon('a', { adminPort: taken })).rejects.toMatchObject({ code: 'EADDRINUSE', port: taken });
    } finally {
      blocker.close();
    }
    const d = await startTestDaemon('b', { adminPort: 0, adminHost: '127.0.0.2' });
    expect(d.adminUrl).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    expect((await raw(`${d.adminUrl}/healthz`)).status).toBe(200);
  });

  it('closes with the daemon', async () => {
    const d = await startTestDaemon('a', { adminPort: 0 });
    const admin = d.adminUrl!;
    expect((await raw(`${admin}/readyz`)).status).toBe(200);
    await d.close('test');
    await expect(raw(`${admin}/readyz`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('the dashboard routes', () => {
  it('serve the page with a strict CSP and no-sniff, redirect /ui to /ui/, and 404 anything outside the files', async () => {
    const d = await startTestDaemon('a', { apiToken: TOKEN });
    const page = await raw(`${d.url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(UI_CSP);
    expect(UI_CSP).toContain("script-src 'self'");
    expect(UI_CSP).not.toContain('unsafe');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const redirect = await raw(`${d.url}/ui`);
    expect([redirect.status, redirect.headers.location]).toEqual([308, '/ui/']);
    expect((await raw(`${d.url}/ui/vendor/uPlot.iife.min.js`)).headers['content-type']).toBe('text/javascript; charset=utf-8');
    for (const path of ['/ui/nope.js', '/ui/../package.json', '/ui/%2e%2e/%2e%2e/package.json', '/ui/vendor/../../ui-routes.ts', '/ui/ui-routes.ts', '/ui//etc/passwd']) {
      const res = await raw(`${d.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body).error.code).toBe('TALLYMESH_ERR_HTTP_NOT_FOUND');
    }
    expect((await raw(`${d.url}/ui/`, { method: 'POST' })).status).toBe(405);
  });

  it('exchange the token for a session cookie that opens the dashboard reads and nothing else', async () => {
    const d = await startTestDaemon('a', { apiToken: TOKEN });
    const wrong = await raw(`${d.url}/ui/session`, { method: 'POST', headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect((await raw(`${d.url}/ui/session`, { method: 'POST' })).status).toBe(401);
    const ok = await raw(`${d.url}/ui/session`, { method: 'POST', headers: auth });
    expect(ok.status).toBe(204);
    const cookie = ok.headers['set-cookie']![0]!.split(';')[0]!;
    expect(ok.headers['set-cookie']![0]).toMatch(/; HttpOnly; SameSite=Strict$/);
    expect((await raw(`${d.url}/v1/cluster`, { headers: { cookie } })).status).toBe(200);
    expect((await postJson(`${d.url}/v1/consume`, { limiter: 'api', key: 'k' }, { cookie })).status).toBe(401);
    expect((await raw(`${d.url}/metrics`, { headers: { cookie } })).status).toBe(401);
    expect((await raw(`${d.url}/v1/limiters/api/keys/k`, { method: 'DELETE', headers: { cookie } })).status).toBe(401);
    // A cross-site page cannot log a browser in (login CSRF): the browser guard refuses the write.
    const crossSite = await raw(`${d.url}/ui/session`, { method: 'POST', headers: { ...auth, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    // The page asks whether it needs to log in.
    expect(JSON.parse((await raw(`${d.url}/ui/session`)).body)).toEqual({ tokenRequired: true, session: false });
    expect(JSON.parse((await raw(`${d.url}/ui/session`, { headers: { cookie } })).body)).toEqual({ tokenRequired: true, session: true });
    // Logging out clears the cookie.
    const out = await raw(`${d.url}/ui/session`, { method: 'DELETE' });
    expect([out.status, out.headers['set-cookie']?.[0]]).toEqual([204, `tallymesh_ui_${new URL(d.url).port}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`]);
  });

  it('hand out no cookie on a node without a token, and none on the admin listener', async () => {
    const d = await startTestDaemon('a', { adminPort: 0 });
    const open = await raw(`${d.url}/ui/session`, { method: 'POST' });
    expect([open.status, open.headers['set-cookie']]).toEqual([204, undefined]);
    expect((await raw(`${d.adminUrl}/ui/session`, { method: 'POST', headers: auth })).status).toBe(404);
    expect(JSON.parse((await raw(`${d.adminUrl}/ui/session`)).body)).toEqual({ tokenRequired: false, session: false });
  });
});
