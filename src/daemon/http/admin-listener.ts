/**
 * The admin listener (`--admin-port`, `--admin-host`): a second, plain HTTP
 * port for what operators' tools need when the main port speaks mutual TLS or
 * wants a token — Kubernetes `httpGet` probes, a Prometheus scrape, a browser
 * on the dashboard. It serves `/healthz`, `/readyz`, `/metrics`,
 * `/v1/cluster`, `/v1/events` and `/ui`, without TLS and without the API
 * token, and never a decision, a reset, the stream or the peers' mesh: those
 * answer 404 here, whatever is asked.
 *
 * The browser guard applies as on the main port: a `Host` the listener does
 * not answer to gets 421 (a page rebinding its domain to the admin port could
 * otherwise read the cluster without a token).
 *
 * May import: `node:` modules, `src/errors.ts`, `src/mesh/port/`, `./http-api.ts`, `./ui/`.
 *
 * @module
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { codes } from '../../errors.js';
import { pathOf } from './http-api.js';
import { checkRequest, type HostAllowlist, type Refusal } from '../../mesh/port/port-guard.js';
import { createBoundedServer } from '../../mesh/port/server-bounds.js';
import { formatAddress } from '../../validate.js';
import type { UiRoutes } from '../ui/ui-routes.js';

/** The API paths the admin listener serves (besides `/ui`). */
export const ADMIN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics', '/v1/cluster', '/v1/events']);

/** Options of {@link startAdminListener}. */
export interface AdminListenerOptions {
  host: string;
  port: number;
  /** The HTTP API's handler, built without a token check: only {@link ADMIN_PATHS} reach it. */
  api: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  ui: UiRoutes;
  /** The names this listener answers to in `Host` (the API handler must check the same list). */
  hosts: HostAllowlist;
  /** Told of every request the browser guard refuses. */
  onRefused?: (req: http.IncomingMessage, refusal: Refusal) => void;
}

/** A listening admin port. */
export interface AdminListener {
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:9090`. */
  readonly url: string;
  /** Stops accepting connections; open ones finish (a probe during shutdown still gets its 503). */
  stopAccepting(): void;
  /** Cuts whatever is still open. */
  terminate(): void;
}

function refuse(res: http.ServerResponse, status: number, code: string, message: string): void {
  const text = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * Binds the admin listener. Rejects with the listen error (`EADDRINUSE`…).
 *
 * @example
 * const admin = await startAdminListener({ host: '0.0.0.0', port: 9090, api, ui, hosts });
 * console.log(`admin on ${admin.url}`);
 */
export async function startAdminListener(o: AdminListenerOptions): Promise<AdminListener> {
  const server = createBoundedServer();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = pathOf(req.url);
    const refusal = checkRequest(req, o.hosts);
    if (refusal !== null) {
      o.onRefused?.(req, refusal);
      return refuse(res, refusal.error.statusCode, refusal.error.code, refusal.error.message);
    }
    if (o.ui.handles(path)) return o.ui.serve(req, res, path);
    if (ADMIN_PATHS.has(path)) return o.api(req, res);
    const err = new codes.TALLYMESH_ERR_HTTP_NOT_FOUND(req.method, path);
    refuse(res, 404, err.code, `${err.message}: the admin listener serves only ${[...ADMIN_PATHS].join(', ')} and /ui; decisions are on the main port`);
  });
  // No WebSocket here: neither the peers' mesh nor the decision stream.
  server.on('upgrade', (_req: http.IncomingMessage, socket: Duplex) => socket.destroy());
  const bound = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
  const reachable = o.host === '0.0.0.0' ? '127.0.0.1' : o.host === '::' ? '::1' : o.host;
  const url = `http://${formatAddress(reachable, bound.port)}`;
  return {
    port: bound.port,
    url,
    stopAccepting: () => {
      server.close();
      server.closeIdleConnections();
    },
    terminate: () => server.closeAllConnections(),
  };
}
