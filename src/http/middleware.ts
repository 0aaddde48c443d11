/**
 * HTTP rate-limit middleware for node:http, Express and Fastify, on top of a
 * `Limiter` (embedded `createLimiter()` or replicated `mesh.limiter()`).
 *
 * One engine (`rate-limit-engine.ts`) turns a request into a decision and
 * the RateLimit header fields; the three adapters here speak each framework's
 * calling convention. Express and Fastify are never imported at runtime:
 * their request and reply objects are described structurally.
 *
 * Per request: `skip(req)` → `key(req)`, `cost(req)` → `limiter.consume()`
 * (synchronous, no network hop) → headers → continue, or 429. Errors thrown
 * by `skip`, `key`, `cost` or `consume` never escape into the server: they
 * become a 4xx/5xx response (node:http), `next(err)` (Express) or
 * `done(err)` (Fastify).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTallymeshError } from '../errors.js';
import type { Decision } from '../limiter/limiter.js';
import { optionalFunction, RateLimitEngine, type HeaderSink, type RateLimitOptions } from './rate-limit-engine.js';

/**
 * Options of {@link rateLimit} (node:http).
 *
 * @example
 * rateLimit({ limiter: api, onError: (err, req, res) => { log.error(err); res.statusCode = 503; res.end() } });
 */
export interface NodeRateLimitOptions extends RateLimitOptions<IncomingMessage, ServerResponse> {
  /**
   * Sends the response when `skip`, `key`, `cost`, `onLimited` or the limiter
   * throws. Default: the registry error's status and `{ error: { code, message } }`,
   * or 500 for any other error.
   */
  onError?: (err: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * The `next` callback of Express (and Connect-style) middleware; Express's
 * own `NextFunction` satisfies it.
 *
 * @example
 * const next: NextFunctionLike = (err) => { if (err) console.error(err) };
 */
export type NextFunctionLike = (err?: unknown) => void;

/**
 * What {@link fastifyRateLimit} needs of a Fastify request (for the default
 * key); `FastifyRequest` satisfies it.
 *
 * @example
 * const req: FastifyRequestLike = { raw: incomingMessage };
 */
export interface FastifyRequestLike {
  readonly raw: IncomingMessage;
}

/**
 * What {@link fastifyRateLimit} needs of a Fastify reply; `FastifyReply`
 * satisfies it.
 *
 * @example
 * fastifyRateLimit({ limiter, onLimited: (req, reply: FastifyReplyLike) => { reply.send('slow down') } });
 */
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}

const setOnResponse: HeaderSink<ServerResponse> = (res, name, value) => {
  res.setHeader(name, value);
};

const setOnReply: HeaderSink<FastifyReplyLike> = (reply, name, value) => {
  reply.header(name, value);
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** Default `onError` of {@link rateLimit}: the registry error's status, else 500 without details. */
function sendError(err: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) {
    // A custom onLimited failed half-way: the status line is gone, so the only honest signal left is a cut connection.
    res.destroy();
    return;
  }
  if (isTallymeshError(err)) sendJson(res, err.statusCode, { error: { code: err.code, message: err.message } });
  else sendJson(res, 500, { error: { message: 'Internal Server Error' } });
}

/** Runs a user callback that may return a promise, routing a throw or a rejection to `fail`. */
function settle(run: () => void | Promise<void>, fail: (err: unknown) => void): void {
  let result: void | Promise<void>;
  try {
    result = run();
  } catch (err) {
    fail(err);
    return;
  }
  if (result !== undefined && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).then(undefined, fail);
}

/**
 * Rate limiting for a plain node:http server. The returned function decides
 * a request, sets the header fields and returns true when the request may
 * proceed; otherwise it has sent the response (429, or an error status) and
 * returns false.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { createLimiter } from 'tallymesh';
 * import { rateLimit } from 'tallymesh/http';
 *
 * const limit = rateLimit({ limiter: createLimiter({ name: 'api', limit: 100, windowMs: 60_000 }) });
 * createServer((req, res) => {
 *   if (!limit(req, res)) return;
 *   res.end('hello');
 * }).listen(8080);
 */
export function rateLimit(options: NodeRateLimitOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const engine = new RateLimitEngine<IncomingMessage, ServerResponse>(options, (req) => req);
  const custom = optionalFunction<NonNullable<NodeRateLimitOptions['onError']>>('onError', options.onError);
  // A throwing onError must not escape either (it may run in a promise callback): fall back to the default.
  const onError =
    custom === undefined
      ? sendError
      : (err: unknown, req: IncomingMessage, res: ServerResponse): void => {
          try {
            custom(err, req, res);
          } catch {
            sendError(err, req, res);
          }
        };
  const onLimited = engine.onLimited;
  return function tallymeshRateLimit(req, res) {
    let decision: Decision | null;
    try {
      decision = engine.decide(req);
    } catch (err) {
      onError(err, req, res);
      return false;
    }
    if (decision === null) return true;
    engine.writeHeaders(decision, res, setOnResponse);
    if (decision.allowed) return true;
    res.statusCode = 429;
    if (onLimited === undefined) sendJson(res, 429, engine.limitedBody(decision));
    else {
      const d = decision;
      settle(
        () => onLimited(req, res, d),
        (err) => {
          // The denial itself failed: whatever status onLimited left is no longer the truth.
          if (!res.headersSent) res.statusCode = 500;
          onError(err, req, res);
        },
      );
    }
    return false;
  };
}

/**
 * Express (and Connect-style) middleware. Allowed and skipped requests go on
 * with `next()`; a denied one gets 429; an error thrown by `key`, `cost` or
 * `skip` goes to `next(err)`, so Express's error handling answers it (a
 * registry error carries `statusCode`, e.g. 400 for an invalid key).
 *
 * The generic parameters only type your callbacks: pass Express's `Request`
 * to read `req.ip`, `req.params` or `req.user` in `key`.
 *
 * @example
 * import express, { type Request } from 'express';
 * import { expressRateLimit } from 'tallymesh/http';
 *
 * const app = express();
 * app.use(expressRateLimit({ limiter: api, key: (req: Request) => req.get('x-api-key') ?? req.ip ?? '' }));
 * app.get('/', (req, res) => { res.send('hello') });
 */
export function expressRateLimit<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  options: RateLimitOptions<Req, Res>,
): (req: NoInfer<Req>, res: NoInfer<Res>, next: NextFunctionLike) => void {
  const engine = new RateLimitEngine<Req, Res>(options, (req) => req);
  const onLimited = engine.onLimited;
  return function tallymeshRateLimit(req, res, next) {
    let decision: Decision | null;
    try {
      decision = engine.decide(req);
    } catch (err) {
      next(err);
      return;
    }
    if (decision === null) {
      next();
      return;
    }
    engine.writeHeaders(decision, res, setOnResponse);
    if (decision.allowed) {
      next();
      return;
    }
    res.statusCode = 429;
    if (onLimited === undefined) sendJson(res, 429, engine.limitedBody(decision));
    else {
      const d = decision;
      settle(
        () => onLimited(req, res, d),
        (err) => {
          // Express's final handler would otherwise answer with the 429 already set.
          if (!res.headersSent) res.statusCode = 500;
          next(err);
        },
      );
    }
  };
}

/**
 * A Fastify `onRequest` hook (callback style: synchronous, no promise per
 * request). Allowed and skipped requests continue; a denied one gets 429
 * from the hook; an error thrown by `key`, `cost` or `skip` goes to
 * Fastify's error handler, which answers with the error's `statusCode`.
 *
 * Register it on the instance (every route of that encapsulation context) or
 * per route through the route's `onRequest` option.
 *
 * @example
 * import Fastify, { type FastifyRequest } from 'fastify';
 * import { fastifyRateLimit } from 'tallymesh/http';
 *
 * const app = Fastify();
 * app.addHook('onRequest', fastifyRateLimit({ limiter: api }));
 * // or per route, with a key from the request:
 * app.get('/search', { onRequest: fastifyRateLimit({ limiter: search, key: (req: FastifyRequest) => req.ip }) }, handler);
 */
export function fastifyRateLimit<Req extends FastifyRequestLike = FastifyRequestLike, Reply extends FastifyReplyLike = FastifyReplyLike>(
  options: RateLimitOptions<Req, Reply>,
): (request: NoInfer<Req>, reply: NoInfer<Reply>, done: (err?: Error) => void) => void {
  // The return type wraps Req/Reply in NoInfer: a contextual hook type (a route's
  // `onRequest` option) must not drive their inference, only the callbacks may.
  const engine = new RateLimitEngine<Req, Reply>(options, (req) => req.raw);
  const onLimited = engine.onLimited;
  // Fastify's error handler expects an Error; wrap anything else a callback throws.
  const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
  return function tallymeshRateLimit(request, reply, done) {
    let decision: Decision | null;
    try {
      decision = engine.decide(request);
    } catch (err) {
      done(asError(err));
      return;
    }
    if (decision === null) {
      done();
      return;
    }
    engine.writeHeaders(decision, reply, setOnReply);
    if (decision.allowed) {
      done();
      return;
    }
    // Replying from a callback hook: send, and do not call done().
    reply.code(429);
    if (onLimited === undefined) reply.send(engine.limitedBody(decision));
    else {
      const d = decision;
      settle(
        () => onLimited(request, reply, d),
        (err) => {
          // Fastify keeps a status ≥ 400 already set unless the error carries its own.
          reply.code(500).send(asError(err));
        },
      );
    }
  };
}
