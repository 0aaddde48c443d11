/**
 * Puts the dashboard together for one daemon: its files, the routes of the
 * main port (with the token-for-cookie exchange) and of the admin listener
 * (without), and the request check that accepts either the bearer token or,
 * for the dashboard's reads, a session cookie.
 *
 * May import: `node:` types, `../http-auth.ts`, `../http-api.ts` (for `pathOf`), `./`.
 *
 * @module
 */
import type http from 'node:http';
import type { Logger } from 'pino';
import { bearerCheck } from '../http/http-auth.js';
import { pathOf } from '../http/http-api.js';
import { loadUiAssets, UI_STATIC_DIR } from './ui-assets.js';
import { createUiRoutes, type UiRoutes } from './ui-routes.js';
import { UiSession } from './ui-session.js';

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** The API token ('' = none). */
  apiToken: string;
  /** The main port (names the session cookie). */
  port: number;
  /** True when the main port serves TLS (the cookie is then `Secure`). */
  secure: boolean;
  logger: Logger;
}

/** What the daemon wires in. */
export interface Dashboard {
  /** The request check for the main port: the bearer token, or a session cookie for the dashboard's reads. */
  authorize: (req: http.IncomingMessage) => boolean;
  /** `/ui` on the main port, with `POST /ui/session`. */
  mainRoutes: UiRoutes;
  /** `/ui` on the admin listener (no session: the listener needs no token). */
  adminRoutes: UiRoutes;
}

/**
 * Builds the dashboard of one daemon; logs a WARN when its files are missing
 * from the installation (`/ui` then answers 404 saying so).
 *
 * @example
 * const dashboard = createDashboard({ apiToken: config.apiToken, port: bound.port, secure: tls !== undefined, logger });
 * const api = createHttpApi({ ...options, authorize: dashboard.authorize, ui: dashboard.mainRoutes }, closing);
 */
export function createDashboard(o: DashboardOptions): Dashboard {
  const assets = loadUiAssets();
  if (assets.size === 0) o.logger.warn({ event: 'ui-missing', dir: UI_STATIC_DIR }, `dashboard files not found in ${UI_STATIC_DIR}: /ui answers 404`);
  const bearer = bearerCheck(o.apiToken);
  const session = new UiSession({ port: o.port, secure: o.secure });
  const tokenRequired = o.apiToken !== '';
  return {
    authorize: (req) => bearer(req) || (tokenRequired && session.allows(req, pathOf(req.url))),
    mainRoutes: createUiRoutes({ assets, session, authorize: bearer, tokenRequired }),
    adminRoutes: createUiRoutes({ assets }),
  };
}
