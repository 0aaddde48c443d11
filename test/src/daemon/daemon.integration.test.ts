import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon } from '../../../src/daemon/daemon.js';
import { closeAll, getJson, postJson, startTestDaemon, testConfig } from '../../helpers/daemon.js';

afterEach(closeAll);

const consumeUrl = (base: string) => `${base}/v1/consume`;

describe('the daemon HTTP API', () => {
  it('answers a single consume with a decision, and a denial with 200 and allowed: false', async () => {
    const d = await startTestDaemon('a');
    const seen = [];
    for (let i = 0; i < 6; i++) seen.push(await postJson(consumeUrl(d.url), { limiter: 'api', key: 'user:1' }));
    expect(seen.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(seen.map((r) => r.body.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(seen[0].headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(seen[0].body).toMatchObject({ allowed: true, limit: 5, retryAfterMs: 0 });
    expect(Object.keys(seen[0].body).sort()).toEqual(['allowed', 'limit', 'remaining', 'resetMs', 'retryAfterMs']);
    expect(seen[5].body.allowed).toBe(false);
    expect(seen[5].body.retryAfterMs).toBeGreaterThan(0);
  });

  it('counts the cost of a request', async () => {
    const d = await startTestDaemon('a');
    expect((await postJson(consumeUrl(d.url), { limiter: 'api', key: 'k', cost: 3 })).body.remaining).toBe(2);
    expect((await postJson(consumeUrl(d.url), { limiter: 'api', key: 'k', cost: 3 })).body.allowed).toBe(false);
  });

  it('decides a batch in order and answers a bad item with an error in its place', async () => {
    const d = await startTestDaemon('a');
    const r = await postJson(consumeUrl(d.url), {
      requests: [
        { limiter: 'api', key: 'k' },
        { limiter: 'nope', key: 'k' },
        { limiter: 'api', key: '' },
        { limiter: 'api', key: 'k', cost: 0 },
        'not an object',
        { limiter: 'api', key: 'k', cost: 2 },
      ],
    });
    expect(r.status).toBe(200);
    const codes = r.body.results.map((x: any) => x.error?.code ?? (x.allowed ? 'allowed' : 'denied'));
    expect(codes).toEqual([
      'allowed',
      'TALLYMESH_ERR_LIMITER_UNKNOWN',
      'TALLYMESH_ERR_KEY_INVALID',
      'TALLYMESH_ERR_COST_INVALID',
      'TALLYMESH_ERR_HTTP_BAD_REQUEST',
      'allowed',
    ]);
    expect(r.body.results[5].remaining).toBe(2);
    for (const x of r.body.results.filter((x: any) => x.error)) expect(x.error.message).toEqual(expect.any(String));
  });

  it('answers an empty batch with no results', async () => {
    const d = await startTestDaemon('a');
    expect(await postJson(consumeUrl(d.url), { requests: [] })).toMatchObject({ status: 200, body: { results: [] } });
  });

  it('peeks without counting and resets a key', async () => {
    const d = await startTestDaemon('a');
    await postJson(consumeUrl(d.url), { limiter: 'api', key: 'k', cost: 3 });
    const key = `${d.url}/v1/limiters/api/keys/k`;
    for (let i = 0; i < 2; i++) {
      expect(await getJson(key)).toMatchObject({ status: 200, body: { allowed: true, limit: 5, remaining: 2, count: 3 } });
    }
    const reset = await fetch(key, { method: 'DELETE' });
    expect(reset.status).toBe(204);
    expect(await reset.text()).toBe('');
    expect(await getJson(key)).toMatchObject({ status: 200, body: { remaining: 5, count: 0 } });
  });

  it('percent-decodes the key in the path, slashes included', async () => {
    const d = await startTestDaemon('a');
    await postJson(consumeUrl(d.url), { limiter: 'api', key: 'user/42 é?#' });
    const path = `${d.url}/v1/limiters/api/keys/${encodeURIComponent('user/42 é?#')}`;
    expect((await getJson(path)).body.count).toBe(1);
  });

  it('serves the cluster view with limiters and key counts', async () => {
    const d = await startTestDaemon('a', { maxKeys: 1000 });
    await postJson(consumeUrl(d.url), { requests: [{ limiter: 'api', key: 'x' }, { limiter: 'api', key: 'y' }] });
    const r = await getJson(`${d.url}/v1/cluster`);
    expect(r.status).toBe(200);
    expect(r.body.node).toMatchObject({ nodeId: 'a', address: d.address, ready: true });
    expect(r.body.peers).toEqual([]);
    expect(r.body.limiters).toEqual([expect.objectContaining({ name: 'api', limit: 5, windowMs: 60_000, keys: 2, allowed: 2, denied: 0 })]);
    expect(r.body.keys).toEqual({ total: 2, max: 1000 });
  });

  it('reports liveness and readiness of a lone node', async () => {
    const d = await startTestDaemon('a');
    expect(await getJson(`${d.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await getJson(`${d.url}/readyz`)).toMatchObject({ status: 200, body: { ready: true, peers: [] } });
  });
});

describe('bad input', () => {
  const long = 'é'.repeat(129); // 258 bytes of UTF-8
  const cases: Array<[string, unknown, number, string]> = [
    ['malformed JSON', '{"limiter": "api",', 400, 'TALLYMESH_ERR_HTTP_BAD_JSON'],
    ['an empty body', '', 400, 'TALLYMESH_ERR_HTTP_BAD_JSON'],
    ['a body that is not an object', '[1, 2]', 400, 'TALLYMESH_ERR_HTTP_BAD_REQUEST'],
    ['an unknown limiter', { limiter: 'nope', key: 'k' }, 404, 'TALLYMESH_ERR_LIMITER_UNKNOWN'],
    ['a limiter that is not a string', { limiter: 7, key: 'k' }, 400, 'TALLYMESH_ERR_HTTP_BAD_REQUEST'],
    ['an empty key', { limiter: 'api', key: '' }, 400, 'TALLYMESH_ERR_KEY_INVALID'],
    ['a missing key', { limiter: 'api' }, 400, 'TALLYMESH_ERR_KEY_INVALID'],
    ['a key that is not a string', { limiter: 'api', key: 42 }, 400, 'TALLYMESH_ERR_KEY_INVALID'],
    ['a key over 256 bytes', { limiter: 'api', key: long }, 400, 'TALLYMESH_ERR_KEY_TOO_LONG'],
    ['cost 0', { limiter: 'api', key: 'k', cost: 0 }, 400, 'TALLYMESH_ERR_COST_INVALID'],
    ['a negative cost', { limiter: 'api', key: 'k', cost: -1 }, 400, 'TALLYMESH_ERR_COST_INVALID'],
    ['a fractional cost', { limiter: 'api', key: 'k', cost: 1.5 }, 400, 'TALLYMESH_ERR_COST_INVALID'],
    ['a cost given as a string', { limiter: 'api', key: 'k', cost: '2' }, 400, 'TALLYMESH_ERR_COST_INVALID'],
    ['a cost above the limit', { limiter: 'api', key: 'k', cost: 6 }, 400, 'TALLYMESH_ERR_COST_INVALID'],
    ['requests that are not an array', { requests: { limiter: 'api' } }, 400, 'TALLYMESH_ERR_HTTP_BAD_REQUEST'],
    ['a batch of 1,001', { requests: Array.from({ length: 1001 }, () => ({ limiter: 'api', key: 'k' })) }, 400, 'TALLYMESH_ERR_HTTP_BATCH_TOO_LARGE'],
  ];

  it.each(cases)('answers %s with %i and its code', async (_name, body, status, code) => {
    const d = await startTestDaemon('a');
    const r = await postJson(consumeUrl(d.url), body);
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(r.body).toEqual({ error: { code, message: expect.any(String) } });
    // and harms nothing: the next good request is served
    expect((await postJson(consumeUrl(d.url), { limiter: 'api', key: 'after' })).body.allowed).toBe(true);
  });

  it('accepts the bounds themselves: a 256-byte key, cost equal to the limit, a batch of 1,000', async () => {
    const d = await startTestDaemon('a');
    expect((await postJson(consumeUrl(d.url), { limiter: 'api', key: 'é'.repeat(128) })).status).toBe(200);
    expect((await postJson(consumeUrl(d.url), { limiter: 'api', key: 'k', cost: 5 })).body.allowed).toBe(true);
    const batch = await postJson(consumeUrl(d.url), { requests: Array.from({ length: 1000 }, (_, i) => ({ limiter: 'api', key: `b${i}` })) });
    expect(batch.status).toBe(200);
    expect(batch.body.results).toHaveLength(1000);
  });

  it('refuses a body that is not UTF-8 as bad JSON', async () => {
    const d = await startTestDaemon('a');
    const r = await fetch(consumeUrl(d.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]) });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('TALLYMESH_ERR_HTTP_BAD_JSON');
  });

  it('refuses a body over 1 MiB with 413, declared or streamed', async () => {
    const d = await startTestDaemon('a');
    const big = `{"limiter":"api","key":"${'x'.repeat(1024 * 1024)}"}`;
    const declared = await postJson(consumeUrl(d.url), big);
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('TALLYMESH_ERR_HTTP_BODY_TOO_LARGE');
    // Chunked: no Content-Length, so the bound is found while reading.
    const chunks = Readable.from((function* () {
      for (let i = 0; i < 20; i++) yield Buffer.alloc(64 * 1024, 0x20);
    })());
    const streamed = await fetch(consumeUrl(d.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Readable.toWeb(chunks) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe('TALLYMESH_ERR_HTTP_BODY_TOO_LARGE');
    expect((await postJson(consumeUrl(d.url), { limiter: 'api', key: 'k' })).status).toBe(200);
  });

  it('answers bad keys and limiters in the path', async () => {
    const d = await startTestDaemon('a');
    const base = `${d.url}/v1/limiters`;
    expect((await getJson(`${base}/nope/keys/k`)).body.error.code).toBe('TALLYMESH_ERR_LIMITER_UNKNOWN');
    expect((await getJson(`${base}/nope/keys/k`, { method: 'DELETE' })).status).toBe(404);
    const tooLong = await getJson(`${base}/api/keys/${'k'.repeat(257)}`);
    expect([tooLong.status, tooLong.body.error.code]).toEqual([400, 'TALLYMESH_ERR_KEY_TOO_LONG']);
    for (const bad of ['%', '%E0%A4%A', '%zz']) {
      const r = await getJson(`${base}/api/keys/${bad}`);
      expect([r.status, r.body.error.code]).toEqual([400, 'TALLYMESH_ERR_HTTP_BAD_REQUEST']);
    }
  });

  it('answers unknown routes with 404, wrong methods with 405, and a plain GET of the stream with 426', async () => {
    const d = await startTestDaemon('a');
    const unknown = await getJson(`${d.url}/v2/nothing`);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'TALLYMESH_ERR_HTTP_NOT_FOUND']);
    const wrong = await getJson(consumeUrl(d.url));
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(wrong.body.error.code).toBe('TALLYMESH_ERR_HTTP_METHOD_NOT_ALLOWED');
    expect((await getJson(`${d.url}/v1/limiters/api/keys/k`, { method: 'PUT' })).headers.get('allow')).toBe('GET, DELETE');
    const stream = await getJson(`${d.url}/v1/stream`);
    expect(stream.status).toBe(426);
    expect(stream.body.error.code).toBe('TALLYMESH_ERR_HTTP_UPGRADE_REQUIRED');
  });
});

describe('the bearer token', () => {
  const TOKEN = 'tok-1234567890';

  it('is required everywhere but the probes, and compared exactly', async () => {
    const d = await startTestDaemon('a', { apiToken: TOKEN });
    const body = JSON.stringify({ limiter: 'api', key: 'k' });
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, `Bearer`, TOKEN]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      const r = await fetch(consumeUrl(d.url), { method: 'POST', body, headers });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="tallymesh"');
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('TALLYMESH_ERR_HTTP_UNAUTHORIZED');
    }
    for (const path of ['/v1/cluster', '/v1/limiters/api/keys/k', '/metrics', '/v1/events', '/nowhere']) {
      expect((await fetch(`${d.url}${path}`)).status).toBe(401);
    }
    expect((await fetch(`${d.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${d.url}/readyz`)).status).toBe(200);
    for (const scheme of ['Bearer', 'bearer']) {
      const r = await postJson(consumeUrl(d.url), { limiter: 'api', key: 'k' }, { authorization: `${scheme} ${TOKEN}` });
      expect(r.status).toBe(200);
    }
    expect((await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });
});

describe('startDaemon', () => {
  it('refuses an invalid config before binding, naming the field', async () => {
    await expect(startDaemon(testConfig('a', { eventsDeniedPerSec: -1 }))).rejects.toMatchObject({ code: 'TALLYMESH_ERR_OPTION_RANGE', message: expect.stringContaining('eventsDeniedPerSec') });
    await expect(startDaemon(testConfig('a', { host: '0.0.0.0', secret: '' }))).rejects.toMatchObject({ code: 'TALLYMESH_ERR_OPTION_RANGE', message: expect.stringContaining('host') });
    await expect(startDaemon(testConfig('a', { limiters: [{ name: 'api', limit: 0, windowMs: 1000 }] }))).rejects.toMatchObject({ message: expect.stringContaining('limit') });
  });

  it('rejects with the listen error when the port is taken', async () => {
    const a = await startTestDaemon('a');
    const port = Number(new URL(a.url).port);
    await expect(startTestDaemon('b', { port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('lets one limiter hold the whole node-wide key bound', async () => {
    const d = await startTestDaemon('a', { maxKeys: 3 });
    expect(d.mesh.get('api')?.maxKeys).toBe(3);
  });
});
