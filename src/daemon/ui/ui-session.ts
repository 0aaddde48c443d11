/**
 * The dashboard's session on the main port: the API token, sent once to
 * `POST /ui/session` as a bearer token, is exchanged for a cookie the page's
 * `fetch` and `EventSource` carry from then on (an `EventSource` cannot send
 * an `Authorization` header).
 *
 * The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other
 * site's page sends it), `Secure` when the port serves TLS, scoped to one
 * port by its name, and stateless: `<expiry ms>.<HMAC-SHA256 of the expiry>`
 * under a key drawn at process start. Nothing is stored per session, so no
 * number of logins grows memory; a restart ends every session. It grants
 * read-only access to what the dashboard reads — `GET /v1/cluster` and
 * `GET /v1/events` — never a decision, a reset or the stream.
 *
 * May import: `node:` modules only.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/** How long a dashboard session lasts. */
export const UI_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** What a session cookie lets a page read. */
export const UI_SESSION_PATHS: ReadonlySet<string> = new Set(['/v1/cluster', '/v1/events']);

/** Longest cookie value looked at (an expiry and a base64url HMAC are far shorter). */
const MAX_COOKIE_VALUE = 128;

/** Options of {@link UiSession}. */
export interface UiSessionOptions {
  /** The main port, part of the cookie's name: browsers share cookies between ports of one host. */
  port: number;
  /** True when the port serves TLS: the cookie is then `Secure`. */
  secure: boolean;
  now?: () => number;
  ttlMs?: number;
}

/**
 * Issues and checks dashboard session cookies.
 *
 * @example
 * const session = new UiSession({ port: 7070, secure: false });
 * res.setHeader('set-cookie', session.issue());
 * session.allows(req); // true for GET /v1/cluster with that cookie
 */
export class UiSession {
  readonly cookieName: string;
  #key = randomBytes(32);
  #secure: boolean;
  #now: () => number;
  #ttlMs: number;

  constructor(o: UiSessionOptions) {
    this.cookieName = `tallymesh_ui_${o.port}`;
    this.#secure = o.secure;
    this.#now = o.now ?? Date.now;
    this.#ttlMs = o.ttlMs ?? UI_SESSION_TTL_MS;
  }

  /** A `Set-Cookie` value opening a session. */
  issue(): string {
    const expires = this.#now() + this.#ttlMs;
    return this.#cookie(`${expires}.${this.#sign(expires)}`, Math.floor(this.#ttlMs / 1000));
  }

  /** A `Set-Cookie` value ending the session in this browser. */
  clear(): string {
    return this.#cookie('', 0);
  }

  /** True when `req` is a read the session covers and carries a valid, unexpired session cookie. */
  allows(req: http.IncomingMessage, path: string): boolean {
    if (req.method !== 'GET' || !UI_SESSION_PATHS.has(path)) return false;
    return this.valid(req.headers.cookie);
  }

  /** True when a `Cookie` header holds a valid, unexpired session of this process. */
  valid(cookieHeader: string | undefined): boolean {
    const value = cookieValue(cookieHeader, this.cookieName);
    if (value === undefined || value.length > MAX_COOKIE_VALUE) return false;
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]+)$/.exec(value);
    if (m === null) return false;
    const expires = Number(m[1]);
    if (expires <= this.#now()) return false;
    const given = Buffer.from(m[2], 'base64url');
    const expected = Buffer.from(this.#sign(expires), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  #sign(expires: number): string {
    return createHmac('sha256', this.#key).update(`tallymesh-ui-session:${expires}`).digest('base64url');
  }

  #cookie(value: string, maxAgeS: number): string {
    return `${this.cookieName}=${value}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${this.#secure ? '; Secure' : ''}`;
  }
}

/** The value of cookie `name` in a `Cookie` header (RFC 6265 §5.4: `a=1; b=2`), or undefined. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
