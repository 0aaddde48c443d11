/**
 * Names why a WebSocket dial failed, from the error Node or `ws` reported:
 * the {@link DialFailure} reason a metric counts and a log line shows, and a
 * detail an operator can act on ("connect ECONNREFUSED 127.0.0.1:9",
 * "unable to verify the first certificate"). A wrong-CA peer, a refused
 * port and a name that does not resolve must not all read "closed".
 *
 * @module
 */
import type { DialFailure } from '../transport.js';

/** Error codes of a failed connect, by the reason they mean. */
const NET_CODES: Readonly<Record<string, DialFailure>> = {
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  ETIMEDOUT: 'timeout',
};

/**
 * OpenSSL's certificate verification codes as Node reports them (err.code),
 * besides the `ERR_SSL_*` and `ERR_TLS_*` families.
 */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'HOSTNAME_MISMATCH',
]);

/**
 * The reason and detail of a dial that ended before its WebSocket opened.
 * `error` is the last error the socket emitted (none when it only closed).
 *
 * @example
 * dialFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }));
 * // { reason: 'refused', detail: 'connect ECONNREFUSED 127.0.0.1:9' }
 */
export function dialFailure(error: (Error & { code?: string }) | undefined, closeCode?: number): { reason: DialFailure; detail: string } {
  if (error === undefined) return { reason: 'closed', detail: `connection closed before opening (code ${closeCode ?? 'none'})` };
  const code = typeof error.code === 'string' ? error.code : '';
  const message = error.message || code || 'unknown error';
  const net = NET_CODES[code];
  if (net !== undefined) return { reason: net, detail: message };
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /certificate|tls|ssl/i.test(message)) {
    return { reason: 'tls', detail: code !== '' && !message.includes(code) ? `${message} (${code})` : message };
  }
  // ws: "Unexpected server response: 503", "Opening handshake has timed out".
  if (/^Unexpected server response/.test(message)) return { reason: 'http', detail: message };
  if (/timed out/i.test(message)) return { reason: 'timeout', detail: message };
  // A reset during the TLS handshake is how a peer that requires our client certificate (and refused it) often answers.
  if (code === 'ECONNRESET') return { reason: 'closed', detail: `${message}: the peer reset the connection (with TLS: does it accept this node's client certificate?)` };
  return { reason: 'error', detail: message };
}
