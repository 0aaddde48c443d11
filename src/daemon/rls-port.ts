/**
 * The daemon's side of Envoy's rate limit service (src/rls/): the limiters of
 * the RLS configuration become mesh limiters, decisions go through the
 * daemon's Decider (its shutdown gate, denial events and overflow reports),
 * and the port takes the API's host, token and TLS.
 *
 * @module
 */
import type { Logger } from 'pino';
import type { DaemonConfig } from './config/daemon-config.js';
import type { Decider } from './decider.js';
import type { DaemonMetrics } from './observe/metrics.js';
import type { Mesh } from '../mesh/mesh.js';
import { RlsServer, RlsService, type RlsBounds, type RlsRequestBounds } from '../rls/index.js';
import { tokenCheck } from '../resp/index.js';
import { formatAddress } from '../validate.js';

/** What {@link startRlsPort} needs from the daemon. */
export interface RlsPortContext {
  config: DaemonConfig & Required<Pick<DaemonConfig, 'rlsPort' | 'rlsConfig'>>;
  mesh: Mesh;
  decider: Decider;
  metrics: DaemonMetrics;
  logger: Logger;
  /** Ready and not shutting down: the health service's SERVING. */
  serving: () => boolean;
  bounds?: Partial<RlsBounds & RlsRequestBounds>;
}

/**
 * Creates the configured limiters, binds the RLS port and resolves with the
 * running server and its bound port.
 *
 * @throws the listen error (e.g. EADDRINUSE).
 */
export async function startRlsPort(ctx: RlsPortContext): Promise<{ server: RlsServer; service: RlsService; port: number }> {
  const { config, mesh, decider, metrics, logger } = ctx;
  const service = new RlsService({
    config: config.rlsConfig,
    bounds: ctx.bounds,
    decisions: {
      ensure: (spec) => {
        mesh.limiter({ maxKeys: config.maxKeys, ...spec });
      },
      consume: (limiter, key, cost) => {
        const started = metrics.sampleStart();
        const d = decider.one(limiter, key, cost);
        metrics.observeLatency('rls', started);
        return d;
      },
      peek: (limiter, key) => decider.limiter(limiter).peek(key),
    },
    onUnknownDomain: (domain, capped) => {
      logger.warn({ event: 'rls-unknown-domain', domain }, `RLS: domain "${domain}" is not configured: its requests are answered OK and not counted (logged once per domain)`);
      if (capped) logger.warn({ event: 'rls-unknown-domain-capped' }, 'RLS: 1000 unknown domains logged; further ones are not');
    },
  });
  const server = new RlsServer({
    service,
    checkToken: config.apiToken === '' ? undefined : tokenCheck(config.apiToken),
    serving: ctx.serving,
    bounds: ctx.bounds,
    tls: config.tls,
    onInternalError: (err) => logger.error({ event: 'rls-internal-error', err }, 'RLS: internal error while answering'),
  });
  const port = await server.listen(config.rlsPort, config.host);
  logger.info(
    { event: 'listening-rls', host: config.host, port, domains: config.rlsConfig.domains.map((d) => d.domain), limiters: service.limiters },
    `RLS listening on ${formatAddress(config.host, port)}`,
  );
  return { server, service, port };
}
