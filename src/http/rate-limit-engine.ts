/**
 * The framework-neutral core of the HTTP middleware: the default key (the
 * client address), the decision, the values of the header fields and the
 * whole per-request flow — decide → header fields → continue, or 429 — in
 * {@link RateLimitEngine.handle}. The adapters (`node.ts`, `express.ts`,
 * `fastify.ts`) only describe each framework's calling convention.
 *
 * May import: the error registry, the limiter's types, `ratelimit-headers.ts`
 * and `rate-limit-options.ts`. Never Express or Fastify.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { codes } from '../errors.js';
import type { Decision, Limiter } from '../limiter/limiter.js';
import {
  formatRateLimit,
  formatRateLimitPolicy,
  formatRetryAfter,
  RATELIMIT_HEADER,
  RATELIMIT_POLICY_HEADER,
  RETRY_AFTER_HEADER,
} from './ratelimit-headers.js';
import {
  headersOption,
  limiterOption,
  optionalFunction,
  policyNameOption,
  trustProxyOption,
  type HeaderMode,
  type RateLimitOptions,
} from './rate-limit-options.js';

/**
 * Code of the default 429 body. Provisional: it is to join the registry in
 * `src/errors.ts` (and `docs/errors.md`) under the same name.
 *
 * @example
 * if (body.error?.code === RATE_LIMITED_CODE) await sleep(body.error.retryAfter * 1000);
 */
export const RATE_LIMITED_CODE = codes.TALLYMESH_ERR_RATE_LIMITED.code as 'TALLYMESH_ERR_RATE_LIMITED';

/**
 * The JSON body of the default 429 response.
 *
 * @example
 * // {"error":{"code":"TALLYMESH_ERR_RATE_LIMITED","message":"Rate limit \"api\" exceeded; retry after 12 s","retryAfter":12}}
 * const body = (await res.json()) as RateLimitedBody;
 */
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

/**
 * Sets one header on the framework's response object. A plain function
 * rather than a closure, so writing headers allocates nothing per request.
 *
 * @example
 * const setOnResponse: HeaderSink<ServerResponse> = (res, name, value) => { res.setHeader(name, value) };
 */
export type HeaderSink<T> = (target: T, name: string, value: string) => void;

/**
 * How one framework continues, answers and fails a request: all an adapter
 * gives {@link RateLimitEngine.handle}. Built once per middleware, never per
 * request. `Next` is the framework's continuation (Express's `next`,
 * Fastify's `done`; unused by node:http).
 *
 * @example
 * const convention: FrameworkConvention<IncomingMessage, ServerResponse, NextFunctionLike> = {
 *   setHeader: (res, name, value) => { res.setHeader(name, value) },
 *   proceed: (next) => next(),
 *   setStatus: (res, status) => { res.statusCode = status },
 *   sendLimited: (res, body) => sendJson(res, 429, body),
 *   fail: (err, _req, _res, next) => next(err),
 *   failLimited: (err, _req, res, next) => { if (!res.headersSent) res.statusCode = 500; next(err) },
 * };
 */
export interface FrameworkConvention<Req, Res, Next> {
  /** Sets one response header field. */
  readonly setHeader: HeaderSink<Res>;
  /** Lets an allowed or skipped request go on. */
  proceed(next: Next): void;
  /** Sets the status of a denial (429), before `onLimited` or the default body runs. */
  setStatus(res: Res, status: number): void;
  /** Sends the default 429 body (status and header fields already set). */
  sendLimited(res: Res, body: RateLimitedBody): void;
  /** Answers what `skip`, `key`, `cost` or the limiter threw (nothing is sent yet). */
  fail(err: unknown, req: Req, res: Res, next: Next): void;
  /** Answers what `onLimited` threw or rejected with (the 429 status is set; the response may have started). */
  failLimited(err: unknown, req: Req, res: Res, next: Next): void;
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
 * The framework-neutral part of the middleware: validated options, the
 * decision, the header values and the request flow. Adapters own only the
 * calling convention.
 *
 * @internal Used by the adapters and tests; not part of `tallymesh/http`.
 * @example
 * const engine = new RateLimitEngine({ limiter: api }, (req: IncomingMessage) => req);
 * const d = engine.decide(req);              // null when skipped
 * if (d) engine.writeHeaders(d, res, setOnResponse);
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
    this.limiter = limiterOption(options);
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

  /**
   * One request, start to end: `skip` → `key`, `cost` → `consume()` → header
   * fields → `convention.proceed(next)`, or 429 with `onLimited` or the
   * default body. Nothing a callback or the limiter throws escapes: it goes
   * to `convention.fail` (or `failLimited`).
   *
   * @returns true when the request went on (allowed or skipped), false when it was answered here.
   * @example
   * return (req, res, next) => { engine.handle(req, res, next, convention) };
   */
  handle<Next>(req: Req, res: Res, next: Next, convention: FrameworkConvention<Req, Res, Next>): boolean {
    let decision: Decision | null;
    try {
      decision = this.decide(req);
    } catch (err) {
      convention.fail(err, req, res, next);
      return false;
    }
    if (decision === null) {
      convention.proceed(next);
      return true;
    }
    this.writeHeaders(decision, res, convention.setHeader);
    if (decision.allowed) {
      convention.proceed(next);
      return true;
    }
    convention.setStatus(res, 429);
    const onLimited = this.onLimited;
    if (onLimited === undefined) convention.sendLimited(res, this.limitedBody(decision));
    else {
      const d = decision;
      // A closure only on this path: a denial with a custom onLimited.
      settle(
        () => onLimited(req, res, d),
        (err) => convention.failLimited(err, req, res, next),
      );
    }
    return false;
  }
}
