/**
 * The RESP reply encoder: builds the bytes of replies in the protocol a
 * connection speaks — RESP2 until the client sends `HELLO 3`, RESP3 after.
 * The two differ only where RESP3 has a richer type: maps (`%`), null (`_`)
 * and verbatim strings (`=`); arrays, integers and strings are the same.
 *
 * @module
 */

/** Protocol versions a connection can speak. */
export type RespVersion = 2 | 3;

/** A reply value: strings are bulk strings unless wrapped. */
export type RespValue =
  | string
  | number
  | null
  | RespValue[]
  | { simple: string }
  | { map: Array<[string, RespValue]> }
  | { verbatim: string };

const CRLF = '\r\n';

/**
 * Encodes `value` as RESP `version`.
 *
 * @example
 * encodeReply([1, 100, 99, 60000, 0], 2); // '*5\r\n:1\r\n:100\r\n:99\r\n:60000\r\n:0\r\n'
 * encodeReply(null, 3);                   // '_\r\n'
 */
export function encodeReply(value: RespValue, version: RespVersion): string {
  if (typeof value === 'number') return `:${value}${CRLF}`;
  if (typeof value === 'string') return `$${Buffer.byteLength(value)}${CRLF}${value}${CRLF}`;
  if (value === null) return version === 3 ? `_${CRLF}` : `$-1${CRLF}`;
  if (Array.isArray(value)) {
    let out = `*${value.length}${CRLF}`;
    for (const v of value) out += encodeReply(v, version);
    return out;
  }
  if ('simple' in value) return `+${oneLine(value.simple)}${CRLF}`;
  if ('map' in value) {
    let out = version === 3 ? `%${value.map.length}${CRLF}` : `*${value.map.length * 2}${CRLF}`;
    for (const [k, v] of value.map) out += encodeReply(k, version) + encodeReply(v, version);
    return out;
  }
  // RESP3 verbatim strings carry a three-letter format: txt.
  if (version === 3) return `=${Buffer.byteLength(value.verbatim) + 4}${CRLF}txt:${value.verbatim}${CRLF}`;
  return encodeReply(value.verbatim, version);
}

/** The reply to a consume or peek: `[allowed 0|1, limit, remaining, resetMs, retryAfterMs]` (the same in RESP2 and RESP3). */
export function encodeDecision(d: { allowed: boolean; limit: number; remaining: number; resetMs: number; retryAfterMs: number }): string {
  return `*5\r\n:${d.allowed ? 1 : 0}\r\n:${d.limit}\r\n:${d.remaining}\r\n:${d.resetMs}\r\n:${d.retryAfterMs}\r\n`;
}

/**
 * An error reply: `-<PREFIX> <code> <message>`. The prefix is what Redis
 * clients switch on (`ERR`, `NOAUTH`, `WRONGPASS`, `NOPROTO`…); the registry
 * code after it is what tallymesh callers match.
 *
 * @example
 * encodeError('ERR', 'TALLYMESH_ERR_LIMITER_UNKNOWN', 'No limiter named "x"'); // '-ERR TALLYMESH_ERR_LIMITER_UNKNOWN No limiter named "x"\r\n'
 */
export function encodeError(prefix: string, code: string, message: string): string {
  return `-${prefix} ${code} ${oneLine(message)}${CRLF}`;
}

/** A simple string or error must not hold CR or LF: they would end the reply early. */
function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}
