/**
 * The small HTTP client `consume`, `status` and `demo` use to talk to a
 * daemon: JSON in and out, a bearer token, a client certificate and CA for
 * https (cli/client-tls.ts), a timeout, and errors that say what failed
 * (connection, TLS handshake, status code, the daemon's error body).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { ClientError } from './client-error.js';
import { describeTlsFailure, type ClientTls } from './client-tls.js';

/** What a daemon answered. */
export interface JsonResponse {
  status: number;
  body: unknown;
}

export { ClientError };

/** Options of {@link requestJson}. */
export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  token?: string;
  timeoutMs?: number;
  /** Client certificate and CA for https (cli/client-tls.ts). */
  tls?: ClientTls;
}

/**
 * Sends one request and parses the JSON answer, whatever its status.
 * @throws ClientError when the daemon cannot be reached, times out or answers something other than JSON.
 */
export async function requestJson(url: string, options: RequestOptions = {}): Promise<JsonResponse> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  if (options.token !== undefined && options.token !== '') headers.authorization = `Bearer ${options.token}`;
  const timeoutMs = options.timeoutMs ?? 5000;
  // node:http(s) rather than fetch: fetch cannot present a client certificate, and names every TLS failure UND_ERR_SOCKET.
  const secure = url.startsWith('https:');
  const tls = options.tls ?? {};
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    };
    const common = { method: options.method ?? 'GET', headers, agent: false as const, timeout: timeoutMs };
    const req = secure ? https.request(url, { ...common, cert: tls.cert, key: tls.key, ca: tls.ca }, onResponse) : http.request(url, common, onResponse);
    const deadline = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(deadline);
      const why =
        err.code === 'TIMEOUT' ? `no answer within ${timeoutMs} ms` : ((secure ? describeTlsFailure(err, tls.cert !== undefined) : undefined) ?? err.code ?? err.message);
      reject(new ClientError(`cannot reach ${url}: ${why}`, { cause: err }));
    });
    req.end(body);
  });
  try {
    return { status, body: JSON.parse(text) as unknown };
  } catch {
    throw new ClientError(`${url} answered HTTP ${status} with a body that is not JSON: ${text.slice(0, 120)}`);
  }
}

/** The `{ error: { code, message } }` body a daemon sends with a 4xx/5xx, as one line. */
export function describeError(res: JsonResponse): string {
  const e = (res.body as { error?: { code?: string; message?: string } } | null)?.error;
  return e === undefined ? `HTTP ${res.status}` : `HTTP ${res.status} ${e.code ?? ''}: ${e.message ?? ''}`.trim();
}

/** Joins a base URL (`http://host:port`, with or without a trailing slash or path) and an API path. */
export function apiUrl(base: string, path: string): string {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new ClientError(`--url must be a URL like http://127.0.0.1:7070, got ${JSON.stringify(base)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ClientError(`--url must start with http:// or https://, got ${JSON.stringify(base)}`);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}${path}`;
}

/**
 * The API token for a client command: `--token-file` if given, else
 * `TALLYMESH_API_TOKEN`, else none.
 */
export function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (tokenFile !== undefined) {
    try {
      return readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      throw new ClientError(`--token-file: cannot read ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  const t = env.TALLYMESH_API_TOKEN?.trim();
  return t === undefined || t === '' ? undefined : t;
}

/** Default daemon URL for client commands: `TALLYMESH_URL` or the default port on loopback. */
export function defaultUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.TALLYMESH_URL?.trim() || 'http://127.0.0.1:7070';
}
