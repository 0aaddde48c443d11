/**
 * `peek` over HTTP (`GET /v1/limiters/:name/keys/:key`): the stream carries
 * only consume requests, so a peek is one HTTP request, with the client's
 * token and TLS options, tried on each URL in turn until one answers or the
 * deadline passes.
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientTlsOptions } from './connection.js';
import { remoteError, type ClientDecision } from './decision.js';
import type { TallymeshError } from '../errors.js';

/** The answer of one URL: a decision, a refusal that holds on every daemon (4xx), or a failure worth trying elsewhere. */
export type PeekAnswer = { decision: ClientDecision } | { refused: TallymeshError } | { failed: Error };

/** Largest answer body read (a peek answer is ~100 bytes). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * One peek against one daemon, within `timeoutMs`.
 *
 * @example
 * const a = await peekOnce('http://127.0.0.1:7070', 'api', 'user:42', { timeoutMs: 500 });
 */
export function peekOnce(baseUrl: string, limiter: string, key: string, opts: { token?: string; tls?: ClientTlsOptions; timeoutMs: number }): Promise<PeekAnswer> {
  const url = `${baseUrl}/v1/limiters/${encodeURIComponent(limiter)}/keys/${encodeURIComponent(key)}`;
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve) => {
    const req = lib.get(
      url,
      {
        headers: opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` },
        ...(url.startsWith('https:') ? opts.tls : {}),
        agent: false,
        timeout: opts.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error(`peek answer larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let body: any;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            resolve({ failed: new Error(`peek answered ${status} with a body that is not JSON`) });
            return;
          }
          if (status === 200 && typeof body?.allowed === 'boolean') {
            resolve({ decision: { allowed: body.allowed, limit: body.limit, remaining: body.remaining, resetMs: body.resetMs, retryAfterMs: body.retryAfterMs, source: 'daemon' } });
          } else if (status >= 400 && status < 500 && typeof body?.error?.code === 'string') {
            resolve({ refused: remoteError(body.error.code, String(body.error.message)) });
          } else resolve({ failed: new Error(`peek answered ${status}`) });
        });
        res.on('error', (err) => resolve({ failed: err }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`peek got no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err) => resolve({ failed: err }));
  });
}
