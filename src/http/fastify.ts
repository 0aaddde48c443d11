/**
 * The Fastify adapter of the rate-limit middleware: {@link fastifyRateLimit},
 * an `onRequest` hook in callback style. The flow lives in
 * `rate-limit-engine.ts`; errors go to `done(err)`. Fastify is never
 * imported: its request and reply are described structurally.
 *
 * May import: the other files of `src/http/`.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { RateLimitEngine, type FrameworkConvention } from './rate-limit-engine.js';
import type { RateLimitOptions } from './rate-limit-options.js';

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

/** Fastify's `done` callback of an `onRequest` hook. */
type Done = (err?: Error) => void;

/** Fastify's error handler expects an Error; wrap anything else a callback throws. */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

const CONVENTION: FrameworkConvention<FastifyRequestLike, FastifyReplyLike, Done> = {
  setHeader: (reply, name, value) => {
    reply.header(name, value);
  },
  proceed: (done) => done(),
  setStatus: (reply, status) => {
    reply.code(status);
  },
  // Replying from a callback hook: send, and do not call done().
  sendLimited: (reply, body) => {
    reply.send(body);
  },
  fail: (err, _request, _reply, done) => done(asError(err)),
  failLimited: (err, _request, reply) => {
    // Fastify keeps a status ≥ 400 already set unless the error carries its own.
    reply.code(500).send(asError(err));
  },
};

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
  // Typed for the structural request and reply, so it takes any subtype.
  const convention: FrameworkConvention<Req, Reply, Done> = CONVENTION;
  return function tallymeshRateLimit(request, reply, done) {
    engine.handle(request, reply, done, convention);
  };
}
