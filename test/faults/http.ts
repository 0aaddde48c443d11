/**
 * A small JSON-over-HTTP client for the fault suite, soak and fuzz: keep-alive
 * agents, a hard timeout on every request, and errors sorted by what they
 * mean for accounting (refused before sending vs. outcome unknown).
 */
import http from 'node:http';

/** A response: status and parsed JSON body (null when the body was not JSON). */
export interface JsonResponse {
  status: number;
  body: unknown;
  /** The raw body as UTF-8. */
  text: string;
  headers: http.IncomingHttpHeaders;
}

/** How a request that got no response failed. */
export type FailureKind =
  /** Nothing was sent: refused or unreachable. The request certainly had no effect. */
  | 'refused'
  /** Sent, then the connection broke or the timeout hit: it may or may not have taken effect. */
  | 'indeterminate';

/** A request that got no response. */
export class RequestFailure extends Error {
  readonly kind: FailureKind;
  readonly code: string;
  constructor(kind: FailureKind, code: string, message: string) {
    super(message);
    this.name = 'RequestFailure';
    this.kind = kind;
    this.code = code;
  }
}

const REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EACCES', 'EADDRNOTAVAIL']);

/** Options of {@link requestJson}. */
export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Raw body bytes (sent as is; overrides `body`). */
  raw?: Buffer | string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  agent?: http.Agent;
}

/** Sends one request and reads the whole response. Rejects only with a {@link RequestFailure}. */
export function requestJson(url: string, options: RequestOptions = {}): Promise<JsonResponse> {
  const { method = 'GET', timeoutMs = 5_000, agent } = options;
  const payload =
    options.raw !== undefined ? Buffer.from(options.raw) : options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: NodeJS.ErrnoException | Error, code?: string): void => {
      if (settled) return;
      settled = true;
      const c = code ?? (err as NodeJS.ErrnoException).code ?? 'ERROR';
      // A connection refused or unroutable before anything left: certainly no effect.
      const kind: FailureKind = REFUSED.has(c) ? 'refused' : 'indeterminate';
      reject(new RequestFailure(kind, c, `${method} ${url}: ${err.message}`));
    };
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => fail(err));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = null;
          try {
            body = text === '' ? null : (JSON.parse(text) as unknown);
          } catch {
            body = null;
          }
          resolve({ status: res.statusCode ?? 0, body, text, headers: res.headers });
        });
      },
    );
    const timer = setTimeout(() => {
      fail(new Error(`no response within ${timeoutMs} ms`), 'TIMEOUT');
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    req.end(payload);
  });
}

/** GET a JSON document; null on any failure or non-2xx status. */
export async function getJson<T>(url: string, timeoutMs = 3_000, agent?: http.Agent): Promise<T | null> {
  try {
    const r = await requestJson(url, { timeoutMs, agent });
    return r.status >= 200 && r.status < 300 ? (r.body as T) : null;
  } catch {
    return null;
  }
}
