/**
 * The framework-neutral core of the HTTP middleware: option validation, the
 * default key (the client address), the decision and the values of the
 * header fields. The adapters in `middleware.ts` own only each framework's
 * calling convention.
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
  isSfString,
  RATELIMIT_HEADER,
  RATELIMIT_POLICY_HEADER,
  RETRY_AFTER_HEADER,
} from './ratelimit-headers.js';

/**
 * Code of the default 429 body. Provisional: it is to join the registry in
 * `src/errors.ts` (and `docs/errors.md`) under the same name.
 *
 * @example
 * if (body.error?.code === RATE_LIMITED_CODE) await sleep(body.error.retryAfter * 1000);
 */
export const RATE_LIMITED_CODE = codes.TALLYMESH_ERR_RATE_LIMITED.code as 'TALLYMESH_ERR_RATE_LIMITED';

/** Longest `policyName` accepted, in characters. */
const MAX_POLICY_NAME = 256;
/** Most proxy hops `trustProxy` may name. */
const MAX_TRUSTED_HOPS = 64;

/**
 * Which rate-limit header fields to send: the IETF draft's pair, or none.
 *
 * @example
 * rateLimit({ limiter, headers: false }); // only Retry-After, on 429
 */
export type HeaderMode = 'draft' | false;

/**
 * Options shared by `rateLimit`, `expressRateLimit` and `fastifyRateLimit`
 * (see `middleware.ts`). `Req` and `Res` are the framework's request and
 * response types, as the callbacks see them.
 *
 * @example
 * const options: RateLimitOptions<IncomingMessage, ServerResponse> = {
 *   limiter: api,
 *   key: (req) => String(req.headers['x-api-key'] ?? ''),
 *   cost: (req) => (req.method === 'POST' ? 5 : 1),
 *   skip: (req) => req.url === '/healthz',
 * };
 */
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

/** A short, safe rendering of a bad option value for an error message. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Requires a function or undefined.
 *
 * @example
 * const onError = optionalFunction<(err: unknown) => void>('onError', options.onError);
 */
export function optionalFunction<F>(name: string, value: unknown): F | undefined {
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

/**
 * Sets one header on the framework's response object. A plain function
 * rather than a closure, so writing headers allocates nothing per request.
 *
 * @example
 * const setOnResponse: HeaderSink<ServerResponse> = (res, name, value) => { res.setHeader(name, value) };
 */
export type HeaderSink<T> = (target: T, name: string, value: string) => void;

/**
 * The framework-neutral part of the middleware: validated options, the
 * decision and the header values. Adapters own only the calling convention.
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
