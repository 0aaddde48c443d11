/**
 * Bearer-token check for the HTTP API and the stream upgrade.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/** Realm sent in `WWW-Authenticate` (RFC 6750 §3). */
export const AUTH_CHALLENGE = 'Bearer realm="tallymesh"';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Builds the request check for `token` ('' = no token: every request passes).
 * Both sides are hashed before `timingSafeEqual`, so neither the content nor
 * the length of the expected token leaks through response timing.
 *
 * @example
 * const authorized = bearerCheck(config.apiToken);
 * if (!authorized(req)) return unauthorized(res);
 */
export function bearerCheck(token: string): (req: http.IncomingMessage) => boolean {
  if (token === '') return () => true;
  const expected = digest(token);
  return (req) => {
    const header = req.headers.authorization;
    if (header === undefined) return false;
    // RFC 6750: the scheme is case-insensitive, one or more spaces before the token.
    const m = /^Bearer +(\S+) *$/i.exec(header);
    return m !== null && timingSafeEqual(digest(m[1]), expected);
  };
}
