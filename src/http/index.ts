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
export { rateLimit } from './node.js';
export type { NodeRateLimitOptions } from './node.js';
export { expressRateLimit } from './express.js';
export type { NextFunctionLike } from './express.js';
export { fastifyRateLimit } from './fastify.js';
export type { FastifyReplyLike, FastifyRequestLike } from './fastify.js';
export { clientAddress, RATE_LIMITED_CODE } from './rate-limit-engine.js';
export type { RateLimitedBody } from './rate-limit-engine.js';
export type { HeaderMode, RateLimitOptions } from './rate-limit-options.js';
export { formatRateLimit, formatRateLimitPolicy, formatRetryAfter } from './ratelimit-headers.js';
export type { RateLimitPolicy, RateLimitState } from './ratelimit-headers.js';
export type { Decision, Limiter } from '../limiter/limiter.js';
