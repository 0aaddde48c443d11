/**
 * `tallymesh/client`: a Node client for a daemon's `/v1/stream` — pipelined
 * and batched consume calls, reconnect with backoff, failover between daemon
 * URLs, a per-call timeout and a fail mode. For Node services that ask a
 * tallymesh daemon instead of embedding the mesh.
 *
 * `src/client/` owns the client side of the stream: the entry (this file),
 * `client.ts` (wiring and lifecycle), `connection.ts` (one WebSocket),
 * `pipeline.ts` (request ids, batching, deadlines), `failover.ts` and
 * `backoff.ts` (where and when to redial), `peek.ts` (peek over HTTP),
 * `decision.ts` and `options.ts`. It may import only `src/stream/` (the wire
 * format it shares with the daemon), types of `src/limiter/`,
 * `src/errors.ts` and `src/validate.ts` — never the daemon or the mesh, so
 * loading it loads `ws` and `msgpackr` and nothing of the daemon stack
 * (test/architecture/imports.test.ts, test/package/entry-imports.test.ts).
 *
 * @example
 * import { createClient } from 'tallymesh/client';
 *
 * const client = createClient({ urls: ['http://127.0.0.1:7070'], timeoutMs: 250, failMode: 'closed' });
 * const { allowed, remaining } = await client.consume('api', 'user:42');
 * await client.close();
 *
 * @module
 */
export { createClient } from './client.js';
export type { ClientState, ClientStatus, TallymeshClient } from './client.js';
export type { ClientOptions, FailMode } from './options.js';
export type { ClientTlsOptions } from './connection.js';
export type { FailoverStrategy } from './failover.js';
export type { ClientDecision, DecisionSource } from './decision.js';
export { codes, isTallymeshError } from '../errors.js';
export type { ErrorCode, TallymeshError } from '../errors.js';
