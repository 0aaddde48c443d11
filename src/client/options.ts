/**
 * Options of {@link createClient}, checked eagerly: a bad option throws at
 * construction (`TALLYMESH_ERR_OPTION_TYPE` / `_RANGE`, naming it), never
 * later on the network path.
 *
 * @module
 */
import { codes } from '../errors.js';
import { MAX_BATCH_REQUESTS } from '../stream/batch.js';
import { describeValue, enumOption, integerOption } from '../validate.js';
import type { ClientTlsOptions } from './connection.js';
import type { FailoverStrategy } from './failover.js';

/**
 * What a call settles with when no daemon answered it within `timeoutMs`:
 * - `'error'` (default): the promise rejects with `TALLYMESH_ERR_CLIENT_TIMEOUT`;
 * - `'open'`: it resolves with `allowed: true` and `source: 'fail-open'`;
 * - `'closed'`: it resolves with `allowed: false` and `source: 'fail-closed'`.
 */
export type FailMode = 'error' | 'open' | 'closed';

/** Options of {@link createClient}. */
export interface ClientOptions {
  /**
   * One daemon URL or several (`http://`, `https://`, `ws://` or `wss://`,
   * host and port; the path `/v1/stream` is added). Several are failed over
   * between, in the order of `strategy`.
   */
  urls: string | readonly string[];
  /** The daemon's API token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** A call settles within this, answered or not (default 1000 ms; 1 ms to 10 min). */
  timeoutMs?: number;
  /** What a call settles with when no daemon answered in time (default `'error'`). */
  failMode?: FailMode;
  /** Which URL to dial: `'first-healthy'` (default) or `'round-robin'`. */
  strategy?: FailoverStrategy;
  /** TLS options for `https`/`wss` URLs (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`…). */
  tls?: ClientTlsOptions;
  /** The WebSocket upgrade must complete within this (default: `timeoutMs`, at least 100 ms). */
  connectTimeoutMs?: number;
  /** Redial backoff, full jitter: first delay up to `initialMs` (default 50), doubling to `maxMs` (default 5000). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Most requests in one frame (default and most 1000, the daemon's bound). */
  maxBatch?: number;
}

/** {@link ClientOptions} resolved. */
export interface ResolvedClientOptions {
  /** `ws(s)://host:port/v1/stream` for each URL. */
  streamUrls: string[];
  /** `http(s)://host:port` for each URL (peek). */
  httpUrls: string[];
  token: string | undefined;
  timeoutMs: number;
  failMode: FailMode;
  strategy: FailoverStrategy;
  tls: ClientTlsOptions | undefined;
  connectTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  maxBatch: number;
}

const SCHEMES: Record<string, { ws: string; http: string }> = {
  'http:': { ws: 'ws:', http: 'http:' },
  'ws:': { ws: 'ws:', http: 'http:' },
  'https:': { ws: 'wss:', http: 'https:' },
  'wss:': { ws: 'wss:', http: 'https:' },
};

function parseUrl(value: unknown, field: string): { ws: string; http: string } {
  if (typeof value !== 'string') throw new codes.TALLYMESH_ERR_OPTION_TYPE(field, 'a string', describeValue(value));
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(field, 'an http, https, ws or wss URL', describeValue(value));
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || !['', '/', '/v1/stream'].includes(url.pathname)) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(field, 'an http, https, ws or wss URL with host and port only', describeValue(value));
  }
  return { ws: `${scheme.ws}//${url.host}/v1/stream`, http: `${scheme.http}//${url.host}` };
}

/**
 * Checks and completes {@link ClientOptions}.
 *
 * @throws TALLYMESH_ERR_OPTION_TYPE / TALLYMESH_ERR_OPTION_RANGE naming the option.
 * @example
 * resolveClientOptions({ urls: 'http://127.0.0.1:7070' }).streamUrls; // ['ws://127.0.0.1:7070/v1/stream']
 */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw new codes.TALLYMESH_ERR_OPTION_TYPE('options', 'an object', describeValue(options));
  const list = typeof options.urls === 'string' ? [options.urls] : options.urls;
  if (!Array.isArray(list)) throw new codes.TALLYMESH_ERR_OPTION_TYPE('urls', 'a URL or an array of URLs', describeValue(options.urls));
  if (list.length === 0 || list.length > 64) throw new codes.TALLYMESH_ERR_OPTION_RANGE('urls', 'from 1 to 64 URLs', String(list.length));
  const parsed = list.map((u, i) => parseUrl(u, `urls[${i}]`));
  const token = options.token;
  if (token !== undefined && (typeof token !== 'string' || token === '' || /[\r\n]/.test(token))) {
    // The token itself is never shown.
    throw new codes.TALLYMESH_ERR_OPTION_TYPE('token', 'a non-empty string on one line', typeof token);
  }
  const timeoutMs = integerOption('timeoutMs', options.timeoutMs ?? 1000, 1, 600_000);
  const initialMs = integerOption('backoff.initialMs', options.backoff?.initialMs ?? 50, 1, 60_000);
  const maxMs = integerOption('backoff.maxMs', options.backoff?.maxMs ?? 5_000, initialMs, 600_000);
  if (options.tls !== undefined && (typeof options.tls !== 'object' || options.tls === null)) throw new codes.TALLYMESH_ERR_OPTION_TYPE('tls', 'an object', describeValue(options.tls));
  return {
    streamUrls: parsed.map((p) => p.ws),
    httpUrls: parsed.map((p) => p.http),
    token,
    timeoutMs,
    failMode: enumOption('failMode', options.failMode ?? 'error', ['error', 'open', 'closed'] as const),
    strategy: enumOption('strategy', options.strategy ?? 'first-healthy', ['first-healthy', 'round-robin'] as const),
    tls: options.tls,
    connectTimeoutMs: integerOption('connectTimeoutMs', options.connectTimeoutMs ?? Math.max(100, timeoutMs), 1, 600_000),
    backoff: { initialMs, maxMs },
    maxBatch: integerOption('maxBatch', options.maxBatch ?? MAX_BATCH_REQUESTS, 1, MAX_BATCH_REQUESTS),
  };
}
