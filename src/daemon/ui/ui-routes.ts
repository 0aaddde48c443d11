/**
 * `GET /ui`: the dashboard's pages and files, and on the main port the
 * token-for-cookie exchange (`POST /ui/session`, `DELETE /ui/session`; see
 * ui-session.ts). `GET /ui/session` tells the page whether it must ask for
 * the token, so it never has to provoke a 401 to find out. What the
 * dashboard shows is in docs/dashboard.md.
 *
 * The files carry no data, so they are served without a token; the data the
 * page then reads (`/v1/cluster`, `/v1/events`, `/readyz`) is authorized as
 * any other request. Every answer carries a strict Content-Security-Policy:
 * scripts, styles and connections from this origin only, no inline script or
 * style, no framing, no plugins; the page builds its DOM with `textContent`
 * and never parses server data as HTML.
 *
 * May import: `node:` modules, `src/errors.ts`, `./ui-assets.ts`, `./ui-session.ts`.
 *
 * @module
 */
import type http from 'node:http';
import { codes, type TallymeshError } from '../../errors.js';
import type { UiAsset } from './ui-assets.js';
import type { UiSession } from './ui-session.js';

/** The dashboard's path. */
export const UI_PATH = '/ui';
/** The token exchange, on the main port only. */
export const UI_SESSION_PATH = '/ui/session';

/** The Content-Security-Policy of every dashboard answer. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Options of {@link createUiRoutes}. */
export interface UiRoutesOptions {
  /** The dashboard's files by name (`loadUiAssets()`); empty when they are missing from the install. */
  assets: ReadonlyMap<string, UiAsset>;
  /** The session issuer on the main port; absent on the admin listener, which needs no token. */
  session?: UiSession;
  /** Checks the bearer token `POST /ui/session` presents. */
  authorize?: (req: http.IncomingMessage) => boolean;
  /** True when a token is configured (without one there is nothing to exchange). */
  tokenRequired?: boolean;
}

/** The dashboard's request handler and the paths it owns. */
export interface UiRoutes {
  /** True for `/ui` and everything under it. */
  handles(path: string): boolean;
  serve(req: http.IncomingMessage, res: http.ServerResponse, path: string): void;
}

function sendError(res: http.ServerResponse, err: TallymeshError, headers: Record<string, string> = {}): void {
  const text = JSON.stringify({ error: { code: err.code, message: err.message } });
  res.writeHead(err.statusCode, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * Builds the dashboard's routes.
 *
 * @example
 * const ui = createUiRoutes({ assets: loadUiAssets() });
 * if (ui.handles(path)) return ui.serve(req, res, path);
 */
export function createUiRoutes(o: UiRoutesOptions): UiRoutes {
  const session = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method === 'GET') {
      const tokenRequired = o.tokenRequired === true;
      const text = JSON.stringify({ tokenRequired, session: tokenRequired && o.session?.valid(req.headers.cookie) === true });
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
      return void res.end(text);
    }
    if (o.session === undefined) return sendError(res, new codes.TALLYMESH_ERR_HTTP_NOT_FOUND(req.method, UI_SESSION_PATH));
    if (req.method === 'DELETE') {
      res.writeHead(204, { ...SECURITY_HEADERS, 'set-cookie': o.session.clear(), 'cache-control': 'no-store' });
      return void res.end();
    }
    if (req.method !== 'POST') {
      return sendError(res, new codes.TALLYMESH_ERR_HTTP_METHOD_NOT_ALLOWED(req.method, UI_SESSION_PATH), { allow: 'GET, POST, DELETE' });
    }
    // The token travels as a bearer token, as with every other request; no body is read.
    if (o.tokenRequired === true && o.authorize?.(req) !== true) {
      return sendError(res, new codes.TALLYMESH_ERR_HTTP_UNAUTHORIZED(), { 'www-authenticate': 'Bearer realm="tallymesh"' });
    }
    const headers: Record<string, string | string[]> = { ...SECURITY_HEADERS, 'cache-control': 'no-store' };
    if (o.tokenRequired === true) headers['set-cookie'] = o.session.issue();
    res.writeHead(204, headers);
    res.end();
  };

  return {
    handles: (path) => path === UI_PATH || path.startsWith(`${UI_PATH}/`),
    serve(req, res, path) {
      if (path === UI_SESSION_PATH) return session(req, res);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendError(res, new codes.TALLYMESH_ERR_HTTP_METHOD_NOT_ALLOWED(req.method, path), { allow: 'GET, HEAD' });
      }
      // Relative links in the page resolve against /ui/, not /.
      if (path === UI_PATH) {
        res.writeHead(308, { ...SECURITY_HEADERS, location: `${UI_PATH}/`, 'content-length': '0' });
        return void res.end();
      }
      const name = path === `${UI_PATH}/` ? 'index.html' : path.slice(UI_PATH.length + 1);
      const asset = o.assets.get(name);
      if (asset === undefined) {
        const missing = o.assets.size === 0 ? ' (the dashboard files are missing from this installation)' : '';
        const err = new codes.TALLYMESH_ERR_HTTP_NOT_FOUND(req.method, `${path}${missing}`);
        return sendError(res, err);
      }
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': asset.contentType,
        'content-length': String(asset.body.length),
        // The files change only with the installed version; revalidating each load keeps an upgrade visible.
        'cache-control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
    },
  };
}
