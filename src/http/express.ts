/**
 * The Express (and Connect-style) adapter of the rate-limit middleware:
 * {@link expressRateLimit}. The flow lives in `rate-limit-engine.ts`; errors
 * go to `next(err)`. Express is never imported: an Express response is a
 * node:http `ServerResponse`, so the node:http helpers serve it.
 *
 * May import: the other files of `src/http/`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { markFailed, sendJson, setOnResponse, setStatus } from './node.js';
import { RateLimitEngine, type FrameworkConvention } from './rate-limit-engine.js';
import type { RateLimitOptions } from './rate-limit-options.js';

/**
 * The `next` callback of Express (and Connect-style) middleware; Express's
 * own `NextFunction` satisfies it.
 *
 * @example
 * const next: NextFunctionLike = (err) => { if (err) console.error(err) };
 */
export type NextFunctionLike = (err?: unknown) => void;

const CONVENTION: FrameworkConvention<IncomingMessage, ServerResponse, NextFunctionLike> = {
  setHeader: setOnResponse,
  proceed: (next) => next(),
  setStatus,
  sendLimited: (res, body) => sendJson(res, 429, body),
  fail: (err, _req, _res, next) => next(err),
  failLimited: (err, _req, res, next) => {
    // Express's final handler would otherwise answer with the 429 already set.
    markFailed(res);
    next(err);
  },
};

/**
 * Express (and Connect-style) middleware. Allowed and skipped requests go on
 * with `next()`; a denied one gets 429; an error thrown by `key`, `cost` or
 * `skip` goes to `next(err)`, so Express's error handling answers it (a
 * registry error carries `statusCode`, e.g. 400 for an invalid key).
 *
 * The generic parameters only type your callbacks: pass Express's `Request`
 * to read `req.ip`, `req.params` or `req.user` in `key`.
 *
 * @example
 * import express, { type Request } from 'express';
 * import { expressRateLimit } from 'tallymesh/http';
 *
 * const app = express();
 * app.use(expressRateLimit({ limiter: api, key: (req: Request) => req.get('x-api-key') ?? req.ip ?? '' }));
 * app.get('/', (req, res) => { res.send('hello') });
 */
export function expressRateLimit<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
  options: RateLimitOptions<Req, Res>,
): (req: NoInfer<Req>, res: NoInfer<Res>, next: NextFunctionLike) => void {
  const engine = new RateLimitEngine<Req, Res>(options, (req) => req);
  // Typed for IncomingMessage and ServerResponse, so it takes any subtype.
  const convention: FrameworkConvention<Req, Res, NextFunctionLike> = CONVENTION;
  return function tallymeshRateLimit(req, res, next) {
    engine.handle(req, res, next, convention);
  };
}
