/**
 * The middleware against real servers on 127.0.0.1 port 0 and a real HTTP
 * client (global fetch). One shared suite runs against node:http, Express 5
 * and Fastify 5; framework-specific typing and error paths follow. Time is a
 * variable the limiter reads (`now: () => now`): no sleeps.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLimiter, type Limiter } from '../../../src/limiter/limiter.js';
import {
  expressRateLimit,
  fastifyRateLimit,
  rateLimit,
  type NodeRateLimitOptions,
  type RateLimitOptions,
} from '../../../src/http/index.js';

/** Bucket-aligned start time (buckets are 1 s wide below), so every figure is exact. */
const T0 = 1_700_000_000_000;

/** The request fields the shared callbacks read; node:http, Express and Fastify requests all have them. */
interface CommonRequest {
  headers: IncomingHttpHeaders;
  url?: string;
}

type SharedOptions = Omit<RateLimitOptions<CommonRequest, unknown>, 'limiter'>;

interface Running {
  url: string;
  close(): Promise<void>;
}

interface Framework {
  name: string;
  serve(limiter: Limiter, options: SharedOptions): Promise<Running>;
  /** Sends a plain-text body from onLimited. */
  sendText(res: unknown, text: string): void;
}

async function listen(server: Server): Promise<Running> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

const frameworks: Framework[] = [
  {
    name: 'node:http',
    serve(limiter, options) {
      const limit = rateLimit({ ...(options as Omit<NodeRateLimitOptions, 'limiter'>), limiter });
      return listen(
        createServer((req, res) => {
          if (!limit(req, res)) return;
          res.setHeader('Content-Type', 'text/plain');
          res.end('ok');
        }),
      );
    },
    sendText: (res, text) => (res as ServerResponse).end(text),
  },
  {
    name: 'express',
    serve(limiter, options) {
      const app = express();
      app.use(expressRateLimit({ ...(options as RateLimitOptions<Request, Response>), limiter }));
      app.use((_req: Request, res: Response) => {
        res.type('text/plain').send('ok');
      });
      // next(err) from the middleware lands here: the usual JSON error handler of an API.
      app.use((err: Error & { statusCode?: number; code?: string }, _req: Request, res: Response, _next: NextFunction) => {
        res.status(err.statusCode ?? 500).json({ error: { code: err.code, message: err.message } });
      });
      return listen(createServer(app));
    },
    sendText: (res, text) => {
      (res as Response).send(text);
    },
  },
  {
    name: 'fastify',
    async serve(limiter, options) {
      const app = Fastify();
      app.addHook('onRequest', fastifyRateLimit({ ...(options as RateLimitOptions<FastifyRequest, FastifyReply>), limiter }));
      app.all('/*', async (_req, reply) => {
        reply.type('text/plain');
        return 'ok';
      });
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      return { url, close: () => app.close() };
    },
    sendText: (res, text) => {
      (res as FastifyReply).send(text);
    },
  },
];

interface Reply {
  status: number;
  policy: string | null;
  state: string | null;
  retryAfter: string | null;
  contentType: string | null;
  text: string;
}

/** The error code in an error body: ours is { error: { code } }, Fastify's own handler sends { code }. */
function errorCode(text: string): unknown {
  const body = JSON.parse(text) as { code?: string; error?: { code?: string } };
  return body.error?.code ?? body.code;
}

describe.each(frameworks)('$name middleware', (framework) => {
  let now: number;
  let limiter: Limiter;
  let running: Running | undefined;

  beforeEach(() => {
    now = T0;
    limiter = createLimiter({ name: 'api', limit: 3, windowMs: 10_000, now: () => now });
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function serve(options: SharedOptions = {}, target = limiter): Promise<void> {
    running = await framework.serve(target, options);
  }

  async function get(path = '/', headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(`${running!.url}${path}`, { headers });
    return {
      status: res.status,
      policy: res.headers.get('ratelimit-policy'),
      state: res.headers.get('ratelimit'),
      retryAfter: res.headers.get('retry-after'),
      contentType: res.headers.get('content-type'),
      text: await res.text(),
    };
  }

  it('sets RateLimit-Policy and RateLimit on allowed requests', async () => {
    await serve();
    for (const remaining of [2, 1, 0]) {
      const r = await get();
      expect(r.status).toBe(200);
      expect(r.text).toBe('ok');
      expect(r.policy).toBe('"api";q=3;w=10');
      // Every hit sits in bucket T0/1000; it leaves the window 11 buckets (11 s) later.
      expect(r.state).toBe(`"api";r=${remaining};t=11`);
      expect(r.retryAfter).toBeNull();
    }
  });

  it('answers the request past the limit with 429, Retry-After, the headers and a JSON body', async () => {
    await serve();
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(200);
    const r = await get();
    expect(r.status).toBe(429);
    // The oldest bucket has slid far enough out of the window after 10.334 s.
    expect(r.retryAfter).toBe('11');
    expect(r.policy).toBe('"api";q=3;w=10');
    expect(r.state).toBe('"api";r=0;t=11');
    expect(r.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(r.text)).toEqual({
      error: { code: 'TALLYMESH_ERR_RATE_LIMITED', message: 'Rate limit "api" exceeded; retry after 11 s', retryAfter: 11 },
    });
    expect(limiter.stats).toEqual({ allowed: 3, denied: 1, overflows: 0 });
  });

  it('lets requests through again as the window slides', async () => {
    await serve();
    for (let i = 0; i < 3; i++) await get();
    now = T0 + 9_999;
    expect((await get()).status).toBe(429);
    // 10.5 s on, the old bucket is the window's edge, half inside: it counts 1.5 of its 3 hits.
    now = T0 + 10_500;
    const partial = await get();
    expect(partial.status).toBe(200);
    expect(partial.state).toBe('"api";r=0;t=11');
    expect((await get()).status).toBe(429);
    // 11 s on, the old bucket is gone; only the hit at 10.5 s remains.
    now = T0 + 11_000;
    const later = await get();
    expect(later.status).toBe(200);
    expect(later.state).toBe('"api";r=1;t=11');
  });

  it('charges the cost the cost function returns', async () => {
    await serve({ cost: (req) => Number(req.headers['x-cost'] ?? 1) });
    const two = await get('/', { 'x-cost': '2' });
    expect(two.status).toBe(200);
    expect(two.state).toBe('"api";r=1;t=11');
    const denied = await get('/', { 'x-cost': '2' });
    expect(denied.status).toBe(429);
    expect(denied.state).toBe('"api";r=1;t=11');
    expect(denied.retryAfter).not.toBeNull();
    const one = await get('/', { 'x-cost': '1' });
    expect(one.status).toBe(200);
    expect(one.state).toBe('"api";r=0;t=11');
  });

  it('answers 400 without crashing when the cost function returns an invalid cost', async () => {
    await serve({ cost: () => 4 });
    const r = await get();
    expect(r.status).toBe(400);
    expect(errorCode(r.text)).toBe('TALLYMESH_ERR_COST_INVALID');
    expect(limiter.stats.allowed).toBe(0);
  });

  it('passes skipped requests through uncounted and without headers', async () => {
    await serve({ skip: (req) => req.url === '/healthz' });
    for (let i = 0; i < 3; i++) await get();
    expect((await get()).status).toBe(429);
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(health.policy).toBeNull();
    expect(health.state).toBeNull();
    expect(limiter.stats).toEqual({ allowed: 3, denied: 1, overflows: 0 });
  });

  it('counts each key of a custom key function apart', async () => {
    await serve({ key: (req) => `user:${String(req.headers['x-user'])}` });
    for (let i = 0; i < 3; i++) expect((await get('/', { 'x-user': 'ann' })).status).toBe(200);
    expect((await get('/', { 'x-user': 'ann' })).status).toBe(429);
    const bob = await get('/', { 'x-user': 'bob' });
    expect(bob.status).toBe(200);
    expect(bob.state).toBe('"api";r=2;t=11');
    expect(limiter.peek('user:ann').allowed).toBe(false);
  });

  it('keys by the socket address by default and ignores a forged X-Forwarded-For', async () => {
    await serve();
    for (let i = 0; i < 3; i++) expect((await get('/', { 'x-forwarded-for': `203.0.113.${i}` })).status).toBe(200);
    expect((await get('/', { 'x-forwarded-for': '203.0.113.99' })).status).toBe(429);
    expect(limiter.peek('127.0.0.1').allowed).toBe(false);
    expect([...limiter.keys()]).toEqual(['127.0.0.1']);
  });

  it('keys by the forwarded address when trustProxy is set', async () => {
    await serve({ trustProxy: true });
    for (let i = 0; i < 3; i++) expect((await get('/', { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' })).status).toBe(200);
    expect((await get('/', { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' })).status).toBe(429);
    expect((await get('/', { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
    expect([...limiter.keys()].sort()).toEqual(['198.51.100.2', '203.0.113.7']);
  });

  it('answers 400 for an invalid key and keeps serving', async () => {
    await serve({ key: (req) => String(req.headers['x-user'] ?? '') });
    const bad = await get();
    expect(bad.status).toBe(400);
    expect(errorCode(bad.text)).toBe('TALLYMESH_ERR_KEY_INVALID');
    const tooLong = await get('/', { 'x-user': 'x'.repeat(300) });
    expect(tooLong.status).toBe(400);
    expect(errorCode(tooLong.text)).toBe('TALLYMESH_ERR_KEY_TOO_LONG');
    expect((await get('/', { 'x-user': 'ann' })).status).toBe(200);
  });

  it('answers 500 when the key function throws and keeps serving', async () => {
    await serve({
      key: (req) => {
        if (req.headers['x-boom'] !== undefined) throw new Error('database down');
        return 'k';
      },
    });
    const r = await get('/', { 'x-boom': '1' });
    expect(r.status).toBe(500);
    expect((await get()).status).toBe(200);
  });

  it('sends no RateLimit fields with headers: false, but still Retry-After on 429', async () => {
    await serve({ headers: false });
    const ok = await get();
    expect(ok.status).toBe(200);
    expect(ok.policy).toBeNull();
    expect(ok.state).toBeNull();
    await get();
    await get();
    const denied = await get();
    expect(denied.status).toBe(429);
    expect(denied.policy).toBeNull();
    expect(denied.retryAfter).toBe('11');
  });

  it('escapes a custom policy name in both fields', async () => {
    await serve({ policyName: 'api "v2" \\ beta' });
    const r = await get();
    expect(r.policy).toBe('"api \\"v2\\" \\\\ beta";q=3;w=10');
    expect(r.state).toBe('"api \\"v2\\" \\\\ beta";r=2;t=11');
  });

  it('advertises a limit changed at runtime', async () => {
    await serve();
    expect((await get()).policy).toBe('"api";q=3;w=10');
    limiter.setLimit(5);
    const r = await get();
    expect(r.policy).toBe('"api";q=5;w=10');
    expect(r.state).toBe('"api";r=3;t=11');
  });

  it('lets onLimited send the denial, with status 429 and the headers already set', async () => {
    const seen: number[] = [];
    await serve({
      onLimited: (_req, res, decision) => {
        seen.push(decision.retryAfterMs);
        framework.sendText(res, 'slow down');
      },
    });
    for (let i = 0; i < 3; i++) await get();
    const r = await get();
    expect(r.status).toBe(429);
    expect(r.text).toBe('slow down');
    expect(r.retryAfter).toBe('11');
    expect(r.state).toBe('"api";r=0;t=11');
    expect(seen).toEqual([10_334]);
  });

  it('answers 500 when an async onLimited rejects', async () => {
    await serve({ onLimited: async () => Promise.reject(new Error('template missing')) });
    for (let i = 0; i < 3; i++) await get();
    expect((await get()).status).toBe(500);
    expect((await get()).status).toBe(500);
  });
});

describe('node:http rateLimit', () => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('returns false once it has answered, and lets onError shape error responses', async () => {
    const limiter = createLimiter({ name: 'api', limit: 1, windowMs: 1000, now: () => T0 });
    const verdicts: boolean[] = [];
    const errors: unknown[] = [];
    const limit = rateLimit({
      limiter,
      key: (req) => String(req.headers['x-user'] ?? ''),
      onError: (err, _req, res) => {
        errors.push((err as { code?: string }).code);
        res.statusCode = 401;
        res.end('who are you?');
      },
    });
    running = await listen(
      createServer((req, res) => {
        const verdict = limit(req, res);
        verdicts.push(verdict);
        if (verdict) res.end('ok');
      }),
    );
    const anonymous = await fetch(running.url);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toBe('who are you?');
    expect((await fetch(running.url, { headers: { 'x-user': 'ann' } })).status).toBe(200);
    expect((await fetch(running.url, { headers: { 'x-user': 'ann' } })).status).toBe(429);
    expect(verdicts).toEqual([false, true, false]);
    expect(errors).toEqual(['TALLYMESH_ERR_KEY_INVALID']);
  });

  it('falls back to the default error response when onError throws', async () => {
    const limit = rateLimit({
      limiter: createLimiter({ name: 'api', limit: 1, windowMs: 1000, now: () => T0 }),
      key: () => '',
      onError: () => {
        throw new Error('logger broke');
      },
    });
    running = await listen(createServer((req, res) => void (limit(req, res) && res.end('ok'))));
    const r = await fetch(running.url);
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      error: { code: 'TALLYMESH_ERR_KEY_INVALID', message: 'Key must be a non-empty string, got ""' },
    });
  });
});

describe('express with its own types', () => {
  let server: Running | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('reads req.ip and req.get() in the key and hands errors to the default handler', async () => {
    const limiter = createLimiter({ name: 'api', limit: 1, windowMs: 1000, now: () => T0 });
    const app = express();
    app.use(expressRateLimit({ limiter, key: (req: Request) => req.get('x-api-key') ?? req.ip ?? '' }));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    server = await listen(createServer(app));
    expect((await fetch(server.url)).status).toBe(200);
    expect((await fetch(server.url)).status).toBe(429);
    expect((await fetch(server.url, { headers: { 'x-api-key': 'k1' } })).status).toBe(200);
    expect([...limiter.keys()].sort()).toEqual(['127.0.0.1', 'k1']);
  });

  it('lets Express answer a key error with its status (no error handler installed)', async () => {
    const limiter = createLimiter({ name: 'api', limit: 1, windowMs: 1000, now: () => T0 });
    const app = express();
    app.use(expressRateLimit({ limiter, key: () => '' }));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    server = await listen(createServer(app));
    expect((await fetch(server.url)).status).toBe(400);
  });

  it('answers 500, not the preset 429, when onLimited rejects and Express handles the error', async () => {
    const limiter = createLimiter({ name: 'api', limit: 1, windowMs: 1000, now: () => T0 });
    const app = express();
    app.use(expressRateLimit({ limiter, onLimited: async () => Promise.reject(new Error('template missing')) }));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    server = await listen(createServer(app));
    expect((await fetch(server.url)).status).toBe(200);
    expect((await fetch(server.url)).status).toBe(500);
  });
});

describe('fastify with its own types', () => {
  it('limits one route through its onRequest option and leaves the others alone', async () => {
    const limiter = createLimiter({ name: 'search', limit: 1, windowMs: 1000, now: () => T0 });
    const app = Fastify();
    app.get('/search', { onRequest: fastifyRateLimit({ limiter, key: (req: FastifyRequest) => req.ip }) }, async () => 'found');
    app.get('/', async () => 'home');
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect((await fetch(`${url}/search`)).status).toBe(200);
      const denied = await fetch(`${url}/search`);
      expect(denied.status).toBe(429);
      expect(denied.headers.get('ratelimit-policy')).toBe('"search";q=1;w=1');
      expect(await denied.json()).toMatchObject({ error: { code: 'TALLYMESH_ERR_RATE_LIMITED' } });
      const home = await fetch(`${url}/`);
      expect(home.status).toBe(200);
      expect(home.headers.get('ratelimit')).toBeNull();
    } finally {
      await app.close();
    }
  });
});

// Compile-time checks: the returned handlers slot into each framework's own types.
export function typeChecks(limiter: Limiter): unknown {
  const node: (req: IncomingMessage, res: ServerResponse) => boolean = rateLimit({ limiter });
  express().use(expressRateLimit({ limiter }));
  Fastify().addHook('onRequest', fastifyRateLimit({ limiter }));
  return node;
}
