/**
 * The small HTTP client `consume`, `status` and `demo` use to talk to a
 * daemon: JSON in and out, a bearer token, a timeout, and errors that say
 * what failed (connection, status code, the daemon's error body).
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** What a daemon answered. */
export interface JsonResponse {
  status: number;
  body: unknown;
}

/** A request that failed before an answer arrived, or an answer that is not JSON. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
}

/** Options of {@link requestJson}. */
export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  token?: string;
  timeoutMs?: number;
}

/**
 * Sends one request and parses the JSON answer, whatever its status.
 * @throws ClientError when the daemon cannot be reached, times out or answers something other than JSON.
 */
export async function requestJson(url: string, options: RequestOptions = {}): Promise<JsonResponse> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined && options.token !== '') headers.authorization = `Bearer ${options.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${options.timeoutMs ?? 5000} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new ClientError(`cannot reach ${url}: ${why}`, { cause: err });
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new ClientError(`${url} answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`);
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
