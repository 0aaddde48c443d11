/**
 * Bounded reading of request bodies, their media type, and strict JSON parsing.
 *
 * Bodies are JSON. A browser may send three types cross-site without asking
 * first (a CORS preflight): `text/plain`, `multipart/form-data` and
 * `application/x-www-form-urlencoded` — a form on any web page can post a
 * JSON-looking `text/plain` body to a loopback daemon. So JSON types are
 * required ({@link checkMediaType}); form-urlencoded, what `curl -d` sends,
 * is accepted only from a client that is no browser (no `Origin`, no
 * `Sec-Fetch-Site`), so the README's `curl -d` lines keep working.
 *
 * A body is refused as soon as it is known to pass the bound: from its
 * `Content-Length` before a byte is read, or while streaming, the moment the
 * running total crosses it — so a client can never make the daemon buffer
 * more than {@link MAX_BODY_BYTES}.
 *
 * @module
 */
import type http from 'node:http';
import { codes } from '../../errors.js';

/** Largest request body accepted: 1 MiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** `application/json` and the structured `+json` types (RFC 6839 §3.1), parameters aside. */
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;
/** What `curl -d` sends; a browser form too, so it is accepted only from non-browsers. */
const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/**
 * Refuses a body that is not declared as JSON, before a byte of it is read:
 * JSON types (`application/json`, `application/*+json`, any parameters)
 * pass; `application/x-www-form-urlencoded` passes when the request carries
 * neither `Origin` nor `Sec-Fetch-Site` (curl, scripts, server-side clients);
 * everything else — `text/plain`, multipart, no type at all — does not.
 *
 * @throws TALLYMESH_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE (415).
 * @example
 * checkMediaType(req); // before readBody(req)
 */
export function checkMediaType(req: http.IncomingMessage): void {
  const declared = req.headers['content-type'];
  const type = (declared ?? '').split(';')[0].trim().toLowerCase();
  if (JSON_MEDIA_TYPE.test(type)) return;
  const browser = req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined;
  if (type === FORM_MEDIA_TYPE && !browser) return;
  const shown = declared === undefined ? '(none)' : JSON.stringify(declared.length > 80 ? `${declared.slice(0, 80)}…` : declared);
  const hint =
    type === FORM_MEDIA_TYPE
      ? 'a browser form is not a client of this API; send content-type: application/json'
      : 'send content-type: application/json (form-urlencoded, as curl -d sends, is accepted from non-browser clients)';
  throw new codes.TALLYMESH_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE(shown, hint);
}

// fatal: invalid UTF-8 is an error, not U+FFFD that would silently change a key.
// The decoder drops a leading BOM, which RFC 8259 §8.1 lets parsers ignore.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the whole body of `req`, at most `maxBytes`.
 *
 * @throws TALLYMESH_ERR_HTTP_BODY_TOO_LARGE past the bound (the rest of the
 *   body is left unread: answer and close the connection).
 * @example
 * const bytes = await readBody(req);
 */
export function readBody(req: http.IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new codes.TALLYMESH_ERR_HTTP_BODY_TOO_LARGE(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        reject(new codes.TALLYMESH_ERR_HTTP_BODY_TOO_LARGE(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    // 'close' without 'end': the client went away mid-body; nobody is left to answer.
    const onClose = (): void => {
      cleanup();
      reject(new Error('request aborted'));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Parses a body as UTF-8 JSON.
 *
 * @throws TALLYMESH_ERR_HTTP_BAD_JSON for an empty body, invalid UTF-8 or invalid JSON.
 * @example
 * parseJson(Buffer.from('{"limiter":"api","key":"k"}'));   // { limiter: 'api', key: 'k' }
 */
export function parseJson(body: Uint8Array): unknown {
  if (body.length === 0) throw new codes.TALLYMESH_ERR_HTTP_BAD_JSON('the body is empty');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch (err) {
    throw new codes.TALLYMESH_ERR_HTTP_BAD_JSON('the body is not valid UTF-8', { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new codes.TALLYMESH_ERR_HTTP_BAD_JSON((err as Error).message, { cause: err });
  }
}

/** Checks the media type, then reads and parses a JSON body; see {@link checkMediaType}, {@link readBody} and {@link parseJson}. */
export async function readJson(req: http.IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  checkMediaType(req);
  return parseJson(await readBody(req, maxBytes));
}
