/**
 * `tallymesh/http`: rate-limit middleware for node:http, Express and Fastify,
 * sending `429` with `Retry-After` and the IETF RateLimit header fields.
 *
 * @example
 * import { createLimiter } from 'tallymesh';
 * import { expressRateLimit } from 'tallymesh/http';
 *
 * const api = createLimiter({ name: 'api', limit: 100, windowMs: 60_000 });
 * app.use(expressRateLimit({ limiter: api }));
 * // 200 … RateLimit-Policy: "api";q=100;w=60   RateLimit: "api";r=99;t=61
 *
 * @module
 */
export { clientAddress, expressRateLimit, fastifyRateLimit, RATE_LIMITED_CODE, rateLimit } from './middleware.js';
export type {
  FastifyReplyLike,
  FastifyRequestLike,
  HeaderMode,
  NextFunctionLike,
  NodeRateLimitOptions,
  RateLimitedBody,
  RateLimitOptions,
} from './middleware.js';
export { formatRateLimit, formatRateLimitPolicy, formatRetryAfter } from './ratelimit-headers.js';
export type { RateLimitPolicy, RateLimitState } from './ratelimit-headers.js';
export type { Decision, Limiter } from './limiter.js';
