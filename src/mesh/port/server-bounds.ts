/**
 * The bounds every HTTP(S) server tallymesh opens holds slow and idle
 * clients to — the daemon's port and a library mesh's port alike: the
 * request headers and the whole request must arrive in time, the deadlines
 * are checked every second, and connections are capped. Node's defaults
 * (60 s headers, 300 s request, checked every 30 s, no cap) let a slowloris
 * client hold a socket for minutes.
 *
 * Only receiving a request is bounded: a WebSocket (`/v1/mesh`,
 * `/v1/stream`) or an event stream, once answered, is long-lived by design
 * and has bounds of its own.
 *
 * May import: `node:` modules only.
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';

/** A request's headers must arrive whole within this (slowloris bound; node:http answers 408 and closes). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** A whole request, headers and body, must arrive within this. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** How often the two deadlines above are checked: a slow client is cut at most this late. */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** Open connections of all kinds (API, streams, event feeds, peers) past which new ones are dropped. */
export const MAX_CONNECTIONS = 10_000;

/** TLS material of a listening port; with `ca`, clients must present a certificate it signed (mutual TLS). */
export interface ServerTls {
  cert: string | Buffer;
  key: string | Buffer;
  ca?: string | Buffer;
}

/**
 * An HTTP server, or HTTPS with `tls`, with the bounds above: what the
 * daemon and a library mesh listen on. (A server the caller brings, as
 * createMesh's `server` option, keeps the bounds its owner gave it.)
 *
 * @example
 * const server = createBoundedServer(config.tls);
 * server.listen(config.port, config.host);
 */
export function createBoundedServer(tls?: ServerTls): http.Server {
  // node:http checks the two request deadlines only every
  // connectionsCheckingInterval (default 30 s), which let a slowloris client
  // hold a socket 40 s against a 10 s headers timeout: check every second.
  const bounds = { connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS };
  const server =
    tls === undefined
      ? http.createServer(bounds)
      : https.createServer({ ...bounds, cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: tls.ca !== undefined, rejectUnauthorized: tls.ca !== undefined });
  server.maxConnections = MAX_CONNECTIONS; // not a constructor option
  return server;
}
