/**
 * Keeps browsers off a node's port. A web page the operator opens can send
 * requests to `127.0.0.1`: a WebSocket to `/v1/mesh` or `/v1/stream`, a
 * form post to `/v1/consume`, or — by pointing its own domain at 127.0.0.1
 * (DNS rebinding) — same-origin requests whose answers it can read. Three
 * checks stop that, none of which a server-side client ever trips:
 *
 * - **Host allowlist** ({@link HostAllowlist}): on a node bound to loopback,
 *   or with `allowedHosts` set, a request must name the node by loopback,
 *   its configured host or advertise address, or an allowed name. A rebound
 *   page can choose the port but not the name in `Host`: its own domain.
 * - **Browser markers on upgrades** ({@link browserMarker}): browsers send
 *   `Origin` with every WebSocket handshake (RFC 6455 §4.1) and
 *   `Sec-Fetch-Site` with every request; peers and stream clients send
 *   neither. `Sec-Fetch-Mode` is not a marker: Node's own `fetch` and
 *   `WebSocket` send it.
 * - **Cross-origin writes** ({@link crossOriginWrite}): a `POST`/`PUT`/
 *   `DELETE` that a browser marks cross-origin, the algorithm of Go's
 *   `net/http.CrossOriginProtection` (Fetch Metadata, then `Origin` against
 *   `Host`).
 *
 * The mesh guards the upgrades of any server it listens on
 * ({@link guardUpgrades}); the daemon installs its own guard first, with its
 * allowlist and its metrics, and checks its HTTP requests with
 * {@link checkRequest}.
 *
 * May import: `node:` types, `src/errors.ts`, `./mesh-options.ts`.
 *
 * @module
 */
import type http from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { codes, type TallymeshError } from '../../errors.js';
import { isLoopback } from '../mesh-options.js';

/** Why a request was refused: a label for metrics and logs. */
export type RefusalReason = 'host' | 'origin' | 'cross-site';

/** A refused request: the reason label and the registry error it is answered with. */
export interface Refusal {
  reason: RefusalReason;
  error: TallymeshError;
}

/** Options of {@link HostAllowlist}. */
export interface HostAllowlistOptions {
  /** The interface the port is bound to, as configured (`127.0.0.1`, `0.0.0.0`, a name). */
  host: string;
  /** The address the listening socket reports (`server.address().address`), when known. */
  boundAddress?: string;
  /** `host:port` peers dial; its host is allowed. */
  advertise?: string;
  /**
   * Names allowed besides the defaults: host names or IP addresses, a leading
   * dot for a domain and its subdomains (`.svc.cluster.local`). A non-empty
   * list turns the check on whatever the bind.
   */
  allowedHosts?: readonly string[];
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);
const NAME_RE = /^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$/;
const IPV6_RE = /^[0-9a-f:.]+$/;
/** Longest header value quoted in a message or a log line. */
const MAX_SHOWN = 80;

/**
 * The host name in a `Host` header (`name`, `name:port`, `[v6]:port`),
 * lower-cased, without brackets or a trailing dot; null when malformed.
 *
 * @example
 * hostOfHeader('LocalHost.:7070'); // 'localhost'
 * hostOfHeader('[::1]:7070');      // '::1'
 */
export function hostOfHeader(value: string): string | null {
  const v = value.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(v);
  if (v6 !== null) return v6[1];
  const m = /^([^:]+)(?::\d{1,5})?$/.exec(v);
  if (m === null) return null;
  const name = m[1].endsWith('.') ? m[1].slice(0, -1) : m[1];
  return NAME_RE.test(name) ? name : null;
}

/**
 * Checks one `allowedHosts` entry and returns it normalised (lower case, no
 * brackets), or null when it is not a host name, an IP address or a
 * `.domain` suffix. Ports are not part of an entry: `Host` is matched by name.
 *
 * @example
 * allowedHostPattern('.Svc.Example'); // '.svc.example'
 * allowedHostPattern('a.example:7070'); // null
 */
export function allowedHostPattern(entry: string): string | null {
  const v = entry.trim().toLowerCase();
  if (v.startsWith('.')) return NAME_RE.test(v.slice(1)) && v.length > 1 ? v : null;
  const bare = v.startsWith('[') && v.endsWith(']') ? v.slice(1, -1) : v;
  if (bare.includes(':')) return IPV6_RE.test(bare) ? bare : null;
  return NAME_RE.test(bare) ? bare : null;
}

/**
 * The names a node answers to in `Host`. Enforced on a node bound to a
 * loopback address (the one a browser on the same machine reaches) and on
 * any node given `allowedHosts`; a node bound beyond loopback without
 * `allowedHosts` accepts every name, since it cannot know the names (DNS,
 * load balancers, NAT) it is reached by — and such a node always has a
 * cluster secret. Ports are not compared: a page controls the port in its
 * URL, never the name.
 *
 * @example
 * const hosts = new HostAllowlist({ host: '127.0.0.1' });
 * hosts.allows('localhost:7070');    // true
 * hosts.allows('evil.example:7070'); // false
 */
export class HostAllowlist {
  /** False when every `Host` is accepted. */
  readonly enforced: boolean;
  #names = new Set<string>();
  #suffixes: string[] = [];

  constructor(options: HostAllowlistOptions) {
    const extra = options.allowedHosts ?? [];
    const loopbackBind = isLoopback(options.host) || (options.boundAddress !== undefined && isLoopback(options.boundAddress));
    this.enforced = loopbackBind || extra.length > 0;
    const add = (name: string | null): void => {
      if (name === null || WILDCARDS.has(name)) return;
      if (name.startsWith('.')) this.#suffixes.push(name);
      else this.#names.add(name);
    };
    add(allowedHostPattern(options.host));
    if (options.boundAddress !== undefined) add(allowedHostPattern(options.boundAddress));
    if (options.advertise !== undefined) add(hostOfHeader(options.advertise));
    for (const entry of extra) add(allowedHostPattern(entry));
  }

  /** True when a request with this `Host` header (undefined: none, as HTTP/1.0 allows) may be answered. */
  allows(hostHeader: string | undefined): boolean {
    // No browser omits Host; a client that does (HTTP/1.0) is not one.
    if (!this.enforced || hostHeader === undefined) return true;
    const name = hostOfHeader(hostHeader);
    if (name === null) return false;
    if (isLoopback(name) || this.#names.has(name)) return true;
    return this.#suffixes.some((s) => name === s.slice(1) || name.endsWith(s));
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function show(value: string): string {
  return JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value);
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  const path = query === -1 ? raw : raw.slice(0, query);
  return path.length > MAX_SHOWN ? `${path.slice(0, MAX_SHOWN)}…` : path;
}

/**
 * What marks a request as a browser's: its `Origin`, else its
 * `Sec-Fetch-Site` (described for a message), or null. Every WebSocket
 * handshake a browser makes carries `Origin`.
 *
 * @example
 * browserMarker(req); // 'it carries Origin "https://evil.example"'
 */
export function browserMarker(req: http.IncomingMessage): string | null {
  const origin = header(req, 'origin');
  if (origin !== undefined) return `it carries Origin ${show(origin)}`;
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined) return `it carries Sec-Fetch-Site ${show(site)}`;
  return null;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a state-changing request comes from another origin, or null. Safe
 * methods pass; then `Sec-Fetch-Site` decides when present (`same-origin`
 * and `none` — typed by the user — pass); else an `Origin` must name the
 * same host and port as `Host`; a request with neither is not a browser's
 * (or an old browser's same-origin one). Go's `CrossOriginProtection`.
 *
 * @example
 * crossOriginWrite(req); // 'Sec-Fetch-Site is "cross-site"'
 */
export function crossOriginWrite(req: http.IncomingMessage): string | null {
  if (SAFE_METHODS.has(req.method ?? 'GET')) return null;
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined) return site === 'same-origin' || site === 'none' ? null : `Sec-Fetch-Site is ${show(site)}`;
  const origin = header(req, 'origin');
  if (origin === undefined) return null;
  const host = (header(req, 'host') ?? '').toLowerCase();
  let originHost: string | null = null;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    // "null" (a sandboxed frame, a file: page) and garbage are no origin of ours.
  }
  return originHost !== null && originHost !== '' && originHost === host ? null : `Origin ${show(origin)} is not this node (Host ${show(host)})`;
}

function hostRefusal(req: http.IncomingMessage): Refusal {
  const host = header(req, 'host') ?? '';
  return {
    reason: 'host',
    error: new codes.TALLYMESH_ERR_HTTP_HOST_REFUSED(show(host), 'reach it as localhost or 127.0.0.1, or add the name to --allowed-hosts (allowedHosts)'),
  };
}

/**
 * Checks a WebSocket upgrade: `Host` against `hosts`, then browser markers.
 *
 * @example
 * const refusal = checkUpgrade(req, hosts);
 * if (refusal !== null) refuseUpgrade(socket, refusal.error);
 */
export function checkUpgrade(req: http.IncomingMessage, hosts: HostAllowlist): Refusal | null {
  if (!hosts.allows(header(req, 'host'))) return hostRefusal(req);
  const marker = browserMarker(req);
  if (marker === null) return null;
  return { reason: 'origin', error: new codes.TALLYMESH_ERR_HTTP_ORIGIN_REFUSED(pathOf(req.url), `a WebSocket upgrade from a browser (${marker})`) };
}

/**
 * Checks a plain HTTP request: `Host` against `hosts`, then cross-origin writes.
 *
 * @example
 * const refusal = checkRequest(req, hosts);
 * if (refusal !== null) return fail(req, res, refusal.error);
 */
export function checkRequest(req: http.IncomingMessage, hosts: HostAllowlist): Refusal | null {
  if (!hosts.allows(header(req, 'host'))) return hostRefusal(req);
  const crossOrigin = crossOriginWrite(req);
  if (crossOrigin === null) return null;
  return { reason: 'cross-site', error: new codes.TALLYMESH_ERR_HTTP_ORIGIN_REFUSED(pathOf(req.url), `a cross-origin ${req.method} (${crossOrigin})`) };
}

/**
 * Answers an upgrade request with an HTTP error instead (the socket is not
 * yet a WebSocket, so a JSON error body is still possible) and closes the
 * connection once the answer is written, as `ws` does.
 *
 * @example
 * refuseUpgrade(socket, new codes.TALLYMESH_ERR_HTTP_UNAUTHORIZED(), { 'www-authenticate': AUTH_CHALLENGE });
 */
export function refuseUpgrade(socket: Duplex, err: TallymeshError, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  const lines = [
    `HTTP/1.1 ${err.statusCode} ${STATUS_CODES[err.statusCode] ?? ''}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.on('error', () => {}); // the client may already be gone; nothing to do about it
  socket.once('finish', () => socket.destroy());
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

const GUARDED = new WeakSet<object>();

/** True once {@link guardUpgrades} guards `server`. */
export function isGuarded(server: http.Server): boolean {
  return GUARDED.has(server);
}

/**
 * Puts `check` in front of every `'upgrade'` listener of `server`: a refused
 * upgrade is answered with its error and never reaches a listener (the mesh
 * transport's on `/v1/mesh`, the daemon's on `/v1/stream`). Node emits
 * `'upgrade'` through `server.emit`, and an EventEmitter listener cannot stop
 * the others, so this wraps `emit` for that one event. A server is guarded
 * once: later calls are ignored (the daemon's guard, installed first, wins
 * over the mesh's default one).
 *
 * @example
 * guardUpgrades(server, (req) => checkUpgrade(req, hosts), (req, r) => metrics.browserRefused(r.reason, req.url));
 */
export function guardUpgrades(
  server: http.Server,
  check: (req: http.IncomingMessage) => Refusal | null,
  onRefused: (req: http.IncomingMessage, refusal: Refusal) => void = () => {},
): void {
  if (GUARDED.has(server)) return;
  GUARDED.add(server);
  const emit = server.emit;
  server.emit = function guardedEmit(this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'upgrade') {
      const [req, socket] = args as [http.IncomingMessage, Duplex];
      const refusal = check(req);
      if (refusal !== null) {
        onRefused(req, refusal);
        refuseUpgrade(socket, refusal.error);
        return true;
      }
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof server.emit;
}
