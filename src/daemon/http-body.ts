/**
 * Bounded reading of request bodies and strict JSON parsing.
 *
 * A body is refused as soon as it is known to pass the bound: from its
 * `Content-Length` before a byte is read, or while streaming, the moment the
 * running total crosses it — so a client can never make the daemon buffer
 * more than {@link MAX_BODY_BYTES}.
 *
 * @module
 */
import type http from 'node:http';
import { codes } from '../errors.js';

/** Largest request body accepted: 1 MiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

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

/** Reads and parses a JSON body; see {@link readBody} and {@link parseJson}. */
export async function readJson(req: http.IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  return parseJson(await readBody(req, maxBytes));
}
