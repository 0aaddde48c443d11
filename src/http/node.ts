/**
 * The node:http adapter of the rate-limit middleware: {@link rateLimit}. The
 * flow lives in `rate-limit-engine.ts`; this file only says how node:http
 * sets a header, sends a body and reports an error. Express reuses its
 * response helpers (an Express response is a `ServerResponse`).
 *
 * May import: the error registry, the limiter's types and the other files of `src/http/`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTallymeshError } from '../errors.js';
import { RateLimitEngine, type FrameworkConvention, type HeaderSink } from './rate-limit-engine.js';
import { optionalFunction, type RateLimitOptions } from './rate-limit-options.js';

/**
 * Options of {@link rateLimit} (node:http).
 *
 * @example
 * rateLimit({ limiter: api, onError: (err, req, res) => { log.error(err); res.statusCode = 503; res.end() } });
 */
export interface NodeRateLimitOptions extends RateLimitOptions<IncomingMessage, ServerResponse> {
  /**
   * Sends the response when `skip`, `key`, `cost`, `onLimited` or the limiter
   * throws. Default: the registry error's status and `{ error: { code, message } }`,
   * or 500 for any other error.
   */
  onError?: (err: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Sets a header field on a node:http (or Express) response.
 *
 * @example
 * engine.writeHeaders(decision, res, setOnResponse);
 */
export const setOnResponse: HeaderSink<ServerResponse> = (res, name, value) => {
  res.setHeader(name, value);
};

/**
 * Sends `body` as JSON with `status`.
 *
 * @example
 * sendJson(res, 429, engine.limitedBody(decision));
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Sets the status of a node:http (or Express) response.
 *
 * @example
 * setStatus(res, 429);
 */
export function setStatus(res: ServerResponse, status: number): void {
  res.statusCode = status;
}

/**
 * After `onLimited` failed: whatever status it left is no longer the truth,
 * so a response not yet started turns 500.
 *
 * @example
 * markFailed(res); next(err);
 */
export function markFailed(res: ServerResponse): void {
  if (!res.headersSent) res.statusCode = 500;
}

/** Default `onError` of {@link rateLimit}: the registry error's status, else 500 without details. */
function sendError(err: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) {
    // A custom onLimited failed half-way: the status line is gone, so the only honest signal left is a cut connection.
    res.destroy();
    return;
  }
  if (isTallymeshError(err)) sendJson(res, err.statusCode, { error: { code: err.code, message: err.message } });
  else sendJson(res, 500, { error: { message: 'Internal Server Error' } });
}

/** The `onError` in use: the caller's, falling back to the default if it throws (it may run in a promise callback). */
function errorHandler(options: NodeRateLimitOptions): (err: unknown, req: IncomingMessage, res: ServerResponse) => void {
  const custom = optionalFunction<NonNullable<NodeRateLimitOptions['onError']>>('onError', options.onError);
  if (custom === undefined) return sendError;
  return (err, req, res) => {
    try {
      custom(err, req, res);
    } catch {
      sendError(err, req, res);
    }
  };
}

/**
 * Rate limiting for a plain node:http server. The returned function decides
 * a request, sets the header fields and returns true when the request may
 * proceed; otherwise it has sent the response (429, or an error status) and
 * returns false.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { createLimiter } from 'tallymesh';
 * import { rateLimit } from 'tallymesh/http';
 *
 * const limit = rateLimit({ limiter: createLimiter({ name: 'api', limit: 100, windowMs: 60_000 }) });
 * createServer((req, res) => {
 *   if (!limit(req, res)) return;
 *   res.end('hello');
 * }).listen(8080);
 */
export function rateLimit(options: NodeRateLimitOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const engine = new RateLimitEngine<IncomingMessage, ServerResponse>(options, (req) => req);
  const onError = errorHandler(options);
  const convention: FrameworkConvention<IncomingMessage, ServerResponse, undefined> = {
    setHeader: setOnResponse,
    proceed: () => {},
    setStatus,
    sendLimited: (res, body) => sendJson(res, 429, body),
    fail: (err, req, res) => onError(err, req, res),
    failLimited: (err, req, res) => {
      markFailed(res);
      onError(err, req, res);
    },
  };
  return function tallymeshRateLimit(req, res) {
    return engine.handle(req, res, undefined, convention);
  };
}
