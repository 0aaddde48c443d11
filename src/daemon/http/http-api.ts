/**
 * The daemon's HTTP API on `node:http`: routing and the JSON endpoints.
 * What `/readyz` answers is decided in `readiness.ts`; this file only routes.
 *
 * Every request first passes the browser guard (`src/mesh/port-guard.ts`):
 * a `Host` the node does not answer to gets 421, a cross-origin write 403.
 * Then `/healthz` and `/readyz` are answered, before authentication and
 * without touching the decision path, the stream or the event hub: a probe
 * must keep working when everything else is saturated. Everything else
 * needs the bearer token when one is configured (`/metrics` included), and
 * answers errors as `{ error: { code, message } }` with a registry code.
 *
 * @module
 */
import type http from 'node:http';
import type { Logger } from 'pino';
import { MAX_BATCH_REQUESTS, type Decider } from '../decider.js';
import { codes, isTallymeshError } from '../../errors.js';
import type { EventHub } from './events-api.js';
import { AUTH_CHALLENGE } from './http-auth.js';
import { readJson } from './http-body.js';
import type { Mesh } from '../../mesh/mesh.js';
import { checkRequest, type HostAllowlist, type Refusal } from '../../mesh/port/port-guard.js';
import type { DaemonMetrics } from '../observe/metrics.js';
import type { DnsDiscoveryStatus } from '../dns-discovery.js';
import type { MemoryBudget } from '../memory-budget.js';
import type { OverflowWatch } from '../observe/overflow-watch.js';
import { readiness } from './readiness.js';
import type { UiRoutes } from '../ui/ui-routes.js';
import type { Reloader } from '../lifecycle/reload.js';
import { LIMITER_ROUTE, limiterRoute, RELOAD_PATH, reloadRoute } from './runtime-config-api.js';

/** Options of {@link createHttpApi}. */
export interface HttpApiOptions {
  mesh: Mesh;
  decider: Decider;
  metrics: DaemonMetrics;
  events: EventHub;
  authorize: (req: http.IncomingMessage) => boolean;
  /** Node-wide key bound (shown by /v1/cluster, and by /readyz once reached). */
  maxKeys: number;
  /** The node's ports, shown by /v1/cluster (read at request time: the RESP port binds after the API exists). */
  ports: () => Record<string, number>;
  /** Recent overflows, listed by /readyz as a degraded mode. */
  overflows?: OverflowWatch;
  /** Seed peers from the config (readiness explains how many were reached). */
  seeds: readonly string[];
  /** DNS discovery's state, shown by /v1/cluster under `discovery.dns` (absent without --peers-dns). */
  discovery?: () => DnsDiscoveryStatus;
  /** Where the key bound came from, shown by /v1/cluster under `keys.budget`. */
  memory?: MemoryBudget;
  logger: Logger;
  /** The names this node answers to in `Host`. */
  hosts: HostAllowlist;
  /** Told of every request the browser guard refuses (for the metric and the log). */
  onRefused?: (req: http.IncomingMessage, refusal: Refusal) => void;
  /** The dashboard (`/ui`): its files need no token; the data it reads is authorized as usual. */
  ui?: UiRoutes;
  /** Reloads and runtime limit changes (`POST /v1/admin/reload`, `PUT /v1/limiters/:name`). */
  reloader?: Reloader;
  /** The drain: once stopping, `/readyz` answers 503 with `describe()` while the API keeps serving. */
  lifecycle?: { readonly stopping: boolean; describe(): string };
  /** More degraded-mode reasons for `/readyz` (geometry conflicts). */
  degraded?: () => string[];
  /** More fields for `/v1/cluster`. */
  clusterExtras?: () => Record<string, unknown>;
}

/** Route names, used as the `route` metric label. */
type Route = 'consume' | 'keys' | 'limiter' | 'reload' | 'cluster' | 'events' | 'stream' | 'metrics' | 'unknown';

const JSON_TYPE = 'application/json; charset=utf-8';
const KEY_ROUTE = /^\/v1\/limiters\/([^/]+)\/keys\/([^/]+)$/;

/**
 * The path of a request target, without its query: what routes are matched on.
 *
 * @example
 * pathOf('/v1/limiters/api/keys/k?cells=1'); // '/v1/limiters/api/keys/k'
 */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
}

function writeJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Percent-decodes one path segment; malformed escapes are the client's error, not a crash. */
function decodeSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Well-formed escapes of bytes that are not UTF-8 (%ED%A0%80 is a lone surrogate as WTF-8): a key with no string form.
    if (what === 'key' && !/%(?![0-9A-Fa-f]{2})/.test(segment)) throw new codes.TALLYMESH_ERR_KEY_MALFORMED('percent-escapes that are not UTF-8');
    throw new codes.TALLYMESH_ERR_HTTP_BAD_REQUEST(`the ${what} in the path has invalid percent-encoding`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Builds the request listener of the daemon's HTTP API. `closing()` turns
 * true when shutdown begins: from then on API requests get 503 and the
 * connection is closed.
 *
 * @example
 * server.on('request', createHttpApi({ mesh, decider, metrics, events, authorize, maxKeys, seeds, logger, hosts }, () => closing));
 */
export function createHttpApi(o: HttpApiOptions, closing: () => boolean): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const send = (res: http.ServerResponse, route: Route, status: number, body: unknown, headers?: Record<string, string>): void => {
    writeJson(res, status, body, headers);
    o.metrics.httpResponse(route, status);
  };

  const fail = (req: http.IncomingMessage, res: http.ServerResponse, route: Route, err: unknown): void => {
    if (res.headersSent || res.destroyed || req.socket.destroyed) {
      res.destroy(); // the client went away, or the response already started: nothing left to say
      return;
    }
    if (!isTallymeshError(err)) {
      o.logger.error({ event: 'http-error', route, err }, 'unexpected error in the HTTP API');
      const internal = new codes.TALLYMESH_ERR_HTTP_INTERNAL('see the daemon log');
      send(res, route, 500, { error: { code: internal.code, message: internal.message } });
      return;
    }
    const headers: Record<string, string> = {};
    if (err.code === 'TALLYMESH_ERR_HTTP_UNAUTHORIZED') headers['www-authenticate'] = AUTH_CHALLENGE;
    // Past the body bound, or refused for its type, the rest of the body is unread; after shutdown began the connection has no future.
    if (err.code === 'TALLYMESH_ERR_HTTP_BODY_TOO_LARGE' || err.code === 'TALLYMESH_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE' || err.code === 'TALLYMESH_ERR_MESH_CLOSED') {
      headers.connection = 'close';
    }
    send(res, route, err.statusCode, { error: { code: err.code, message: err.message } }, headers);
  };

  const notAllowed = (req: http.IncomingMessage, res: http.ServerResponse, route: Route, allow: string): void => {
    const err = new codes.TALLYMESH_ERR_HTTP_METHOD_NOT_ALLOWED(req.method, pathOf(req.url));
    send(res, route, 405, { error: { code: err.code, message: `${err.message} (allowed: ${allow})` } }, { allow });
  };

  const consume = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (req.method !== 'POST') return notAllowed(req, res, 'consume', 'POST');
    const body = await readJson(req);
    // Checked after the body arrived: shutdown may have begun while it was read.
    if (!o.decider.open) throw new codes.TALLYMESH_ERR_MESH_CLOSED();
    if (!isObject(body)) throw new codes.TALLYMESH_ERR_HTTP_BAD_REQUEST('the body must be a JSON object');
    const started = o.metrics.sampleStart();
    if (body.requests !== undefined) {
      const list = body.requests;
      if (!Array.isArray(list)) throw new codes.TALLYMESH_ERR_HTTP_BAD_REQUEST('"requests" must be an array');
      if (list.length > MAX_BATCH_REQUESTS) throw new codes.TALLYMESH_ERR_HTTP_BATCH_TOO_LARGE(MAX_BATCH_REQUESTS, list.length);
      send(res, 'consume', 200, { results: o.decider.many(list) });
      o.metrics.observeLatency('http-batch', started);
    } else {
      send(res, 'consume', 200, o.decider.one(body.limiter, body.key, body.cost === undefined ? 1 : body.cost));
      o.metrics.observeLatency('http', started);
    }
  };

  const key = (req: http.IncomingMessage, res: http.ServerResponse, rawName: string, rawKey: string): void => {
    if (req.method !== 'GET' && req.method !== 'DELETE') return notAllowed(req, res, 'keys', 'GET, DELETE');
    const limiter = o.decider.limiter(decodeSegment(rawName, 'limiter name'));
    const k = decodeSegment(rawKey, 'key');
    if (req.method === 'GET') {
      // peek() validates the key; count() adds the weighted window count behind `remaining`.
      const body: Record<string, unknown> = { ...limiter.peek(k), count: limiter.count(k) };
      // ?cells=1 adds the G-Counter cells behind the count: per bucket and replica, for audits and checkers.
      if (/[?&]cells=1(&|$)/.test(req.url ?? '')) body.cells = limiter.replica.cellsOf(k);
      send(res, 'keys', 200, body);
      return;
    }
    // A reset after shutdown began would never reach the peers.
    if (!o.decider.open) throw new codes.TALLYMESH_ERR_MESH_CLOSED();
    limiter.reset(k);
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
    o.metrics.httpResponse('keys', 204);
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse, path: string, label: Route): Promise<void> => {
    const only = (method: string): boolean => {
      if (req.method === method) return true;
      notAllowed(req, res, label, method);
      return false;
    };
    switch (label) {
      case 'keys': {
        const [, name, k] = KEY_ROUTE.exec(path) as RegExpExecArray;
        return key(req, res, name, k);
      }
      case 'consume':
        return consume(req, res);
      case 'reload':
      case 'limiter': {
        if (o.reloader === undefined) throw new codes.TALLYMESH_ERR_HTTP_NOT_FOUND(req.method, path);
        const out = { send: (status: number, body: unknown) => send(res, label, status, body), notAllowed: (allow: string) => notAllowed(req, res, label, allow) };
        if (label === 'reload') return reloadRoute(req, o.reloader, out);
        const [, name] = LIMITER_ROUTE.exec(path) as RegExpExecArray;
        return limiterRoute(req, decodeSegment(name, 'limiter name'), o.reloader, () => o.decider.open, out);
      }
      case 'cluster': {
        if (!only('GET')) return;
        const cluster = o.mesh.cluster();
        const total = cluster.limiters.reduce((n, l) => n + l.keys, 0);
        const keys = o.memory === undefined ? { total, max: o.maxKeys } : { total, max: o.maxKeys, budget: o.memory };
        const discovery = o.discovery === undefined ? {} : { discovery: { dns: o.discovery() } };
        return send(res, label, 200, { ...cluster, keys, ports: o.ports(), ...discovery, ...o.clusterExtras?.() });
      }
      case 'events':
        if (!only('GET')) return;
        o.events.serve(req, res);
        return o.metrics.httpResponse(label, 200);
      case 'stream': {
        // Upgrade requests never get here: the server emits 'upgrade' for them.
        const err = new codes.TALLYMESH_ERR_HTTP_UPGRADE_REQUIRED('/v1/stream');
        return send(res, label, 426, { error: { code: err.code, message: err.message } }, { upgrade: 'websocket' });
      }
      case 'metrics': {
        if (!only('GET')) return;
        const text = await o.metrics.render();
        res.writeHead(200, { 'content-type': o.metrics.contentType, 'cache-control': 'no-store' });
        res.end(text);
        return o.metrics.httpResponse(label, 200);
      }
      default:
        throw new codes.TALLYMESH_ERR_HTTP_NOT_FOUND(req.method, path);
    }
  };

  return (req, res) => {
    const path = pathOf(req.url);
    // A page rebinding its domain to this node, or posting to it cross-site, is refused before anything is answered.
    const refusal = checkRequest(req, o.hosts);
    if (refusal !== null) {
      o.onRefused?.(req, refusal);
      return fail(req, res, routeLabel(path), refusal.error);
    }
    // Probes next: no token, no body, nothing shared with the API below.
    if (path === '/healthz') {
      writeJson(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      const stopping = closing() || o.lifecycle?.stopping === true;
      const r = readiness(o.mesh, o.seeds, stopping, { maxKeys: o.maxKeys, overflows: o.overflows?.recent() ?? [], conflicts: o.degraded?.(), draining: o.lifecycle?.describe() });
      writeJson(res, r.ready ? 200 : 503, r);
      return;
    }
    if (o.ui?.handles(path) === true) return o.ui.serve(req, res, path);
    const label = routeLabel(path);
    if (!o.authorize(req)) return fail(req, res, label, new codes.TALLYMESH_ERR_HTTP_UNAUTHORIZED());
    if (closing()) return fail(req, res, label, new codes.TALLYMESH_ERR_MESH_CLOSED());
    route(req, res, path, label).catch((err: unknown) => fail(req, res, label, err));
  };
}

/** The metric label of a path (a fixed set, so a scanner probing random paths cannot grow the label space). */
function routeLabel(path: string): Route {
  if (KEY_ROUTE.test(path)) return 'keys';
  if (LIMITER_ROUTE.test(path)) return 'limiter';
  if (path === RELOAD_PATH) return 'reload';
  switch (path) {
    case '/v1/consume':
      return 'consume';
    case '/v1/cluster':
      return 'cluster';
    case '/v1/events':
      return 'events';
    case '/v1/stream':
      return 'stream';
    case '/metrics':
      return 'metrics';
    default:
      return 'unknown';
  }
}
