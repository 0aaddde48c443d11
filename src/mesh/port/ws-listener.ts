/**
 * Opens the node's port — one HTTP(S) server for the peer WebSocket at
 * `/v1/mesh` (and, in a daemon, the HTTP API) — and the WebSocket transport on it.
 * Every upgrade on that port passes the browser guard of `port-guard.ts`
 * first (a daemon installs its own, with its allowlist and metrics). A port
 * it opens itself has the daemon's bounds for slow and idle clients
 * (`server-bounds.ts`).
 *
 * @module
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { realScheduler, type Scheduler } from '../../../transport/scheduler.js';
import type { Transport } from '../../../transport/transport.js';
import { createWsTransport } from '../../../transport/ws/ws-transport.js';
import { formatAddress } from '../../validate.js';
import type { ResolvedMeshOptions } from '../mesh-options.js';
import { checkUpgrade, guardUpgrades, HostAllowlist } from './port-guard.js';
import { createBoundedServer } from './server-bounds.js';

/** Listens (unless given a server) and returns the WebSocket transport with a way to close both. */
export async function openWsTransport(
  opts: ResolvedMeshOptions,
  incarnation: string,
): Promise<{ transport: Transport; scheduler: Scheduler; server: http.Server; close: () => Promise<void> }> {
  let server = opts.server;
  const owned = server === undefined;
  if (server === undefined) {
    // The daemon's bounds for slow and idle clients: a library mesh's port is as exposed as a daemon's.
    const s = createBoundedServer(opts.tls);
    // Requests other than the mesh upgrade get a plain 404 unless a daemon adds routes.
    s.on('request', (req, res) => {
      if (s.listenerCount('request') === 1) {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(opts.port, opts.host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    server = s;
  }
  const bound = server.address() as AddressInfo;
  const advertise = opts.advertise ?? formatAddress(opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host, bound.port);
  // Before the transport listens: a browser (Origin, a rebound Host) never reaches /v1/mesh. No-op when the owner guards it already.
  const hosts = new HostAllowlist({ host: opts.host, boundAddress: bound.address, advertise });
  guardUpgrades(server, (req) => checkUpgrade(req, hosts));
  const transport = createWsTransport({
    nodeId: opts.nodeId,
    incarnation,
    secret: opts.secret,
    server,
    advertise,
    maxFrameBytes: opts.maxFrameBytes,
    maxQueueBytes: opts.maxQueueBytes,
    handshakeTimeoutMs: opts.handshakeTimeoutMs,
    closeTimeoutMs: opts.closeTimeoutMs,
    maxPendingHandshakes: opts.maxPendingHandshakes,
    maxPendingHandshakesPerAddress: opts.maxPendingHandshakesPerAddress,
    // The options' own object, read at every dial: a daemon that reloads its certificates replaces its fields in place.
    tls: opts.tls,
  });
  const srv = server;
  return {
    transport,
    scheduler: realScheduler,
    server: srv,
    close: async () => {
      await transport.close();
      if (owned) {
        srv.closeAllConnections?.();
        await new Promise<void>((resolve) => srv.close(() => resolve()));
      }
    },
  };
}
