/**
 * `tallymesh/daemon`: the clustered daemon as a library: its configuration
 * loader (YAML, `TALLYMESH_*` environment, flags) and `startDaemon`, which
 * serves the HTTP API, the `/v1/stream` WebSocket and the peers' `/v1/mesh` on
 * one port. This is what `tallymesh start` runs.
 *
 * @example
 * import { loadConfig, startDaemon } from 'tallymesh/daemon';
 * const { config } = loadConfig({ flags: { limiter: ['name=api,limit=100,window=60s'] } });
 * const daemon = await startDaemon(config);
 * // ...
 * await daemon.close();
 *
 * @module
 */
export { loadConfig } from './config/load-config.js';
export { redactConfig } from './config/redact-config.js';
export type { ConfigFlags, ConfigOrigin, LoadConfigOptions, LoadedConfig } from './config/load-config.js';
export { parseDuration } from './config/parse.js';
export type { DaemonConfig } from './config/daemon-config.js';
export { codes, isTallymeshError } from '../errors.js';
export type { ErrorCode, TallymeshError } from '../errors.js';
export { startDaemon } from './daemon.js';
export type { Daemon, DaemonOptions } from './daemon.js';
export type { DrainState } from './lifecycle/drain.js';
export type { ConfigSource, ReloadReport } from './lifecycle/reload.js';
export type { SeedReport, SeedState } from '../mesh/seed-status.js';
export type { ClusterStatus, PeerStatus } from '../mesh/mesh.js';
