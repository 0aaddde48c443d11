/**
 * HTTP rate-limit middleware for node:http, Express and Fastify, on top of a
 * {@link Limiter} (embedded `createLimiter()` or replicated `mesh.limiter()`).
 *
 * One engine ({@link RateLimitEngine}) turns a request into a decision and
 * the RateLimit header fields; three thin adapters speak each framework's
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
import { codes, isTallymeshError } from './errors.js';
import type { Decision, Limiter } from './limiter.js';
import {
  formatRateLimit,
  formatRateLimitPolicy,
  formatRetryAfter,
  isSfString,
  RATELIMIT_HEADER,
  RATELIMIT_POLICY_HEADER,
  RETRY_AFTER_HEADER,
} from './ratelimit-headers.js';

/**
 * Code of the default 429 body. Provisional: it is to join the registry in
 * `src/errors.ts` (and `docs/errors.md`) under the same name.
 */
export const RATE_LIMITED_CODE = 'TALLYMESH_ERR_RATE_LIMITED';

/** Longest `policyName` accepted, in characters. */
const MAX_POLICY_NAME = 256;
/** Most proxy hops `trustProxy` may name. */
const MAX_TRUSTED_HOPS = 64;

/** Which rate-limit header fields to send: the IETF draft's pair, or none. */
export type HeaderMode = 'draft' | false;

/** Options shared by {@link rateLimit}, {@link expressRateLimit} and {@link fastifyRateLimit}. */
export interface RateLimitOptions<Req, Res> {
  /** The limiter deciding: `createLimiter(...)` or `mesh.limiter(...)`. Required. */
  limiter: Limiter;
  /**
   * The rate-limit key of a request (a non-empty string of at most 256 bytes).
   * Default: the client address (see `trustProxy`).
   */
  key?: (req: Req) => string;
  /** Hits a request costs (an integer from 1 to the limit). Default 1. */
  cost?: (req: Req) => number;
  /** Return true to let a request through uncounted and without headers. */
  skip?: (req: Req) => boolean;
  /** Policy name in the header fields (printable ASCII). Default: the limiter's name. */
  policyName?: string;
  /** `'draft'` (default) sends `RateLimit-Policy` and `RateLimit`; `false` sends neither. */
  headers?: HeaderMode;
  /**
   * Only for the default key. `false` (default): the socket peer address.
   * `true`: the leftmost `X-Forwarded-For` address. A number n: the address n
   * hops in front of this server (n proxies are trusted).
   */
  trustProxy?: boolean | number;
  /**
   * Sends the response to a denied request instead of the default JSON body.
   * The status (429), `Retry-After` and the header fields are already set.
   * It must send a response; a rejected promise is handled like an error.
   */
  onLimited?: (req: Req, res: Res, decision: Decision) => void | Promise<void>;
}

/** Options of {@link rateLimit} (node:http). */
export interface NodeRateLimitOptions extends RateLimitOptions<IncomingMessage, ServerResponse> {
  /**
   * Sends the response when `skip`, `key`, `cost`, `onLimited` or the limiter
   * throws. Default: the registry error's status and `{ error: { code, message } }`,
   * or 500 for any other error.
   */
  onError?: (err: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

/** The `next` callback of Express (and Connect-style) middleware. */
export type NextFunctionLike = (err?: unknown) => void;

/** What {@link fastifyRateLimit} needs of a Fastify request. */
export interface FastifyRequestLike {
  readonly raw: IncomingMessage;
}

/** What {@link fastifyRateLimit} needs of a Fastify reply. */
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}

/** The JSON body of the default 429 response. */
export interface RateLimitedBody {
  error: {
    code: typeof RATE_LIMITED_CODE;
    message: string;
    /** Seconds to wait, as in `Retry-After`. */
    retryAfter: number;
  };
}

/**
 * The client address of a request. Without `trustProxy` it is the socket
 * peer: `X-Forwarded-For` is whatever the client typed unless a proxy you
 * run rewrites it.
 *
 * @param trustProxy `true`: the leftmost forwarded address; n: the address n
 *   hops in front of this server (the peer and n − 1 proxies are trusted).
 * @returns undefined when the socket is gone (or is a Unix socket) and nothing is trusted.
 * @example
 * // behind one reverse proxy that appends to X-Forwarded-For
 * const ip = clientAddress(req, 1);
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean | number = false): string | undefined {
  const peer = req.socket?.remoteAddress;
  if (trustProxy === false || trustProxy === 0) return peer;
  const header = req.headers['x-forwarded-for'];
  if (typeof header !== 'string') return peer;
  // Node joins repeated X-Forwarded-For lines with ", ", so one split sees every hop.
  const hops = header
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  if (hops.length === 0) return peer;
  if (trustProxy === true) return hops[0];
  // Addresses from client to us: [...hops, peer]. Trusting n hops means the
  // nth address back from us is the first one nobody we trust wrote.
  const index = hops.length - trustProxy;
  return index >= 0 ? hops[index] : hops[0];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new codes.TALLYMESH_ERR_OPTION_TYPE(name, 'a function', describe(value));
  return value as F;
}

function isLimiter(value: unknown): value is Limiter {
  // Structural rather than instanceof, so that two installed copies of the
  // package (a common npm accident) still work together.
  if (typeof value !== 'object' || value === null) return false;
  const l = value as Partial<Limiter>;
  return typeof l.consume === 'function' && typeof l.name === 'string' && typeof l.windowMs === 'number';
}

function trustProxyOption(value: unknown): boolean | number {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new codes.TALLYMESH_ERR_OPTION_TYPE('trustProxy', 'a boolean or a number of hops', describe(value));
  }
  if (!Number.isInteger(value) || value < 0 || value > MAX_TRUSTED_HOPS) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE('trustProxy', `an integer from 0 to ${MAX_TRUSTED_HOPS}`, describe(value));
  }
  return value;
}

function policyNameOption(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new codes.TALLYMESH_ERR_OPTION_TYPE('policyName', 'a string', describe(value));
  if (value.length === 0 || value.length > MAX_POLICY_NAME || !isSfString(value)) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(
      'policyName',
      `1-${MAX_POLICY_NAME} characters of printable ASCII (0x20-0x7E)`,
      describe(value),
    );
  }
  return value;
}

function headersOption(value: unknown): HeaderMode {
  if (value === undefined || value === 'draft') return 'draft';
  if (value === false) return false;
  throw new codes.TALLYMESH_ERR_OPTION_RANGE('headers', "'draft' or false", describe(value));
}

/** Sets one header on the framework's response object. */
type HeaderSink<T> = (target: T, name: string, value: string) => void;

/**
 * The framework-neutral part of the middleware: validated options, the
 * decision and the header values. Adapters own only the calling convention.
 *
 * @internal Exported for the adapters and tests; not part of `tallymesh/http`.
 */
export class RateLimitEngine<Req, Res> {
  readonly limiter: Limiter;
  readonly policyName: string;
  readonly headers: HeaderMode;
  readonly onLimited: RateLimitOptions<Req, Res>['onLimited'];
  #key: (req: Req) => string;
  #cost: ((req: Req) => number) | undefined;
  #skip: ((req: Req) => boolean) | undefined;
  /** The policy field depends only on the limit, which changes rarely (setLimit): format once per limit. */
  #policyLimit = -1;
  #policyValue = '';

  /** @param raw how to reach the node:http request, for the default key. */
  constructor(options: RateLimitOptions<Req, Res>, raw: (req: Req) => IncomingMessage) {
    if (typeof options !== 'object' || options === null) {
      throw new codes.TALLYMESH_ERR_OPTION_TYPE('options', 'an object', describe(options));
    }
    if (!isLimiter(options.limiter)) {
      throw new codes.TALLYMESH_ERR_OPTION_TYPE('limiter', 'a Limiter (createLimiter() or mesh.limiter())', describe(options.limiter));
    }
    this.limiter = options.limiter;
    const trustProxy = trustProxyOption(options.trustProxy);
    // An absent address becomes '' so that consume() rejects it with TALLYMESH_ERR_KEY_INVALID (400).
    this.#key = optionalFunction('key', options.key) ?? ((req) => clientAddress(raw(req), trustProxy) ?? '');
    this.#cost = optionalFunction('cost', options.cost);
    this.#skip = optionalFunction('skip', options.skip);
    this.onLimited = optionalFunction('onLimited', options.onLimited);
    this.policyName = policyNameOption(options.policyName, this.limiter.name);
    this.headers = headersOption(options.headers);
  }

  /**
   * Decides a request: null when `skip` lets it through, else the decision
   * (the hits are counted when allowed).
   * @throws whatever `skip`, `key` or `cost` throw, and the limiter's registry errors.
   */
  decide(req: Req): Decision | null {
    if (this.#skip !== undefined && this.#skip(req)) return null;
    const key = this.#key(req);
    return this.limiter.consume(key, this.#cost === undefined ? 1 : this.#cost(req));
  }

  /** Writes the RateLimit fields (when enabled) and, for a denial, `Retry-After`. */
  writeHeaders<T>(decision: Decision, target: T, set: HeaderSink<T>): void {
    if (this.headers === 'draft') {
      if (decision.limit !== this.#policyLimit) {
        this.#policyValue = formatRateLimitPolicy({ name: this.policyName, limit: decision.limit, windowMs: this.limiter.windowMs });
        this.#policyLimit = decision.limit;
      }
      set(target, RATELIMIT_POLICY_HEADER, this.#policyValue);
      set(target, RATELIMIT_HEADER, formatRateLimit({ name: this.policyName, remaining: decision.remaining, resetMs: decision.resetMs }));
    }
    if (!decision.allowed) set(target, RETRY_AFTER_HEADER, formatRetryAfter(decision.retryAfterMs));
  }

  /** The default 429 body. */
  limitedBody(decision: Decision): RateLimitedBody {
    const retryAfter = Number(formatRetryAfter(decision.retryAfterMs));
    return {
      error: {
        code: RATE_LIMITED_CODE,
        message: `Rate limit "${this.policyName}" exceeded; retry after ${retryAfter} s`,
        retryAfter,
      },
    };
  }
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
      settle(() => onLimited(req, res, d), (err) => onError(err, req, res));
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
): (req: Req, res: Res, next: NextFunctionLike) => void {
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
      settle(() => onLimited(req, res, d), next);
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
): (request: Req, reply: Reply, done: (err?: Error) => void) => void {
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
        (err) => reply.send(asError(err)),
      );
    }
  };
}
