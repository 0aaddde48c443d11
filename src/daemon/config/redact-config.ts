/**
 * The one redaction of a daemon configuration: what `tallymesh start --check`
 * prints and what the daemon's `config` log line carries. Secrets and tokens
 * become a note of their presence, TLS material a marker.
 *
 * May import: the config's type.
 *
 * @module
 */
import type { DaemonConfig } from './daemon-config.js';

/** How a secret or token appears: `(none)`, or `(set, N characters)` so a truncated file shows. */
function redactSecret(value: string): string {
  return value === '' ? '(none)' : `(set, ${value.length} characters)`;
}

/**
 * The configuration with secrets replaced by a note of their presence and TLS
 * material by a marker: safe to print and to log.
 *
 * @example
 * console.log(JSON.stringify(redactConfig(config), null, 2));
 * // { "id": "a", ..., "secret": "(set, 32 characters)", "apiToken": "(none)", "tls": "(off)" }
 */
export function redactConfig(config: DaemonConfig): Record<string, unknown> {
  return {
    ...config,
    secret: redactSecret(config.secret),
    apiToken: redactSecret(config.apiToken),
    tls: config.tls === undefined ? '(off)' : { cert: '(pem)', key: '(pem)', ca: config.tls.ca === undefined ? '(none)' : '(pem)' },
    // The descriptor trees can be large: the files and domains say which configuration runs.
    ...(config.rlsConfig === undefined ? {} : { rlsConfig: { files: config.rlsConfig.files, domains: config.rlsConfig.domains.map((d) => d.domain) } }),
  };
}
