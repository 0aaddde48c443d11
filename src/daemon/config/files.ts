/**
 * The files a daemon configuration points at: the cluster secret, the API
 * token (either may also come inline from the environment), the TLS
 * certificate, key and CA, and the rate limit service's configuration. Each read failure is a config error naming the
 * setting that gave the path.
 *
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { configError, parseInteger, showValue } from './parse.js';
import type { DaemonConfig } from './daemon-config.js';
import { MIN_SECRET_LENGTH } from '../../mesh/mesh-options.js';
import { readRlsConfig } from '../../rls/index.js';

/** Where a setting's value came from. */
export type ConfigOrigin = 'default' | 'file' | 'env' | 'flag';

/** A setting's raw value with the name to blame and where relative paths start. */
export interface Entry {
  value: unknown;
  field: string;
  origin: ConfigOrigin;
  dir: string;
}

/** The settings one source (file, environment, flags) gives, by setting key. */
export type Layer = Map<string, Entry>;

/** Settings under `tls:` in the YAML file. */
export const TLS_KEYS = ['certFile', 'keyFile', 'caFile'];

/** Reads a secret or token given inline (environment) or as a file; shorter than `MIN_SECRET_LENGTH` (the mesh's) is refused. */
export function readSecret(e: Entry, warnings: string[]): string {
  const v = e.value as { file?: unknown; inline?: string };
  let secret: string;
  let where: string;
  if (v.inline !== undefined) {
    secret = v.inline.trim();
    where = e.field;
  } else {
    if (typeof v.file !== 'string' || v.file.trim() === '') return configError(e.field, `must be a file path, got ${showValue(v.file)}`);
    const path = resolve(e.dir, v.file);
    where = path;
    try {
      secret = readFileSync(path, 'utf8').trim();
      // A secret others can read is a secret others can use to join the mesh.
      const mode = statSync(path).mode;
      if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
        warnings.push(`${path} (${e.field}) is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
      }
    } catch (err) {
      return configError(e.field, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    return configError(e.field, `the value in ${where} must be at least ${MIN_SECRET_LENGTH} characters, got ${secret.length}`);
  }
  return secret;
}

/** Reads the TLS certificate, key and CA named by `tls.*`; both cert and key, or neither. */
export function readTls(merged: Layer): DaemonConfig['tls'] {
  const [cert, key, ca] = TLS_KEYS.map((k) => merged.get(`tls.${k}`));
  if (cert === undefined && key === undefined) {
    if (ca !== undefined) configError(ca.field, 'needs a certificate and key too (--tls-cert and --tls-key)');
    return undefined;
  }
  if (cert === undefined || key === undefined) {
    const given = (cert ?? key) as Entry;
    return configError(given.field, `needs its pair: TLS takes both a certificate (--tls-cert) and a key (--tls-key)`);
  }
  const read = (e: Entry): string => {
    if (typeof e.value !== 'string' || e.value.trim() === '') return configError(e.field, `must be a file path, got ${showValue(e.value)}`);
    const path = resolve(e.dir, e.value);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      return configError(e.field, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  const tls: NonNullable<DaemonConfig['tls']> = { cert: read(cert), key: read(key) };
  if (ca !== undefined) tls.ca = read(ca);
  return tls;
}

/** Reads `rls.port` and `rls.config` (the envoyproxy/ratelimit YAML file or directory); both, or neither. */
export function readRls(merged: Layer): Pick<DaemonConfig, 'rlsPort' | 'rlsConfig'> {
  const port = merged.get('rls.port');
  const file = merged.get('rls.config');
  if (port === undefined && file === undefined) return {};
  if (port === undefined || file === undefined) {
    const given = (port ?? file) as Entry;
    return configError(given.field, port === undefined ? 'needs a port to serve it on too (--rls-port, rls.port)' : 'needs the rate limit configuration too (--rls-config, rls.config)');
  }
  const rlsPort = parseInteger(port.value, port.field, 0, 65535);
  if (typeof file.value !== 'string' || file.value.trim() === '') return configError(file.field, `must be a file or directory path, got ${showValue(file.value)}`);
  return { rlsPort, rlsConfig: readRlsConfig(resolve(file.dir, file.value.trim()), file.field) };
}
