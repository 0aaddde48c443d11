/**
 * The daemon's resolved configuration: what `tallymesh start` builds from its
 * YAML file, flags and `TALLYMESH_*` environment variables (see load-config.ts),
 * and what `startDaemon` runs.
 *
 * @module
 */
import type { LimiterOptions } from '../../limiter/limiter.js';
import type { MeshTlsOptions } from '../../mesh/mesh-options.js';
import type { RlsConfig } from '../../rls/index.js';
import type { MemoryBudget } from '../memory-budget.js';

/**
 * The log levels a daemon accepts (pino's, plus `silent`): the one list the
 * config loader, `startDaemon`'s check and {@link LogLevel} come from.
 *
 * @example
 * LOG_LEVELS.includes('debug'); // true
 */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * One of {@link LOG_LEVELS}.
 *
 * @example
 * const level: LogLevel = 'warn';
 */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A fully resolved, validated daemon configuration. */
export interface DaemonConfig {
  /** Node id, unique in the cluster. */
  id: string;
  /** Interface to bind (default 127.0.0.1; non-loopback requires a secret). */
  host: string;
  /** Port for the HTTP API and the peer WebSocket (default 7070; 0 picks one). */
  port: number;
  /** Address peers should dial, when it differs from host:port. */
  advertise?: string;
  /**
   * Names accepted in the `Host` header besides loopback, `host` and the
   * `advertise` host (a leading dot: a domain and its subdomains). Without it
   * the check applies on loopback binds only; with it, on any bind.
   */
  allowedHosts?: string[];
  /** Seed peers (`host:port`). */
  peers: string[];
  /**
   * Cluster secret. '' only on loopback and without peers: the node then
   * uses a random secret of its own, so nothing can join it.
   */
  secret: string;
  /** Bearer token required by every endpoint but /healthz and /readyz ('' = none). */
  apiToken: string;
  /** Limiters served. */
  limiters: LimiterOptions[];
  /** Keys held per node across limiters before each limiter's onOverflow applies (default 1,000,000). */
  maxKeys: number;
  /** Denial events per second sent to /v1/events subscribers (default 10). */
  eventsDeniedPerSec: number;
  /** pino level (default 'info'). */
  logLevel: LogLevel;
  gossipIntervalMs: number;
  /** Lag-aware admission's pre-fill, 0–1 (default 0.7; docs/accuracy.md). */
  prefill?: number;
  suspectAfterMs: number;
  maxClockOffsetMs: number;
  /** How long a joining node waits for its seeds before it calls itself ready alone (default 2000 ms). */
  joinTimeoutMs?: number;
  /** Upper bound for the graceful shutdown (default 5000 ms). */
  shutdownTimeoutMs: number;
  /**
   * How long a stopping daemon keeps serving decisions with `/readyz` at 503
   * before it stops accepting (default 5000 ms; 0 closes at once). Applies
   * to `daemon.stop()` and the CLI's SIGTERM/SIGINT, not to `daemon.close()`.
   */
  drainMs?: number;
  tls?: MeshTlsOptions;
  /** Port of the Redis protocol front end (docs/resp.md), bound on `host` with the API's token and TLS; absent = off; 0 picks one. */
  respPort?: number;
  /** Port of Envoy's rate limit service over gRPC (docs/envoy.md), bound on `host` with the API's token and TLS; absent = off; 0 picks one. Needs `rlsConfig`. */
  rlsPort?: number;
  /** The rate limit configuration in envoyproxy/ratelimit's format (`--rls-config`), read and validated by the loader. */
  rlsConfig?: RlsConfig;
  /**
   * Port of the plain admin listener (src/daemon/http/admin-listener.ts): probes, `/metrics`, `/v1/cluster`,
   * `/v1/events` and the dashboard, without TLS or token, never the decision endpoints; absent = off; 0 picks one.
   */
  adminPort?: number;
  /** Interface the admin listener binds (default: `host`). */
  adminHost?: string;
  /** DNS names (`name:port`) whose A/AAAA records are peers, looked up every `dnsIntervalMs` (see dns-discovery.ts). */
  peersDns?: string[];
  /** Interval between DNS lookups of `peersDns` (default 5000 ms). */
  dnsIntervalMs?: number;
  /** `ip:port` of the DNS server asked instead of the system's resolver. */
  dnsServer?: string;
  /** Where `maxKeys` came from and the memory limit it was sized for (see memory-budget.ts); absent = `maxKeys` as given. */
  memory?: MemoryBudget;
}
