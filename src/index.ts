/**
 * tallymesh: a distributed sliding-window rate limiter that needs no Redis.
 *
 * The embedded limiter and the mesh. Importing this entry (ESM or CommonJS)
 * loads no third-party package: {@link createMesh} loads the WebSocket
 * transport (`ws`, `msgpackr`) when first called; the HTTP middleware, the
 * daemon and the simulator have entries of their own (`tallymesh/http`,
 * `tallymesh/daemon`, `tallymesh/sim`). test/package/entry-imports.test.ts
 * holds it to that.
 *
 * @example
 * import { createLimiter } from 'tallymesh';
 * const api = createLimiter({ name: 'api', limit: 100, windowMs: 60_000 });
 * api.consume('user:42').allowed;
 *
 * @module
 */
export { createLimiter, Limiter } from './limiter/limiter.js';
export type { Decision, EmbeddedLimiterOptions, LimiterOptions, LimiterStats, OverflowPolicy, PartitionPolicy, PartitionShare } from './limiter/limiter.js';
export { codes, isTallymeshError } from './errors.js';
export type { ErrorCode, TallymeshError } from './errors.js';
export { createMesh, Mesh } from './mesh/mesh.js';
export type { ClusterStatus, MeshOptions, PeerStatus, ShareEvent, SloEvent } from './mesh/mesh.js';
