/**
 * The error registry. Every error tallymesh throws, answers with or closes a
 * peer link for carries a stable `code` from this table, the transport's
 * included; `docs/errors.md` lists the same codes and a test keeps the two in
 * step. Match on `code`, never on message text.
 *
 * A leaf module: it imports nothing, so every folder but the pure `crdt/`
 * (which imports nothing of ours) may import it.
 *
 * @module
 */

type ErrorBase = typeof Error | typeof TypeError | typeof RangeError;

/** An error with a registry code and an optional cause. */
export interface TallymeshError extends Error {
  readonly code: ErrorCode;
  /** HTTP status the daemon answers with for this error. */
  readonly statusCode: number;
}

/** Constructor of one registry error: formats `%s` placeholders with its arguments. */
export interface TallymeshErrorClass {
  new (...args: unknown[]): TallymeshError;
  readonly code: ErrorCode;
  /** HTTP status of every error of this class. */
  readonly statusCode: number;
}

function format(template: string, args: unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => String(args[i++]));
}

function define(code: string, Base: ErrorBase, template: string, statusCode: number): TallymeshErrorClass {
  const Parent = Base as typeof Error;
  class RegistryError extends Parent {
    static readonly code = code as ErrorCode;
    static readonly statusCode = statusCode;
    readonly code = code as ErrorCode;
    readonly statusCode = statusCode;
    constructor(...args: unknown[]) {
      // A trailing { cause } argument is passed through as the standard Error cause.
      const last = args[args.length - 1];
      const hasCause = typeof last === 'object' && last !== null && 'cause' in last && args.length > (template.match(/%s/g)?.length ?? 0);
      super(format(template, hasCause ? args.slice(0, -1) : args), hasCause ? { cause: (last as { cause: unknown }).cause } : undefined);
      this.name = `${Base.name} [${code}]`;
    }
  }
  return RegistryError as unknown as TallymeshErrorClass;
}

/**
 * Every error code. Each entry is a class: `new codes.X(...args)`.
 *
 * @example
 * try { limiter.consume('') } catch (err) { if (err.code === 'TALLYMESH_ERR_KEY_INVALID') ... }
 */
export const codes = {
  TALLYMESH_ERR_OPTION_TYPE: define('TALLYMESH_ERR_OPTION_TYPE', TypeError, 'Option "%s" must be %s, got %s', 400),
  TALLYMESH_ERR_OPTION_RANGE: define('TALLYMESH_ERR_OPTION_RANGE', RangeError, 'Option "%s" must be %s, got %s', 400),
  TALLYMESH_ERR_KEY_INVALID: define('TALLYMESH_ERR_KEY_INVALID', TypeError, 'Key must be a non-empty string, got %s', 400),
  TALLYMESH_ERR_KEY_TOO_LONG: define('TALLYMESH_ERR_KEY_TOO_LONG', RangeError, 'Key must be at most %s bytes of UTF-8, got %s', 400),
  TALLYMESH_ERR_KEY_MALFORMED: define('TALLYMESH_ERR_KEY_MALFORMED', TypeError, 'Key must be well-formed Unicode (no lone surrogate), so that it has one UTF-8 form on every node; got %s', 400),
  TALLYMESH_ERR_COST_INVALID: define('TALLYMESH_ERR_COST_INVALID', RangeError, 'Cost must be an integer from 1 to the limit (%s), got %s', 400),
  TALLYMESH_ERR_RATE_LIMITED: define('TALLYMESH_ERR_RATE_LIMITED', Error, 'Rate limit "%s" exceeded; retry after %s s', 429),
  TALLYMESH_ERR_LIMITER_EXISTS: define('TALLYMESH_ERR_LIMITER_EXISTS', Error, 'Limiter "%s" already exists with a different window (%s)', 409),
  TALLYMESH_ERR_LIMITER_UNKNOWN: define('TALLYMESH_ERR_LIMITER_UNKNOWN', Error, 'No limiter named "%s"', 404),
  TALLYMESH_ERR_MESH_CLOSED: define('TALLYMESH_ERR_MESH_CLOSED', Error, 'The mesh is closed', 503),
  TALLYMESH_ERR_CONFIG_INVALID: define('TALLYMESH_ERR_CONFIG_INVALID', Error, 'Invalid configuration: %s: %s', 400),
  TALLYMESH_ERR_CONFIG_RELOAD_REFUSED: define('TALLYMESH_ERR_CONFIG_RELOAD_REFUSED', Error, 'Reload refused, the running configuration stays: %s', 409),
  TALLYMESH_ERR_CONFIG_NOTHING_TO_RELOAD: define('TALLYMESH_ERR_CONFIG_NOTHING_TO_RELOAD', Error, 'Nothing to reload: %s', 409),
  TALLYMESH_ERR_HTTP_BAD_JSON: define('TALLYMESH_ERR_HTTP_BAD_JSON', Error, 'Request body is not valid JSON: %s', 400),
  TALLYMESH_ERR_HTTP_BAD_REQUEST: define('TALLYMESH_ERR_HTTP_BAD_REQUEST', Error, 'Bad request: %s', 400),
  TALLYMESH_ERR_HTTP_BODY_TOO_LARGE: define('TALLYMESH_ERR_HTTP_BODY_TOO_LARGE', RangeError, 'Request body is larger than %s bytes', 413),
  TALLYMESH_ERR_HTTP_BATCH_TOO_LARGE: define('TALLYMESH_ERR_HTTP_BATCH_TOO_LARGE', RangeError, 'A batch holds at most %s requests, got %s', 400),
  TALLYMESH_ERR_HTTP_UNAUTHORIZED: define('TALLYMESH_ERR_HTTP_UNAUTHORIZED', Error, 'Missing or wrong bearer token', 401),
  TALLYMESH_ERR_HTTP_METHOD_NOT_ALLOWED: define('TALLYMESH_ERR_HTTP_METHOD_NOT_ALLOWED', Error, 'Method %s not allowed on %s', 405),
  TALLYMESH_ERR_HTTP_UPGRADE_REQUIRED: define('TALLYMESH_ERR_HTTP_UPGRADE_REQUIRED', Error, '%s is a WebSocket endpoint: upgrade required', 426),
  TALLYMESH_ERR_HTTP_INTERNAL: define('TALLYMESH_ERR_HTTP_INTERNAL', Error, 'Internal error: %s', 500),
  TALLYMESH_ERR_STREAM_MALFORMED: define('TALLYMESH_ERR_STREAM_MALFORMED', Error, 'Malformed stream frame: %s', 400),
  TALLYMESH_ERR_HTTP_TOO_MANY_STREAMS: define('TALLYMESH_ERR_HTTP_TOO_MANY_STREAMS', Error, 'Too many /v1/stream connections (at most %s); retry later', 503),
  TALLYMESH_ERR_HTTP_NOT_FOUND: define('TALLYMESH_ERR_HTTP_NOT_FOUND', Error, 'No route for %s %s', 404),
  // Browsers at the node's port (docs/http-api.md, "Browsers"): a foreign Host, an Origin on an upgrade, a cross-site write, a non-JSON body.
  TALLYMESH_ERR_HTTP_HOST_REFUSED: define('TALLYMESH_ERR_HTTP_HOST_REFUSED', Error, 'Host %s is not a name this node answers to; %s', 421),
  TALLYMESH_ERR_HTTP_ORIGIN_REFUSED: define('TALLYMESH_ERR_HTTP_ORIGIN_REFUSED', Error, 'Browser request refused on %s: %s', 403),
  TALLYMESH_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: define('TALLYMESH_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', Error, 'Content-Type %s is not accepted: %s', 415),
  // The Node client (tallymesh/client): no daemon answered in time, a call after close(), an item error of a code this client does not know.
  TALLYMESH_ERR_CLIENT_TIMEOUT: define('TALLYMESH_ERR_CLIENT_TIMEOUT', Error, 'No daemon answered within %s ms (%s)', 504),
  TALLYMESH_ERR_CLIENT_CLOSED: define('TALLYMESH_ERR_CLIENT_CLOSED', Error, 'The client is closed', 503),
  TALLYMESH_ERR_CLIENT_REMOTE: define('TALLYMESH_ERR_CLIENT_REMOTE', Error, 'The daemon refused the request: %s: %s', 502),
  // The Redis protocol port (docs/resp.md). Sent as `-<PREFIX> <code> <message>`; the status only classifies.
  TALLYMESH_ERR_RESP_PROTOCOL: define('TALLYMESH_ERR_RESP_PROTOCOL', Error, 'Protocol error: %s', 400),
  TALLYMESH_ERR_RESP_UNKNOWN_COMMAND: define('TALLYMESH_ERR_RESP_UNKNOWN_COMMAND', Error, "Unknown command '%s'", 404),
  TALLYMESH_ERR_RESP_ARITY: define('TALLYMESH_ERR_RESP_ARITY', Error, "Wrong number of arguments for '%s'", 400),
  TALLYMESH_ERR_RESP_SYNTAX: define('TALLYMESH_ERR_RESP_SYNTAX', Error, 'Syntax error: %s', 400),
  TALLYMESH_ERR_RESP_NOAUTH: define('TALLYMESH_ERR_RESP_NOAUTH', Error, 'Authentication required: send AUTH <token> or HELLO <version> AUTH <user> <token>', 401),
  TALLYMESH_ERR_RESP_AUTH_FAILED: define('TALLYMESH_ERR_RESP_AUTH_FAILED', Error, 'Wrong API token', 401),
  TALLYMESH_ERR_RESP_AUTH_NOT_CONFIGURED: define('TALLYMESH_ERR_RESP_AUTH_NOT_CONFIGURED', Error, 'AUTH called without any password configured for the default user: this daemon has no API token', 400),
  TALLYMESH_ERR_RESP_NOPROTO: define('TALLYMESH_ERR_RESP_NOPROTO', Error, 'Protocol version %s is not supported (2 or 3)', 400),
  TALLYMESH_ERR_RESP_DB: define('TALLYMESH_ERR_RESP_DB', Error, 'Only database 0 exists, got %s', 400),
  TALLYMESH_ERR_RESP_TOO_MANY_CONNECTIONS: define('TALLYMESH_ERR_RESP_TOO_MANY_CONNECTIONS', Error, 'Too many RESP connections (at most %s); retry later', 503),
  // Envoy's rate limit service (docs/envoy.md). Sent as the gRPC status message `<code>: <message>`; the status only classifies.
  TALLYMESH_ERR_RLS_INVALID_REQUEST: define('TALLYMESH_ERR_RLS_INVALID_REQUEST', Error, 'Invalid rate limit request: %s', 400),
  TALLYMESH_ERR_RLS_TOO_LARGE: define('TALLYMESH_ERR_RLS_TOO_LARGE', RangeError, 'Rate limit request past a bound: %s', 413),
  TALLYMESH_ERR_RLS_TOO_MANY_OVERRIDES: define('TALLYMESH_ERR_RLS_TOO_MANY_OVERRIDES', RangeError, 'Too many limit overrides: this node serves at most %s distinct (domain, unit, requests_per_unit) from requests; refused %s', 429),
  TALLYMESH_ERR_RLS_UNAUTHENTICATED: define('TALLYMESH_ERR_RLS_UNAUTHENTICATED', Error, 'Missing or wrong bearer token: send metadata "authorization: Bearer <token>"', 401),
  TALLYMESH_ERR_RLS_SERVICE_UNKNOWN: define('TALLYMESH_ERR_RLS_SERVICE_UNKNOWN', Error, 'No service named "%s" on this port', 404),
  // Peer frames refused. The transport throws these as `FrameError` (whose
  // `reason` is the metric label and the close reason on the wire) and closes
  // that peer's link; never answered over HTTP, so the status only classifies.
  TALLYMESH_ERR_FRAME_AUTH: define('TALLYMESH_ERR_FRAME_AUTH', Error, 'Peer frame refused (auth): %s', 401),
  TALLYMESH_ERR_FRAME_VERSION: define('TALLYMESH_ERR_FRAME_VERSION', Error, 'Peer frame refused (version): %s', 400),
  TALLYMESH_ERR_FRAME_TOO_LARGE: define('TALLYMESH_ERR_FRAME_TOO_LARGE', Error, 'Peer frame refused (too-large): %s', 413),
  TALLYMESH_ERR_FRAME_MALFORMED: define('TALLYMESH_ERR_FRAME_MALFORMED', Error, 'Peer frame refused (malformed): %s', 400),
  TALLYMESH_ERR_FRAME_UNEXPECTED: define('TALLYMESH_ERR_FRAME_UNEXPECTED', Error, 'Peer frame refused (unexpected): %s', 400),
  TALLYMESH_ERR_FRAME_DUPLICATE: define('TALLYMESH_ERR_FRAME_DUPLICATE', Error, 'Peer link refused (duplicate): %s', 409),
  TALLYMESH_ERR_FRAME_SELF: define('TALLYMESH_ERR_FRAME_SELF', Error, 'Peer link refused (self): %s', 409),
  TALLYMESH_ERR_FRAME_TIMEOUT: define('TALLYMESH_ERR_FRAME_TIMEOUT', Error, 'Peer handshake refused (timeout): %s', 408),
  TALLYMESH_ERR_FRAME_TOO_MANY_HANDSHAKES: define('TALLYMESH_ERR_FRAME_TOO_MANY_HANDSHAKES', Error, 'Peer connection refused (too-many-handshakes): %s', 503),
  TALLYMESH_ERR_FRAME_TOO_MANY_HANDSHAKES_PER_ADDRESS: define(
    'TALLYMESH_ERR_FRAME_TOO_MANY_HANDSHAKES_PER_ADDRESS',
    Error,
    'Peer connection refused (too-many-handshakes-per-address): %s',
    503,
  ),
  TALLYMESH_ERR_FRAME_HANDSHAKE_EVICTED: define('TALLYMESH_ERR_FRAME_HANDSHAKE_EVICTED', Error, 'Unauthenticated peer connection cut (handshake-evicted): %s', 503),
} as const;

/** Every registry code. */
export type ErrorCode = keyof typeof codes;

/** True when `err` is a tallymesh registry error (optionally of one code). */
export function isTallymeshError(err: unknown, code?: ErrorCode): err is TallymeshError {
  if (typeof err !== 'object' || err === null || !('code' in err)) return false;
  const c = (err as { code: unknown }).code;
  return typeof c === 'string' && c in codes && (code === undefined || c === code);
}
