/**
 * Live reconfiguration: a reload of the config file (SIGHUP, or
 * `POST /v1/admin/reload`) and a limit changed over the API
 * (`PUT /v1/limiters/:name`).
 *
 * A reload re-reads the configuration exactly as `tallymesh start` read it
 * (file, environment, flags) and applies what a running node can change:
 * limiters added and removed, limits changed (written to the limiter's
 * replicated limit register with a fresh HLC timestamp, so the latest change
 * wins on every node), the log level, and the TLS certificate, key and CA
 * (re-read from their files: new connections, inbound and dialed, get the new
 * ones). It is all or nothing: an invalid file, or a change that cannot be
 * made while running — a limiter's window or buckets (nodes with different
 * geometries refuse each other's counts, which would split the cluster), TLS
 * turned on or off — is refused whole and the running configuration stays.
 * Other settings that differ (port, peers, secret…) are reported as needing
 * a restart and left as they run.
 *
 * @module
 */
import type http from 'node:http';
import type https from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-config.js';
import { codes, isTallymeshError } from '../../errors.js';
import { createLimiter, type Limiter, type LimiterOptions } from '../../limiter/limiter.js';
import type { Mesh } from '../../mesh/mesh.js';
import type { MeshTlsOptions } from '../../mesh/mesh-options.js';
import type { OperatorMetrics } from '../observe/operator-metrics.js';
import { integerOption, MAX_LIMIT } from '../../validate.js';

/** Re-reads the configuration the daemon started from; `file` is null when it has none. */
export type ConfigSource = () => { config: DaemonConfig; file: string | null };

/** What a reload did. */
export interface ReloadReport {
  /** The config file read, or null (flags and environment only). */
  file: string | null;
  /** One line per change applied (`limiter login added`, `limiter api: limit 100 -> 200`, `TLS certificates re-read`). */
  applied: string[];
  /** Settings that differ from the running ones but take effect only at a restart. */
  restartNeeded: string[];
}

/** Settings compared at reload that a running node keeps until it restarts. */
const RESTART_SETTINGS: ReadonlyArray<keyof DaemonConfig> = [
  'id', 'host', 'port', 'advertise', 'allowedHosts', 'peers', 'secret', 'apiToken', 'maxKeys', 'eventsDeniedPerSec',
  'gossipIntervalMs', 'suspectAfterMs', 'maxClockOffsetMs', 'joinTimeoutMs', 'shutdownTimeoutMs', 'drainMs', 'respPort',
];

/** The port servers whose certificates a reload replaces. */
export interface TlsServers {
  /** The API and mesh port (an https.Server when TLS is on). */
  server: http.Server;
  /** The RESP port, when it runs. */
  resp?: () => { setSecureContext(tls: MeshTlsOptions): void } | undefined;
}

/** What the reloader needs. */
export interface ReloaderOptions {
  config: DaemonConfig;
  source: ConfigSource | undefined;
  mesh: Mesh;
  /** Registers a limiter the way the daemon does at start (node-wide maxKeys). */
  addLimiter: (options: LimiterOptions) => Limiter;
  servers: TlsServers;
  logger: Logger;
  metrics: OperatorMetrics;
}

function geometryOf(options: LimiterOptions): { windowMs: number; buckets: number } {
  // A throwaway limiter resolves the default bucket count exactly as the mesh will.
  const probe = createLimiter(options);
  return { windowMs: probe.windowMs, buckets: probe.buckets };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Applies reloads and runtime limit changes to one daemon.
 *
 * @example
 * const reloader = new Reloader({ config, source: () => loadConfig({ flags }), mesh, addLimiter, servers: { server }, logger, metrics });
 * process.on('SIGHUP', () => reloader.reloadAndLog('SIGHUP'));
 */
export class Reloader {
  #o: ReloaderOptions;
  /** The configuration as last loaded (start or reload): what the next reload is compared with. */
  #running: DaemonConfig;

  constructor(options: ReloaderOptions) {
    this.#o = options;
    this.#running = options.config;
  }

  /**
   * Reloads the configuration. Throws TALLYMESH_ERR_CONFIG_INVALID (the file),
   * TALLYMESH_ERR_CONFIG_RELOAD_REFUSED (a change needing a restart) or
   * TALLYMESH_ERR_CONFIG_NOTHING_TO_RELOAD, having changed nothing; each is
   * logged and counted.
   */
  reload(trigger: string): ReloadReport {
    const { logger, metrics } = this.#o;
    try {
      const report = this.#reload();
      metrics.reload(report.applied.length === 0 ? 'unchanged' : 'applied');
      logger.info(
        { event: 'reload', trigger, file: report.file, applied: report.applied, restartNeeded: report.restartNeeded },
        report.applied.length === 0 ? `reload (${trigger}): nothing changed` : `reload (${trigger}): ${report.applied.join('; ')}`,
      );
      if (report.restartNeeded.length > 0) {
        logger.warn({ event: 'reload-restart-needed', settings: report.restartNeeded }, `reload (${trigger}): ${report.restartNeeded.join(', ')} changed but take effect only at a restart`);
      }
      return report;
    } catch (err) {
      if (!isTallymeshError(err)) throw err;
      if (err.code === 'TALLYMESH_ERR_CONFIG_NOTHING_TO_RELOAD') {
        logger.info({ event: 'reload', trigger, result: 'nothing' }, `reload (${trigger}): ${err.message}`);
      } else {
        metrics.reload(err.code === 'TALLYMESH_ERR_CONFIG_INVALID' ? 'invalid' : 'refused');
        logger.error({ event: 'reload-failed', trigger, code: err.code }, `reload (${trigger}) failed, the running configuration stays: ${err.message}`);
      }
      throw err;
    }
  }

  /**
   * Changes the limit of `name` at run time (`PUT /v1/limiters/:name`): the
   * replicated register, newest change wins cluster-wide.
   * @throws TALLYMESH_ERR_LIMITER_UNKNOWN, TALLYMESH_ERR_HTTP_BAD_REQUEST (limit not an integer in range).
   */
  setLimit(name: string, limit: unknown): Limiter {
    const limiter = this.#o.mesh.get(name);
    if (limiter === undefined) throw new codes.TALLYMESH_ERR_LIMITER_UNKNOWN(name);
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new codes.TALLYMESH_ERR_HTTP_BAD_REQUEST(`"limit" must be an integer from 1 to ${MAX_LIMIT}, got ${JSON.stringify(limit) ?? String(limit)}`);
    }
    const before = limiter.limit;
    limiter.setLimit(integerOption('limit', limit, 1, MAX_LIMIT));
    this.#o.metrics.limitChanged('api');
    this.#o.logger.info({ event: 'limit-changed', source: 'api', limiter: name, from: before, to: limit }, `limiter ${name}: limit ${before} -> ${limit} (API)`);
    return limiter;
  }

  #reload(): ReloadReport {
    const { source, mesh, servers } = this.#o;
    const running = this.#running;
    if (source === undefined) throw new codes.TALLYMESH_ERR_CONFIG_NOTHING_TO_RELOAD('this daemon was started without a way to re-read its configuration');
    // Throws TALLYMESH_ERR_CONFIG_INVALID naming the field: nothing is applied.
    const { config: next, file } = source();
    if (file === null && next.tls === undefined) {
      throw new codes.TALLYMESH_ERR_CONFIG_NOTHING_TO_RELOAD('no config file (--config) and no TLS files; limiters from flags change with PUT /v1/limiters/:name');
    }

    // 1. Refusals: checked whole before anything is applied.
    const refusals: string[] = [];
    if ((running.tls === undefined) !== (next.tls === undefined)) refusals.push(`TLS turned ${next.tls === undefined ? 'off' : 'on'} (needs a restart)`);
    else if (running.tls !== undefined && next.tls !== undefined && (running.tls.ca === undefined) !== (next.tls.ca === undefined)) {
      refusals.push(`mutual TLS (tls.caFile) ${next.tls.ca === undefined ? 'removed' : 'added'} (needs a restart)`);
    }
    for (const l of next.limiters) {
      const live = mesh.get(l.name);
      if (live === undefined) continue;
      const g = geometryOf(l);
      if (g.windowMs !== live.windowMs || g.buckets !== live.buckets) {
        refusals.push(
          `limiter ${l.name}: window ${live.windowMs} ms in ${live.buckets} buckets cannot become ${g.windowMs} ms in ${g.buckets} buckets while running: nodes with different windows refuse each other's counts, which would split the cluster (add a limiter under a new name, or restart every node with the new window)`,
        );
      }
    }
    if (refusals.length > 0) throw new codes.TALLYMESH_ERR_CONFIG_RELOAD_REFUSED(refusals.join('; '));
    if (next.tls !== undefined) {
      try {
        createSecureContext({ cert: next.tls.cert, key: next.tls.key, ca: next.tls.ca });
      } catch (err) {
        throw new codes.TALLYMESH_ERR_CONFIG_INVALID('tls', `the certificate, key or CA cannot be used: ${(err as Error).message}`);
      }
    }

    // 2. Apply.
    const applied: string[] = [];
    const restartNeeded: string[] = [];
    const nextNames = new Set(next.limiters.map((l) => l.name));
    for (const l of mesh.limiters) {
      if (!nextNames.has(l.name)) {
        mesh.removeLimiter(l.name);
        applied.push(`limiter ${l.name} removed`);
      }
    }
    let limitChanges = 0;
    for (const l of next.limiters) {
      const live = mesh.get(l.name);
      if (live === undefined) {
        this.#o.addLimiter(l);
        applied.push(`limiter ${l.name} added (limit ${l.limit}, window ${l.windowMs} ms)`);
        continue;
      }
      const before = running.limiters.find((r) => r.name === l.name);
      // Compared with the file as last loaded, not with the register: a limit changed since over the API or by a peer stays unless the file changed it.
      if (before === undefined || before.limit !== l.limit) {
        const from = live.limit;
        live.setLimit(l.limit);
        limitChanges++;
        applied.push(`limiter ${l.name}: limit ${from} -> ${l.limit}`);
      }
      if ((before?.onOverflow ?? 'allow') !== (l.onOverflow ?? 'allow')) restartNeeded.push(`limiters.${l.name}.overflow`);
    }
    if (limitChanges > 0) this.#o.metrics.limitChanged('reload', limitChanges);
    if (next.logLevel !== running.logLevel) {
      this.#o.logger.level = next.logLevel;
      applied.push(`log level ${running.logLevel} -> ${next.logLevel}`);
    }
    if (next.tls !== undefined && running.tls !== undefined) {
      // New inbound handshakes get the new certificate at once; new dials read the same object (see ws-listener.ts).
      (servers.server as https.Server).setSecureContext({ cert: next.tls.cert, key: next.tls.key, ca: next.tls.ca });
      servers.resp?.()?.setSecureContext(next.tls);
      const changed = !same(String(next.tls.cert), String(running.tls.cert)) || !same(String(next.tls.key), String(running.tls.key)) || !same(String(next.tls.ca), String(running.tls.ca));
      Object.assign(running.tls, { cert: next.tls.cert, key: next.tls.key, ca: next.tls.ca });
      if (changed) applied.push('TLS certificates re-read: new connections use the new ones');
    }
    for (const key of RESTART_SETTINGS) if (!same(running[key], next[key])) restartNeeded.push(key);
    // What the next reload compares with: the new file, except what still runs as it was.
    const kept: Partial<DaemonConfig> = {};
    for (const key of RESTART_SETTINGS) (kept as Record<string, unknown>)[key] = running[key];
    this.#running = { ...next, ...kept, tls: running.tls, limiters: next.limiters.map((l) => ({ ...l, onOverflow: running.limiters.find((r) => r.name === l.name)?.onOverflow ?? l.onOverflow })) };
    return { file, applied, restartNeeded };
  }
}
