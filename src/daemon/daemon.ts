/**
 * The clustered daemon: one port serving the HTTP API, the `/v1/stream`
 * WebSocket and the peers' `/v1/mesh` WebSocket. This file only wires the
 * pieces — browser guard, mesh, decision path, HTTP API, stream, events,
 * metrics, log — and owns the order of startup and shutdown.
 *
 * @module
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { MESH_PATH } from '../../transport/ws/ws-transport.js';
import { LOG_LEVELS, type DaemonConfig } from './config/daemon-config.js';
import { redactConfig } from './config/redact-config.js';
import { Decider } from './decider.js';
import { codes } from '../errors.js';
import { EventHub } from './http/events-api.js';
import { createHttpApi, pathOf } from './http/http-api.js';
import { startAdminListener, type AdminListener } from './http/admin-listener.js';
import { createDashboard } from './ui/dashboard.js';
import { createLimiter } from '../limiter/limiter.js';
import { keyHasher } from './observe/key-hash.js';
import { createDaemonLogger, DaemonLog } from './observe/logger.js';
import { createMesh, type Mesh, type MeshOptions } from '../mesh/mesh.js';
import { resolveMeshOptions } from '../mesh/mesh-options.js';
import { createBoundedServer } from '../mesh/port/server-bounds.js';
import { DaemonMetrics, type BrowserEndpoint } from './observe/metrics.js';
import { checkDiscoveryOptions, DEFAULT_DNS_INTERVAL_MS, DnsDiscovery, ownAddressCheck } from './dns-discovery.js';
import { registerMemoryMetrics } from './observe/memory-metrics.js';
import { OverflowWatch } from './observe/overflow-watch.js';
import { DEFAULT_DRAIN_MS, Drain, LINGER_MS, lingerForConnections, stopListening, type DrainState } from './lifecycle/drain.js';
import { GeometryWatch } from './observe/geometry-watch.js';
import { OperatorMetrics } from './observe/operator-metrics.js';
import { Reloader, type ConfigSource, type ReloadReport } from './lifecycle/reload.js';
import { allowedHostPattern, checkUpgrade, guardUpgrades, HostAllowlist, type Refusal } from '../mesh/port/port-guard.js';
import { refuseUpgrade, resolveStreamBounds, STREAM_PATH, StreamApi, type StreamBounds } from './http/stream-api.js';
import { enumOption, formatAddress, integerOption } from '../validate.js';
import { DEFAULT_RESP_BOUNDS, RespServer, tokenCheck, type RespBounds } from '../resp/index.js';
import type { RlsBounds, RlsRequestBounds } from '../rls/index.js';
import { startRlsPort } from './rls-port.js';

// The port's bounds for slow and idle clients, shared with a library mesh's port (defined in src/mesh/server-bounds.ts).
export { HEADERS_TIMEOUT_MS, MAX_CONNECTIONS, REQUEST_TIMEOUT_MS, TIMEOUT_CHECK_INTERVAL_MS } from '../mesh/port/server-bounds.js';

/** A running daemon. */
export interface Daemon {
  /** The mesh node behind the API. */
  readonly mesh: Mesh;
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:7070` (`https` with TLS). */
  readonly url: string;
  /** `host:port` peers dial (the advertised address). */
  readonly address: string;
  /** The bound port of the Redis protocol front end, when `respPort` is set. */
  readonly respPort?: number;
  /** The bound port of Envoy's rate limit service, when `rlsPort` is set. */
  readonly rlsPort?: number;
  /** Base URL of the admin listener (probes, metrics, dashboard; plain HTTP), when `adminPort` is set. */
  readonly adminUrl?: string;
  /**
   * Graceful shutdown: stops accepting connections and admitting hits, hands
   * the last deltas to the peers (and says goodbye) behind whatever was
   * queued for them, closes streams and event clients, and resolves within
   * `shutdownTimeoutMs`. Frames a slow peer had not taken by then are logged
   * (WARN `shutdown-unsent`, naming the peer). Idempotent. No drain: see {@link Daemon.stop}.
   */
  close(reason?: string): Promise<void>;
  /**
   * The graceful stop of SIGTERM: `/readyz` answers 503 at once while
   * decisions keep being served for `config.drainMs`, then {@link Daemon.close}.
   * Called again during the drain, it skips the rest of it. Resolves once closed.
   */
  stop(reason?: string): Promise<void>;
  /** `serving`, `draining` (a stop was asked for) or `closing`. */
  readonly state: DrainState;
  /**
   * Reloads the configuration through `options.configSource` (what SIGHUP
   * and `POST /v1/admin/reload` do): limiters added, removed or with a new
   * limit, the log level, TLS certificates.
   * @throws TALLYMESH_ERR_CONFIG_INVALID, TALLYMESH_ERR_CONFIG_RELOAD_REFUSED, TALLYMESH_ERR_CONFIG_NOTHING_TO_RELOAD (nothing changed).
   */
  reload(trigger?: string): ReloadReport;
}

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  /** Logger to write to (default: pino to stdout at `config.logLevel`). */
  logger?: Logger;
  /** Bounds of `/v1/stream` connections: ping interval, idle timeout, client cap (defaults in docs/http-api.md). */
  stream?: Partial<StreamBounds>;
  /** Bounds of the RESP port: connections, arguments, pipeline, output buffer (defaults in docs/resp.md). */
  resp?: Partial<RespBounds>;
  /** Bounds of the RLS port and its requests: connections, message size, streams, descriptors, entries, overrides (defaults in docs/envoy.md). */
  rls?: Partial<RlsBounds & RlsRequestBounds>;
  /** Re-reads the configuration for a reload (the CLI passes `loadConfig` with its flags); without it, reloads have nothing to read. */
  configSource?: ConfigSource;
}

/** Checks the fields only the daemon reads, before anything binds (the mesh options are checked by the mesh). */
function checkDaemonConfig(config: DaemonConfig): void {
  if (typeof config !== 'object' || config === null) throw new codes.TALLYMESH_ERR_OPTION_TYPE('config', 'an object', String(config));
  if (typeof config.apiToken !== 'string') throw new codes.TALLYMESH_ERR_OPTION_TYPE('apiToken', 'a string', typeof config.apiToken);
  if (!Array.isArray(config.limiters)) throw new codes.TALLYMESH_ERR_OPTION_TYPE('limiters', 'an array', typeof config.limiters);
  integerOption('eventsDeniedPerSec', config.eventsDeniedPerSec, 0, 1_000_000);
  integerOption('shutdownTimeoutMs', config.shutdownTimeoutMs, 0, 3_600_000);
  if (config.drainMs !== undefined) integerOption('drainMs', config.drainMs, 0, 3_600_000);
  if (config.respPort !== undefined) integerOption('respPort', config.respPort, 0, 65535);
  if (config.rlsPort !== undefined) integerOption('rlsPort', config.rlsPort, 0, 65535);
  if (config.rlsPort !== undefined && config.rlsConfig === undefined) throw new codes.TALLYMESH_ERR_OPTION_TYPE('rlsConfig', 'a rate limit configuration when rlsPort is set', 'undefined');
  if (config.adminPort !== undefined) integerOption('adminPort', config.adminPort, 0, 65535);
  checkDiscoveryOptions(config);
  enumOption('logLevel', config.logLevel, LOG_LEVELS);
  if (config.allowedHosts !== undefined) {
    if (!Array.isArray(config.allowedHosts)) throw new codes.TALLYMESH_ERR_OPTION_TYPE('allowedHosts', 'an array of host names', typeof config.allowedHosts);
    for (const h of config.allowedHosts) {
      if (typeof h !== 'string' || allowedHostPattern(h) === null) {
        throw new codes.TALLYMESH_ERR_OPTION_RANGE('allowedHosts', 'host names, IP addresses or .domain suffixes, without a port', JSON.stringify(h));
      }
    }
  }
  // A throwaway limiter validates each definition exactly as the mesh will.
  for (const l of config.limiters) createLimiter(l);
}

/** The package version HELLO reports (test/cli/resp.integration.test.ts checks it against package.json). */
const PACKAGE_VERSION = '0.1.0';

/** The RESP `INFO` text: the fields Redis clients read on connect (ioredis's ready check waits for `loading:0`). */
function respInfo(mesh: Mesh, resp: RespServer): string {
  return [
    '# Server',
    // Clients gate features on redis_version; 7.2 has HELLO and CLIENT SETINFO, which this port answers.
    'redis_version:7.2.0',
    'redis_mode:standalone',
    `tallymesh_version:${PACKAGE_VERSION}`,
    `tallymesh_node_id:${mesh.nodeId}`,
    `process_id:${process.pid}`,
    '',
    '# Clients',
    `connected_clients:${resp.connections}`,
    '',
    '# Persistence',
    'loading:0',
    '',
    '# Replication',
    'role:master',
    '',
  ].join('\r\n');
}

/** Most of the shutdown timeout kept back from the mesh's drain, so the mesh cuts, counts and logs before the daemon's deadline. */
const DRAIN_MARGIN_MS = 250;

/** The mesh's close timeout: the shutdown timeout less a margin (a tenth of it, at most {@link DRAIN_MARGIN_MS}). */
function drainTimeoutMs(shutdownTimeoutMs: number): number {
  return shutdownTimeoutMs - Math.min(DRAIN_MARGIN_MS, Math.floor(shutdownTimeoutMs / 10));
}

function meshOptions(config: DaemonConfig): MeshOptions {
  return {
    nodeId: config.id,
    host: config.host,
    port: config.port,
    advertise: config.advertise,
    peers: config.peers,
    secret: config.secret,
    gossipIntervalMs: config.gossipIntervalMs,
    prefill: config.prefill,
    suspectAfterMs: config.suspectAfterMs,
    maxClockOffsetMs: config.maxClockOffsetMs,
    joinTimeoutMs: config.joinTimeoutMs,
    maxKeys: config.maxKeys,
    tls: config.tls,
    closeTimeoutMs: drainTimeoutMs(config.shutdownTimeoutMs),
  };
}

function listen(server: http.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** The metric label of an upgrade's path (a fixed set). */
function upgradeEndpoint(path: string): BrowserEndpoint {
  return path === MESH_PATH ? 'mesh' : path === STREAM_PATH ? 'stream' : 'other';
}

/** The URL clients use: a wildcard bind is reached over loopback; IPv6 literals go in brackets. */
function baseUrl(tls: boolean, host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${tls ? 'https' : 'http'}://${formatAddress(reachable, port)}`;
}

/**
 * Starts a daemon: validates `config`, listens on `config.host:config.port`,
 * joins the mesh, and serves the HTTP API, `/v1/stream` and `/v1/events` on
 * the same port as the peers' `/v1/mesh`. Resolves once listening (check
 * `/readyz` or `daemon.mesh.whenReady()` for the initial sync).
 *
 * @throws TALLYMESH_ERR_OPTION_* for invalid config (before binding), or the
 *   listen error (e.g. EADDRINUSE).
 * @example
 * import { startDaemon } from 'tallymesh/daemon';
 * const daemon = await startDaemon(config);
 * console.log(`serving ${daemon.url}`);
 * process.once('SIGTERM', () => daemon.close('SIGTERM'));
 */
export async function startDaemon(config: DaemonConfig, options: DaemonOptions = {}): Promise<Daemon> {
  checkDaemonConfig(config);
  resolveMeshOptions(meshOptions(config)); // throws before binding, naming the field
  const streamBounds = resolveStreamBounds(options.stream);
  const logger = createDaemonLogger(config.id, config.logLevel, options.logger);
  const tls = config.tls;
  // Bounds for slow or idle clients: a request must arrive whole in time
  // (checked every second), and connections are capped. Streams and event
  // feeds are long-lived by design and have bounds of their own.
  const server = createBoundedServer(tls);

  // The mesh needs a listening server, so requests can arrive before the API
  // exists; they wait for it (a few milliseconds) instead of being dropped.
  let api: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;
  const waiting: Array<() => void> = [];
  const drain = new Drain(config.drainMs ?? DEFAULT_DRAIN_MS);
  server.on('request', (req, res) => {
    if (api !== undefined) api(req, res);
    else waiting.push(() => api?.(req, res));
  });

  const bound = await listen(server, config.port, config.host);
  // Guarded before the mesh attaches: no upgrade from a browser or to a foreign Host reaches /v1/mesh or /v1/stream.
  // Refusals are counted and logged once the metrics and the log exist (a few ms later).
  const hosts = new HostAllowlist({ host: config.host, boundAddress: bound.address, advertise: config.advertise, allowedHosts: config.allowedHosts });
  let reportRefusal: (endpoint: BrowserEndpoint, req: http.IncomingMessage, refusal: Refusal) => void = () => {};
  guardUpgrades(
    server,
    (req) => checkUpgrade(req, hosts),
    (req, refusal) => reportRefusal(upgradeEndpoint(pathOf(req.url)), req, refusal),
  );
  let mesh: Mesh;
  // DNS discovery (--peers-dns): the first answer joins the seeds, so readiness waits for those nodes too.
  const discovery =
    config.peersDns === undefined
      ? undefined
      : new DnsDiscovery({
          names: config.peersDns,
          intervalMs: config.dnsIntervalMs ?? DEFAULT_DNS_INTERVAL_MS,
          server: config.dnsServer,
          isSelf: ownAddressCheck({ host: config.host, port: bound.port, advertise: config.advertise }),
          pinned: config.peers,
          logger,
        });
  // Bounded by the join wait: a DNS server that does not answer must not hold the start (and the probes) back.
  const seeds = [...new Set([...config.peers, ...((await discovery?.lookup(config.joinTimeoutMs ?? 2000)) ?? [])])];
  try {
    mesh = await createMesh({ ...meshOptions(config), peers: seeds, port: bound.port, server });
    // maxKeys is node-wide: a limiter without its own bound may use all of it
    // (the limiter's default of 1,000,000 would cap a larger --max-keys).
    for (const l of config.limiters) mesh.limiter({ maxKeys: config.maxKeys, ...l });
  } catch (err) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }

  discovery?.attach(mesh);
  const hashKey = keyHasher(config.secret);
  const log = new DaemonLog(logger, hashKey);
  log.watch(mesh, config.peers);
  let shuttingDown = false;
  const dashboard = createDashboard({ apiToken: config.apiToken, port: bound.port, secure: tls !== undefined, logger });
  const authorize = dashboard.authorize;
  const metrics: DaemonMetrics = new DaemonMetrics(mesh, {
    maxKeys: config.maxKeys,
    ready: () => mesh.ready && !shuttingDown && !drain.stopping,
    // Read at scrape time, when the endpoints created below exist.
    clients: (): { stream: number; events: number } => ({ stream: stream.clients, events: events.clients }),
    resp: () => resp?.stats,
    rls: () => (rls === undefined ? undefined : { ...rls.server.stats, results: rls.service.results }),
  });
  const operatorMetrics = new OperatorMetrics(metrics.registry, mesh);
  const geometry = new GeometryWatch();
  geometry.watch(mesh);
  // A peer or client whose certificate the port refuses (another CA, none under mTLS): counted and logged, sampled.
  server.on('tlsClientError', (err: Error & { code?: string }, socket: { remoteAddress?: string }) => {
    operatorMetrics.tlsRefused();
    log.tlsRefused(err, socket.remoteAddress);
  });
  const events = new EventHub({
    incarnation: mesh.incarnation,
    deniedPerSec: config.eventsDeniedPerSec,
    hashKey,
    onDropped: (reason, n) => metrics.eventsDropped(reason, n),
  });
  events.watch(mesh);
  registerMemoryMetrics(metrics.registry, config.memory);
  discovery?.registerMetrics(metrics.registry);
  // An overflow is loud everywhere an operator looks: the metric (read from the
  // limiter's stats at scrape), a sampled log line, an SSE event, and /readyz.
  const overflows = new OverflowWatch();
  const decider = new Decider(mesh, {
    denied: (limiter, key, cost, decision) => events.denied(limiter, key, cost, decision),
    overflow: (limiter, key) => {
      overflows.record(limiter);
      log.overflow(limiter, key, config.maxKeys);
      events.overflow(limiter, key);
    },
  });
  const stream = new StreamApi({ decider, metrics, authorize, logger, bounds: streamBounds });
  reportRefusal = (endpoint, req, refusal) => {
    metrics.browserRefused(refusal.reason, endpoint);
    log.browserRefused(endpoint, refusal, req.socket.remoteAddress);
  };

  const reloader = new Reloader({
    config,
    source: options.configSource,
    mesh,
    addLimiter: (l) => mesh.limiter({ maxKeys: config.maxKeys, ...l }),
    servers: { server, resp: () => resp },
    logger,
    metrics: operatorMetrics,
  });
  const apiOptions = {
    mesh,
    decider,
    metrics,
    events,
    authorize,
    maxKeys: config.maxKeys,
    ports: (): Record<string, number> => ({
      http: bound.port,
      ...(respPort === undefined ? {} : { resp: respPort }),
      ...(rls === undefined ? {} : { rls: rls.port }),
      ...(admin === undefined ? {} : { admin: admin.port }),
    }),
    overflows,
    seeds,
    discovery: discovery === undefined ? undefined : () => discovery.status(),
    memory: config.memory,
    logger,
    hosts,
    onRefused: (req: http.IncomingMessage, refusal: Refusal) => reportRefusal('http', req, refusal),
    reloader,
    lifecycle: drain,
    degraded: () => geometry.describe(),
    clusterExtras: () => ({ lifecycle: drain.state, geometryConflicts: geometry.recent() }),
  };
  api = createHttpApi({ ...apiOptions, ui: dashboard.mainRoutes }, () => shuttingDown);
  for (const run of waiting.splice(0)) run();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = pathOf(req.url);
    if (path === MESH_PATH) return; // the mesh's transport takes these
    if (path === STREAM_PATH) stream.handleUpgrade(req, socket, head);
    else refuseUpgrade(socket, new codes.TALLYMESH_ERR_HTTP_NOT_FOUND(req.method, path));
  });

  // The extra listeners, started below (declared first: a failed start releases whichever exist).
  let admin: AdminListener | undefined;
  let resp: RespServer | undefined;
  let respPort: number | undefined;
  let rls: Awaited<ReturnType<typeof startRlsPort>> | undefined;
  // A port that fails to bind stops everything started so far, then rethrows.
  const abortStart = async (err: unknown): Promise<never> => {
    decider.stop();
    events.close();
    stream.terminate();
    resp?.terminate();
    admin?.terminate();
    admin?.stopAccepting();
    server.closeAllConnections();
    await Promise.all([mesh.close(), new Promise<void>((resolve) => server.close(() => resolve()))]);
    throw err;
  };

  // The plain admin listener: probes, metrics, cluster, events and the dashboard, without TLS or token.
  if (config.adminPort !== undefined) {
    const adminHost = config.adminHost ?? config.host;
    const adminHosts = new HostAllowlist({ host: adminHost, advertise: config.advertise, allowedHosts: config.allowedHosts });
    try {
      admin = await startAdminListener({
        host: adminHost,
        port: config.adminPort,
        api: createHttpApi({ ...apiOptions, authorize: () => true, hosts: adminHosts }, () => shuttingDown),
        ui: dashboard.adminRoutes,
        hosts: adminHosts,
        onRefused: (req, refusal) => reportRefusal('http', req, refusal),
      });
    } catch (err) {
      return abortStart(err);
    }
    logger.info({ event: 'listening-admin', url: admin?.url }, `admin listener on ${admin?.url} (probes, metrics, cluster, events, dashboard)`);
  }

  // The Redis protocol front end: same host, token, TLS and decision path as the API.
  if (config.respPort !== undefined) {
    const checkToken = tokenCheck(config.apiToken);
    resp = new RespServer({
      // An API token longer than the argument bound must still fit in AUTH.
      bounds: { maxArgBytes: Math.max(DEFAULT_RESP_BOUNDS.maxArgBytes, Buffer.byteLength(config.apiToken)), ...options.resp },
      tls,
      context: {
        decisions: {
          consume: (limiter, key, cost) => {
            const started = metrics.sampleStart();
            const d = decider.one(limiter, key, cost);
            metrics.observeLatency('resp', started);
            return d;
          },
          peek: (limiter, key) => decider.limiter(limiter).peek(key),
          reset: (limiter, key) => {
            const l = decider.limiter(limiter);
            // A reset after shutdown began would never reach the peers.
            if (!decider.open) throw new codes.TALLYMESH_ERR_MESH_CLOSED();
            l.reset(key);
          },
        },
        checkToken,
        tokenRequired: config.apiToken !== '',
        version: PACKAGE_VERSION,
        info: () => respInfo(mesh, resp as RespServer),
      },
      onClose: (reason, remoteAddress) => {
        if (reason === 'http' || reason === 'protocol') logger.debug({ event: 'resp-closed', reason, remoteAddress }, `RESP connection closed (${reason})`);
      },
    });
    respPort = await resp.listen(config.respPort, config.host).catch(abortStart);
    logger.info({ event: 'listening-resp', host: config.host, port: respPort }, `RESP listening on ${formatAddress(config.host, respPort)}`);
  }

  // Envoy's rate limit service (src/rls/): same host, token, TLS and decision path as the API.
  if (config.rlsPort !== undefined && config.rlsConfig !== undefined) {
    const rlsConfig = { ...config, rlsPort: config.rlsPort, rlsConfig: config.rlsConfig };
    rls = await startRlsPort({ config: rlsConfig, mesh, decider, metrics, logger, serving: () => mesh.ready && !shuttingDown, bounds: options.rls }).catch(abortStart);
  }

  const url = baseUrl(tls !== undefined, config.host, bound.port);
  logger.info({ event: 'config', config: redactConfig(config) }, 'config loaded');
  logger.info({ event: 'listening', url, address: mesh.address(), hostCheck: hosts.enforced }, `listening on ${url}`);
  if (config.secret === '') {
    logger.info({ event: 'secret' }, 'no cluster secret: this node uses a random one of its own, so no peer can join it');
  }

  /** `drained`: after a drain (stop()), requests on connections accepted just before the cut are waited for, not cut. */
  const shutdown = async (reason: string, drained: boolean): Promise<void> => {
    // No new connections, before any request is refused: a client that reconnects after its 503 meets a closed port
    // (ECONNREFUSED), not a connection reset out of the listening socket's backlog. Requests on open connections are
    // answered (503 and Connection: close if they would admit). Without a drain, idle keep-alive connections go at
    // once (a close() in a test or a host application).
    if (drained) stopListening(server);
    else {
      server.close();
      server.closeIdleConnections();
    }
    shuttingDown = true;
    logger.info({ event: 'shutdown', reason }, `shutting down (${reason})`);
    discovery?.stop();
    // Order matters: no hit is admitted after this line, so the flush inside
    // mesh.close() below carries every admitted hit to the peers.
    decider.stop();
    events.close();
    // A peer that did not take what was queued for it within the timeout: its frames are lost, and that is loud.
    mesh.on('unsent', (e: { nodeId: string; frames: number; bytes: number }) => {
      logger.warn(
        { event: 'shutdown-unsent', peer: e.nodeId, frames: e.frames, bytes: e.bytes },
        `shutdown: ${e.frames} frames (${e.bytes} bytes) queued for peer ${e.nodeId} were not sent within the shutdown timeout`,
      );
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs);
    });
    const orderly = Promise.all([mesh.close(), stream.close(), resp?.close(), rls?.server.close()]).then(
      () => 'done' as const,
      (err: unknown) => {
        logger.error({ event: 'shutdown-error', err }, 'error while closing');
        return 'done' as const;
      },
    );
    const outcome = await Promise.race([orderly, deadline]);
    clearTimeout(timer);
    // Requests on connections accepted just before the cut get their answer (503) instead of a closed socket.
    if (outcome !== 'timeout' && drained) await lingerForConnections(server, Math.min(LINGER_MS, config.shutdownTimeoutMs));
    if (outcome === 'timeout') logger.warn({ event: 'shutdown-timeout', timeoutMs: config.shutdownTimeoutMs }, 'shutdown deadline passed: cutting connections');
    // Whatever is still open now (slow stream clients, keep-alive requests) is cut.
    stream.terminate();
    resp?.terminate();
    rls?.server.terminate();
    server.closeAllConnections();
    // Last: probes keep their answer (503, shutting down) until the end.
    admin?.stopAccepting();
    admin?.terminate();
    logger.info({ event: 'closed', reason }, 'closed');
  };
  discovery?.start();
  let closing: Promise<void> | undefined;
  const close = (reason = 'shutdown', drained = false): Promise<void> => {
    drain.close();
    return (closing ??= shutdown(reason, drained));
  };
  let stopping: Promise<void> | undefined;
  const stop = (reason = 'shutdown'): Promise<void> => {
    if (closing !== undefined) return closing;
    if (stopping !== undefined) {
      logger.info({ event: 'drain-skipped', reason }, `drain cut short (${reason})`);
      void drain.run();
      return stopping;
    }
    logger.info({ event: 'draining', reason, drainMs: drain.drainMs }, `draining (${reason}): /readyz answers 503, decisions are served for ${drain.drainMs} ms more`);
    stopping = drain.run().then(() => close(reason, true));
    return stopping;
  };
  return {
    mesh,
    url,
    address: mesh.address(),
    respPort,
    rlsPort: rls?.port,
    adminUrl: admin?.url,
    close: (reason?: string) => close(reason),
    stop,
    get state() {
      return drain.state;
    },
    reload: (trigger = 'api') => reloader.reload(trigger),
  };
}
