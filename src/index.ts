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
export { createLimiter, Limiter } from './limiter.js';
export type { Decision, EmbeddedLimiterOptions, LimiterOptions, LimiterStats, OverflowPolicy } from './limiter.js';
export { codes, isTallymeshError } from './errors.js';
export type { ErrorCode, TallymeshError } from './errors.js';
export { createMesh, Mesh } from './mesh.js';
export type { ClusterStatus, MeshOptions, PeerStatus } from './mesh.js';
export { randomScenario, runSimulation } from './simulation.js';
export type { SimPartition, SimulationOptions, SimulationReport } from './simulation.js';
export { loadConfig, redactConfig } from './config.js';
export type { ConfigFlags, ConfigOrigin, LoadConfigOptions, LoadedConfig } from './config.js';
export { parseDuration } from './config-parse.js';
export type { DaemonConfig } from './daemon-config.js';
export { startDaemon } from './daemon.js';
export type { Daemon, DaemonOptions } from './daemon.js';
