/**
 * The options every HTTP middleware of `tallymesh/http` takes, and their
 * eager validation: a bad option throws a registry error (`TypeError` for a
 * wrong type, `RangeError` for a value out of bounds) when the middleware is
 * built, never on a request.
 *
 * May import: the error registry, `src/validate.ts`, the limiter's types,
 * `ratelimit-headers.ts`.
 *
 * @module
 */
import { codes } from '../errors.js';
import type { Decision, Limiter } from '../limiter/limiter.js';
import { describeValue } from '../validate.js';
import { isSfString } from './ratelimit-headers.js';

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
 * Options shared by `rateLimit`, `expressRateLimit` and `fastifyRateLimit`.
 * `Req` and `Res` are the framework's request and response types, as the
 * callbacks see them.
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

/** A short, safe rendering of a bad option value for an error message (the shared one, with "an object"). */
function describe(value: unknown): string {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? 'an object' : describeValue(value);
}

/**
 * Requires a function or undefined.
 *
 * @throws TypeError TALLYMESH_ERR_OPTION_TYPE naming `name`.
 * @example
 * const onError = optionalFunction<(err: unknown) => void>('onError', options.onError);
 */
export function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new codes.TALLYMESH_ERR_OPTION_TYPE(name, 'a function', describe(value));
  return value as F;
}

/**
 * Requires the options object and a limiter in it.
 *
 * @throws TypeError TALLYMESH_ERR_OPTION_TYPE naming `options` or `limiter`.
 * @example
 * const limiter = limiterOption(options);
 */
export function limiterOption(options: unknown): Limiter {
  if (typeof options !== 'object' || options === null) {
    throw new codes.TALLYMESH_ERR_OPTION_TYPE('options', 'an object', describe(options));
  }
  const value = (options as { limiter?: unknown }).limiter;
  // Structural rather than instanceof, so that two installed copies of the
  // package (a common npm accident) still work together.
  const l = (typeof value === 'object' && value !== null ? value : {}) as Partial<Limiter>;
  if (typeof l.consume !== 'function' || typeof l.name !== 'string' || typeof l.windowMs !== 'number') {
    throw new codes.TALLYMESH_ERR_OPTION_TYPE('limiter', 'a Limiter (createLimiter() or mesh.limiter())', describe(value));
  }
  return value as Limiter;
}

/**
 * Validates `trustProxy`: a boolean, or a whole number of hops.
 *
 * @throws TypeError or RangeError naming `trustProxy`.
 * @example
 * trustProxyOption(undefined); // false
 */
export function trustProxyOption(value: unknown): boolean | number {
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

/**
 * Validates `policyName` (printable ASCII, as an RFC 8941 String needs), or takes `fallback`.
 *
 * @throws TypeError or RangeError naming `policyName`.
 * @example
 * policyNameOption(undefined, limiter.name); // 'api'
 */
export function policyNameOption(value: unknown, fallback: string): string {
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

/**
 * Validates `headers`: `'draft'` (the default) or `false`.
 *
 * @throws RangeError TALLYMESH_ERR_OPTION_RANGE naming `headers`.
 * @example
 * headersOption(undefined); // 'draft'
 */
export function headersOption(value: unknown): HeaderMode {
  if (value === undefined || value === 'draft') return 'draft';
  if (value === false) return false;
  throw new codes.TALLYMESH_ERR_OPTION_RANGE('headers', "'draft' or false", describe(value));
}
