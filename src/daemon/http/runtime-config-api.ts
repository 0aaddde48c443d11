/**
 * The HTTP endpoints that change a running daemon's configuration:
 * `POST /v1/admin/reload` (re-read the config file, as SIGHUP does) and
 * `PUT /v1/limiters/:name` with `{"limit": n}` (a runtime limit change,
 * replicated through the limiter's LWW register). Both sit behind the API
 * token like every other non-probe route; the policy lives in `reload.ts`.
 *
 * @module
 */
import type http from 'node:http';
import { codes } from '../../errors.js';
import { readJson } from './http-body.js';
import type { Reloader } from '../lifecycle/reload.js';

/** Path of the reload endpoint. */
export const RELOAD_PATH = '/v1/admin/reload';
/** `PUT /v1/limiters/:name`. */
export const LIMITER_ROUTE = /^\/v1\/limiters\/([^/]+)$/;

/** How the HTTP API answers (its `send` and `notAllowed`). */
export interface Responder {
  send(status: number, body: unknown): void;
  notAllowed(allow: string): void;
}

/**
 * Answers `POST /v1/admin/reload`: 200 with what was applied, or the
 * registry error (400 invalid file, 409 refused or nothing to reload).
 *
 * @example
 * // curl -X POST -H "authorization: Bearer $TOKEN" http://127.0.0.1:7070/v1/admin/reload
 * // {"reloaded":true,"file":"/etc/tallymesh/cluster.yaml","applied":["limiter api: limit 100 -> 200"],"restartNeeded":[]}
 */
export function reloadRoute(req: http.IncomingMessage, reloader: Reloader, out: Responder): void {
  if (req.method !== 'POST') return out.notAllowed('POST');
  const report = reloader.reload('POST /v1/admin/reload');
  req.resume(); // a body, if any, is not read
  out.send(200, { reloaded: true, ...report });
}

/**
 * Answers `PUT /v1/limiters/:name` with `{"limit": n}`: 200 with the
 * limiter's new view, 404 for an unknown limiter, 400 for a bad limit.
 *
 * @example
 * // curl -X PUT -H 'content-type: application/json' -d '{"limit":200}' http://127.0.0.1:7070/v1/limiters/api
 * // {"name":"api","limit":200,"windowMs":60000,"buckets":60}
 */
export async function limiterRoute(req: http.IncomingMessage, name: string, reloader: Reloader, open: () => boolean, out: Responder): Promise<void> {
  if (req.method !== 'PUT') return out.notAllowed('PUT');
  const body = await readJson(req);
  // A change after shutdown began would never reach the peers.
  if (!open()) throw new codes.TALLYMESH_ERR_MESH_CLOSED();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new codes.TALLYMESH_ERR_HTTP_BAD_REQUEST('the body must be a JSON object like {"limit": 200}');
  const fields = Object.keys(body);
  const extra = fields.filter((f) => f !== 'limit');
  if (extra.length > 0) throw new codes.TALLYMESH_ERR_HTTP_BAD_REQUEST(`only "limit" can change at run time, got ${extra.map((f) => JSON.stringify(f)).join(', ')}`);
  if (!fields.includes('limit')) throw new codes.TALLYMESH_ERR_HTTP_BAD_REQUEST('"limit" is required');
  const limiter = reloader.setLimit(name, (body as { limit: unknown }).limit);
  out.send(200, { name: limiter.name, limit: limiter.limit, windowMs: limiter.windowMs, buckets: limiter.buckets });
}
