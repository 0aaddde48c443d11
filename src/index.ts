/**
 * tallymesh: a distributed sliding-window rate limiter that needs no Redis.
 *
 * @example
 * import { createLimiter } from 'tallymesh';
 * const api = createLimiter({ name: 'api', limit: 100, windowMs: 60_000 });
 * api.consume('user:42').allowed;
 *
 * @module
 */
export { createLimiter, Limiter } from './limiter/limiter.js';
export type { Decision, EmbeddedLimiterOptions, LimiterOptions, LimiterStats, OverflowPolicy } from './limiter/limiter.js';
export { codes, isTallymeshError } from './errors.js';
export type { ErrorCode, TallymeshError } from './errors.js';
export { createMesh, Mesh } from './mesh/mesh.js';
export type { ClusterStatus, MeshOptions, PeerStatus } from './mesh/mesh.js';
