/**
 * Fuzzes the daemon's HTTP API: a real daemon (`tallymesh start` on
 * 127.0.0.1, no secret) gets random and mutated bodies, paths, methods and
 * headers, plus raw malformed HTTP on bare sockets, while an honest client
 * keeps consuming beside it. Properties: never a 5xx; every API error is
 * JSON `{ error: { code: 'TALLYMESH_ERR_…', message } }`; the honest client
 * is always answered 200; the daemon stays up with bounded RSS.
 *
 * Needs `npm run build` first (`npm run fuzz` does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrng, type Prng } from '../../transport/sim/prng.js';
import { cliEntry } from '../faults/daemon.js';
import { requestJson, type JsonResponse } from '../faults/http.js';
import { SCALE, SEED, summary } from './fuzz-env.js';

const REQUESTS = 5_000 * SCALE;
const RAW_SOCKETS = 200 * SCALE;
const LIMIT_BODY = 1024 * 1024;

const VALID_BODIES: unknown[] = [
  { limiter: 'api', key: 'user:1' },
  { limiter: 'api', key: 'user:2', cost: 3 },
  { limiter: 'small', key: 'k' },
  { requests: [{ limiter: 'api', key: 'a' }, { limiter: 'small', key: 'b', cost: 2 }, { limiter: 'big', key: 'c' }] },
];

function hostileJson(rng: Prng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 10 : 13)) {
    case 0: return null;
    case 1: return rng.next() < 0.5;
    case 2: return [0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e21, 101, 1000, 1e9][rng.int(9)];
    case 3: return '';
    case 4: return 'k'.repeat([255, 256, 257, 1000, 100_000][rng.int(5)]);
    case 5: return ['api', 'small', 'big', 'nope', '__proto__', 'constructor', '../', '%00', 'é', '\u0000'][rng.int(10)];
    case 6: return '🙂'.repeat(64 + rng.int(2));
    case 7: return String(rng.int(1000));
    case 8: return rng.int(10) - 2;
    case 9: return '\ud800';
    case 10: return Array.from({ length: [0, 1, 5, 1000, 1001][rng.int(5)] }, () => ({ limiter: 'api', key: `b${rng.int(5)}` }));
    case 11: return { limiter: hostileJson(rng, depth + 1), key: hostileJson(rng, depth + 1), cost: hostileJson(rng, depth + 1) };
    default: return Array.from({ length: rng.int(4) }, () => hostileJson(rng, depth + 1));
  }
}

function mutateJson(value: unknown, rng: Prng): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  const r = rng.next();
  if (r < 0.15) return hostileJson(rng);
  const target = Array.isArray(copy.requests) && rng.next() < 0.5 ? (copy.requests as Record<string, unknown>[])[rng.int((copy.requests as unknown[]).length)] : copy;
  const field = ['limiter', 'key', 'cost', 'requests', '__proto__', 'extra'][rng.int(6)];
  if (rng.next() < 0.2) delete target[field];
  else target[field] = hostileJson(rng);
  return copy;
}

/** The text of a body: JSON of a mutated value, or bytes mangled after serialising. */
function bodyText(rng: Prng): Buffer {
  const base = VALID_BODIES[rng.int(VALID_BODIES.length)];
  const text = Buffer.from(JSON.stringify(mutateJson(base, rng)) ?? 'null');
  const r = rng.next();
  if (r < 0.7) return text;
  if (r < 0.8) return text.subarray(0, rng.int(text.length + 1));
  if (r < 0.9) {
    for (let i = 1 + rng.int(4); i > 0 && text.length > 0; i--) text[rng.int(text.length)] = rng.int(256);
    return text;
  }
  if (r < 0.95) return Buffer.from('['.repeat(100_000) + ']'.repeat(100_000));
  return Buffer.from(`{"limiter":"api","key":"${'x'.repeat(LIMIT_BODY)}"}`);
}

function randomPath(rng: Prng): string {
  const key = ['user:1', '%E0%A4%A', '%', 'a'.repeat(300), '%F0%9F%99%82', encodeURIComponent('k/with/slash'), '..%2F..', ''][rng.int(8)];
  return [
    `/v1/limiters/api/keys/${key}`,
    `/v1/limiters/nope/keys/${key}`,
    `/v1/limiters/${'x'.repeat(rng.int(100))}/keys/k`,
    '/v1/consume?x=1',
    '/v1/cluster',
    '/v1/unknown',
    '/metrics',
    '//v1//consume',
    `/${'a'.repeat(rng.int(4_000))}`,
  ][rng.int(9)];
}

const ALLOWED = new Set([200, 204, 400, 404, 405, 411, 413, 414, 415, 429, 431]);

describe(`HTTP API fuzz (seed ${SEED})`, () => {
  let proc: ChildProcess;
  let url = '';
  const stderr: string[] = [];

  beforeAll(async () => {
    proc = spawn(
      process.execPath,
      [cliEntry(), 'start', '--id', 'fuzz', '--port', '0', '--limiter', 'name=api,limit=100,window=60s', '--limiter', 'name=small,limit=3,window=10s', '--limiter', 'name=big,limit=1000000000,window=60s'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TALLYMESH_LOG_LEVEL: 'warn' } },
    );
    proc.stderr?.on('data', (c: Buffer) => stderr.push(c.toString()));
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`daemon did not start: ${out} ${stderr.join('')}`)), 20_000);
      proc.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /tallymesh listening on (http:\/\/\S+)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      proc.once('exit', (code) => reject(new Error(`daemon exited (${code}): ${stderr.join('')}`)));
    });
  });

  afterAll(() => {
    proc?.kill('SIGKILL');
  });

  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

  it(`answers ${REQUESTS.toLocaleString('en-US')} mutated requests and ${RAW_SOCKETS} malformed connections without a 5xx, and the honest client is unaffected`, async () => {
    const rng = createPrng(SEED);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const statuses: Record<string, number> = {};
    const failures: string[] = [];
    const honest = { ok: 0, bad: [] as string[] };
    let running = true;
    const honestLoop = (async () => {
      const honestAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; running && i < 1_000_000; i++) {
        const r = await requestJson(`${url}/v1/consume`, { method: 'POST', body: { limiter: 'big', key: 'honest' }, agent: honestAgent, timeoutMs: 5_000 }).catch((e: Error) => e);
        if (r instanceof Error || r.status !== 200) honest.bad.push(r instanceof Error ? r.message : `status ${r.status}`);
        else honest.ok++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      honestAgent.destroy();
    })();
    const rssStart = rss();
    const t0 = Date.now();

    const one = async (i: number): Promise<void> => {
      const r = rng.next();
      const method = r < 0.75 ? 'POST' : ['GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD'][rng.int(6)];
      const path = r < 0.6 ? '/v1/consume' : randomPath(rng);
      const headers: Record<string, string> = {};
      const ct = rng.next();
      if (ct < 0.7) headers['content-type'] = 'application/json';
      else if (ct < 0.8) headers['content-type'] = ['text/plain', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', '*/*'][rng.int(4)];
      if (rng.next() < 0.05) headers.authorization = ['Bearer', 'Bearer x', 'Basic Zm9vOmJhcg==', 'Bearer ' + 'y'.repeat(5_000)][rng.int(4)];
      if (rng.next() < 0.02) headers['x-big'] = 'z'.repeat(20_000);
      const body = method === 'GET' || method === 'HEAD' ? undefined : bodyText(rng);
      let res: JsonResponse;
      try {
        res = await requestJson(`${url}${path}`, { method, raw: body, headers, agent, timeoutMs: 5_000 });
      } catch (err) {
        // Past a bound (body over 1 MiB: 413; headers over Node's 16 KiB: 431) the server answers and
        // closes while the client may still be sending: a reset is the request being closed. Else a failure.
        const big = (body !== undefined && body.length > LIMIT_BODY) || JSON.stringify(headers).length > 16_000;
        const outcome = big ? 'closed (over a bound)' : 'no answer';
        statuses[outcome] = (statuses[outcome] ?? 0) + 1;
        if (!big && failures.length < 10) failures.push(`#${i} ${method} ${path.slice(0, 60)} (body ${body?.length ?? 0} B, headers ${JSON.stringify(headers).length} B): ${(err as Error).message}`);
        return;
      }
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (!ALLOWED.has(res.status) && failures.length < 10) failures.push(`#${i} ${method} ${path.slice(0, 60)} → ${res.status} ${res.text.slice(0, 200)}`);
      if (res.status >= 400 && res.status !== 431 && method !== 'HEAD') {
        const code = (res.body as { error?: { code?: unknown } } | null)?.error?.code;
        if ((typeof code !== 'string' || !code.startsWith('TALLYMESH_ERR_')) && failures.length < 10) {
          failures.push(`#${i} ${method} ${path.slice(0, 60)} → ${res.status} without an error code: ${res.text.slice(0, 200)}`);
        }
      }
    };
    for (let i = 0; i < REQUESTS; i += 8) await Promise.all(Array.from({ length: Math.min(8, REQUESTS - i) }, (_, j) => one(i + j)));

    // Malformed HTTP on bare sockets: the server answers 4xx or closes; nothing else moves.
    const rawOutcomes: Record<string, number> = {};
    for (let i = 0; i < RAW_SOCKETS; i++) {
      const outcome = await rawRequest(url, malformedHttp(rng));
      rawOutcomes[outcome] = (rawOutcomes[outcome] ?? 0) + 1;
    }
    for (const outcome of Object.keys(rawOutcomes)) if (outcome.startsWith('5')) failures.push(`malformed HTTP answered ${outcome}`);
    running = false;
    await honestLoop;
    agent.destroy();
    const health = await requestJson(`${url}/healthz`).catch(() => null);
    const growth = rss() - rssStart;
    summary('http-api', { requests: REQUESTS, rawSockets: RAW_SOCKETS, statuses, rawOutcomes, honestOk: honest.ok, honestBad: honest.bad.length, rssGrowthMb: growth / 2 ** 20, seconds: (Date.now() - t0) / 1000 });
    expect(failures, failures.join('\n')).toEqual([]);
    expect(honest.bad.slice(0, 5)).toEqual([]);
    expect(honest.ok).toBeGreaterThan(10);
    expect(health?.status).toBe(200);
    expect(proc.exitCode).toBe(null);
    expect(growth).toBeLessThan(200 * 2 ** 20);
  });
});

/** A malformed HTTP/1.1 request. */
function malformedHttp(rng: Prng): Buffer {
  const cases = [
    () => Buffer.from('POST /v1/consume HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'),
    () => Buffer.from('POST /v1/consume HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{"a":1}'),
    () => Buffer.from('POST /v1/consume HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
    () => Buffer.from(`GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
    () => Buffer.from('GARBAGE\r\n\r\n'),
    () => Buffer.from(`POST /v1/consume HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"limiter":`),
    () => Buffer.from('POST /v1/consume HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\n'),
    () => Buffer.from(Array.from({ length: 1 + rng.int(2_000) }, () => rng.int(256))),
    () => Buffer.from('GET /healthz HTTP/9.9\r\n\r\n'),
    () => Buffer.from(`POST /v1/consume HTTP/1.1\r\nHost: x\r\n${'X: y\r\n'.repeat(3_000)}\r\n`),
  ];
  return cases[rng.int(cases.length)]();
}

/** Writes `bytes` on a fresh socket; returns how the server reacted (bounded to 0.3 s). */
function rawRequest(url: string, bytes: Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let answer = '';
    const finish = (outcome: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(answer === '' ? 'held open (client gave up after 0.3 s)' : answer), 300);
    socket.on('data', (c: Buffer) => {
      if (answer === '') answer = /^HTTP\/1\.[01] (\d{3})/.exec(c.toString('latin1'))?.[1] ?? 'non-HTTP answer';
    });
    socket.on('error', () => finish(answer === '' ? 'reset' : answer));
    socket.on('close', () => finish(answer === '' ? 'closed' : answer));
    socket.write(bytes);
  });
}
