/**
 * The daemon's configuration loader: a YAML file, `TALLYMESH_*` environment
 * variables and command-line flags, merged with the precedence
 * **flags > environment > file > defaults**, validated field by field into a
 * {@link DaemonConfig}. Every error is `TALLYMESH_ERR_CONFIG_INVALID` and
 * names the field as the user wrote it: `limiters[1].window` (file),
 * `TALLYMESH_PORT` (environment), `--limiter[0].limit` (flag).
 *
 * Limiters merge by name: a limiter from a higher layer replaces the one of
 * the same name from a lower layer; the others are kept. Every other setting,
 * lists included (`peers`), is replaced whole by the highest layer that sets it.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import {
  configError,
  parseAddress,
  parseAllowedHost,
  parseDuration,
  parseEnum,
  parseInteger,
  parseLimiter,
  parseLimiterSpec,
  parseList,
  parseName,
  parseNumber,
  showValue,
} from './parse.js';
import { DEFAULT_PREFILL } from '../../../crdt/lag-estimate.js';
import { readRls, readSecret, readTls, TLS_KEYS, type ConfigOrigin, type Entry, type Layer } from './files.js';
import { LOG_LEVELS, type DaemonConfig } from './daemon-config.js';
import type { LimiterOptions } from '../../limiter/limiter.js';
import { isLoopback } from '../../mesh/mesh-options.js';
import { readDiscovery } from './discovery-config.js';
import { memoryBudget } from './memory-config.js';

/** Command-line flags of `tallymesh start`, as commander hands them over (strings; `limiter` repeatable). */
export interface ConfigFlags {
  config?: string;
  id?: string;
  host?: string;
  port?: string | number;
  advertise?: string;
  allowedHosts?: string | string[];
  peers?: string | string[];
  secretFile?: string;
  apiTokenFile?: string;
  limiter?: string[];
  maxKeys?: string | number;
  eventsDeniedPerSec?: string | number;
  logLevel?: string;
  gossipInterval?: string | number;
  prefill?: string | number;
  suspectAfter?: string | number;
  maxClockOffset?: string | number;
  shutdownTimeout?: string | number;
  drainMs?: string | number;
  joinTimeout?: string | number;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  respPort?: string | number;
  rlsPort?: string | number;
  rlsConfig?: string;
  adminPort?: string | number;
  adminHost?: string;
  peersDns?: string | string[];
  dnsInterval?: string | number;
  dnsServer?: string;
  memoryLimit?: string | number;
}

export type { ConfigOrigin };

/** What {@link loadConfig} returns. */
export interface LoadedConfig {
  config: DaemonConfig;
  /** Absolute path of the YAML file read, or null. */
  file: string | null;
  /** Origin of every setting that did not keep its default. */
  origins: Record<string, ConfigOrigin>;
  /** Things that work but deserve an operator's attention (a world-readable secret file…). */
  warnings: string[];
}

/** Inputs of {@link loadConfig}. */
export interface LoadConfigOptions {
  flags?: ConfigFlags;
  /** Environment (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Directory relative flag and environment paths resolve against (default `process.cwd()`). */
  cwd?: string;
}


/** One setting: its YAML key, flag and environment variable. */
interface Setting {
  key: string;
  flag: keyof ConfigFlags;
  env: string;
}

/** Every scalar and list setting. Secrets, tokens and limiters have extra handling below. */
export const SETTINGS: readonly Setting[] = [
  { key: 'id', flag: 'id', env: 'TALLYMESH_ID' },
  { key: 'host', flag: 'host', env: 'TALLYMESH_HOST' },
  { key: 'port', flag: 'port', env: 'TALLYMESH_PORT' },
  { key: 'advertise', flag: 'advertise', env: 'TALLYMESH_ADVERTISE' },
  { key: 'allowedHosts', flag: 'allowedHosts', env: 'TALLYMESH_ALLOWED_HOSTS' },
  { key: 'peers', flag: 'peers', env: 'TALLYMESH_PEERS' },
  { key: 'secretFile', flag: 'secretFile', env: 'TALLYMESH_SECRET_FILE' },
  { key: 'apiTokenFile', flag: 'apiTokenFile', env: 'TALLYMESH_API_TOKEN_FILE' },
  { key: 'limiters', flag: 'limiter', env: 'TALLYMESH_LIMITERS' },
  { key: 'maxKeys', flag: 'maxKeys', env: 'TALLYMESH_MAX_KEYS' },
  { key: 'eventsDeniedPerSec', flag: 'eventsDeniedPerSec', env: 'TALLYMESH_EVENTS_DENIED_PER_SEC' },
  { key: 'logLevel', flag: 'logLevel', env: 'TALLYMESH_LOG_LEVEL' },
  { key: 'gossipInterval', flag: 'gossipInterval', env: 'TALLYMESH_GOSSIP_INTERVAL' },
  { key: 'prefill', flag: 'prefill', env: 'TALLYMESH_PREFILL' },
  { key: 'suspectAfter', flag: 'suspectAfter', env: 'TALLYMESH_SUSPECT_AFTER' },
  { key: 'maxClockOffset', flag: 'maxClockOffset', env: 'TALLYMESH_MAX_CLOCK_OFFSET' },
  { key: 'shutdownTimeout', flag: 'shutdownTimeout', env: 'TALLYMESH_SHUTDOWN_TIMEOUT' },
  { key: 'drainMs', flag: 'drainMs', env: 'TALLYMESH_DRAIN_MS' },
  { key: 'joinTimeout', flag: 'joinTimeout', env: 'TALLYMESH_JOIN_TIMEOUT' },
  { key: 'tls.certFile', flag: 'tlsCert', env: 'TALLYMESH_TLS_CERT_FILE' },
  { key: 'tls.keyFile', flag: 'tlsKey', env: 'TALLYMESH_TLS_KEY_FILE' },
  { key: 'tls.caFile', flag: 'tlsCa', env: 'TALLYMESH_TLS_CA_FILE' },
  { key: 'resp.port', flag: 'respPort', env: 'TALLYMESH_RESP_PORT' },
  { key: 'rls.port', flag: 'rlsPort', env: 'TALLYMESH_RLS_PORT' },
  { key: 'rls.config', flag: 'rlsConfig', env: 'TALLYMESH_RLS_CONFIG' },
  { key: 'admin.port', flag: 'adminPort', env: 'TALLYMESH_ADMIN_PORT' },
  { key: 'admin.host', flag: 'adminHost', env: 'TALLYMESH_ADMIN_HOST' },
  { key: 'peersDns', flag: 'peersDns', env: 'TALLYMESH_PEERS_DNS' },
  { key: 'dnsInterval', flag: 'dnsInterval', env: 'TALLYMESH_DNS_INTERVAL' },
  { key: 'dnsServer', flag: 'dnsServer', env: 'TALLYMESH_DNS_SERVER' },
  { key: 'memoryLimit', flag: 'memoryLimit', env: 'TALLYMESH_MEMORY_LIMIT' },
];

/** Environment variables read besides {@link SETTINGS}: inline secrets, the config path, and the clients' URL. */
const EXTRA_ENV = ['TALLYMESH_SECRET', 'TALLYMESH_API_TOKEN', 'TALLYMESH_CONFIG', 'TALLYMESH_URL'];

const kebab = (s: string) => `--${s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Loads, merges and validates the daemon configuration. Reads the YAML file
 * (`--config` or `TALLYMESH_CONFIG`), the secret, token and TLS files.
 *
 * @throws TALLYMESH_ERR_CONFIG_INVALID naming the field at fault.
 * @example
 * const { config } = loadConfig({ flags: { port: '0', limiter: ['name=api,limit=100,window=60s'] } });
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const flags = options.flags ?? {};
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const warnings: string[] = [];
  const configPath = flags.config ?? nonEmpty(env.TALLYMESH_CONFIG);
  const file = configPath === undefined ? null : resolve(cwd, configPath);
  const layers = [
    file === null ? new Map<string, Entry>() : fileLayer(file, flags.config !== undefined ? '--config' : 'TALLYMESH_CONFIG'),
    envLayer(env, cwd, warnings),
    flagLayer(flags, cwd),
  ];
  const merged: Layer = new Map();
  for (const layer of layers) for (const [k, e] of layer) merged.set(k, e);
  const origins: Record<string, ConfigOrigin> = {};
  for (const [k, e] of merged) origins[k] = e.origin;

  const get = <T>(key: string, parse: (e: Entry) => T, fallback: T): T => {
    const e = merged.get(key);
    return e === undefined ? fallback : parse(e);
  };
  const host = get('host', (e) => parseHost(e.value, e.field), '127.0.0.1');
  const port = get('port', (e) => parseInteger(e.value, e.field, 0, 65535), 7070);
  // Without --max-keys, the key bound follows the memory limit (--memory-limit, else the cgroup's): memory-budget.ts.
  const memory = memoryBudget(merged.get('maxKeys'), merged.get('memoryLimit'), env, warnings);
  const maxKeys = memory.maxKeys;
  const secret = get('secret', (e) => readSecret(e, warnings), '');
  const apiToken = get('apiToken', (e) => readSecret(e, warnings), '');
  const config: DaemonConfig = {
    id: get('id', (e) => parseName(e.value, e.field), defaultNodeId(port)),
    host,
    port,
    peers: get('peers', (e) => [...new Set(parseList(e.value, e.field).map((p) => parseAddress(p.value, p.field)))], []),
    secret,
    apiToken,
    limiters: mergeLimiters(layers, maxKeys),
    maxKeys,
    eventsDeniedPerSec: get('eventsDeniedPerSec', (e) => parseInteger(e.value, e.field, 0, 100_000), 10),
    logLevel: get('logLevel', (e) => parseEnum(e.value, e.field, LOG_LEVELS), 'info'),
    gossipIntervalMs: get('gossipInterval', (e) => parseDuration(e.value, e.field, 1, 60_000), 20),
    prefill: get('prefill', (e) => parseNumber(e.value, e.field, 0, 1), DEFAULT_PREFILL),
    suspectAfterMs: get('suspectAfter', (e) => parseDuration(e.value, e.field, 10, 3_600_000), 1000),
    maxClockOffsetMs: get('maxClockOffset', (e) => parseDuration(e.value, e.field, 1, 3_600_000), 500),
    shutdownTimeoutMs: get('shutdownTimeout', (e) => parseDuration(e.value, e.field, 0, 600_000), 5000),
    drainMs: get('drainMs', (e) => parseDuration(e.value, e.field, 0, 600_000), 5000),
    joinTimeoutMs: get('joinTimeout', (e) => parseDuration(e.value, e.field, 0, 3_600_000), 2000),
  };
  const advertise = merged.get('advertise');
  if (advertise !== undefined) config.advertise = parseAddress(advertise.value, advertise.field);
  const allowedHosts = merged.get('allowedHosts');
  if (allowedHosts !== undefined) {
    config.allowedHosts = [...new Set(parseList(allowedHosts.value, allowedHosts.field).map((h) => parseAllowedHost(h.value, h.field)))];
  }
  const respPort = merged.get('resp.port');
  if (respPort !== undefined) config.respPort = parseInteger(respPort.value, respPort.field, 0, 65535);
  Object.assign(config, readRls(merged));
  const adminPort = merged.get('admin.port');
  if (adminPort !== undefined) config.adminPort = parseInteger(adminPort.value, adminPort.field, 0, 65535);
  const adminHost = merged.get('admin.host');
  if (adminHost !== undefined) {
    if (adminPort === undefined) configError(adminHost.field, 'needs an admin port too (--admin-port or admin.port)');
    config.adminHost = parseHost(adminHost.value, adminHost.field);
  }
  Object.assign(config, readDiscovery(merged), { memory: memory.budget });
  const tls = readTls(merged);
  if (tls !== undefined) config.tls = tls;

  if (secret === '' && !isLoopback(host)) {
    // Without a secret anyone who reaches the port could join the mesh and inflate counts.
    const field = merged.get('host')?.field ?? 'host';
    configError(field, `binding ${host} needs a cluster secret (--secret-file, TALLYMESH_SECRET_FILE, TALLYMESH_SECRET or secretFile); without one only loopback addresses are allowed`);
  }
  if (secret === '' && (config.peers.length > 0 || config.peersDns !== undefined)) {
    // Without a secret a node runs on a random one of its own (an empty HMAC key is anyone's): no peer could accept it.
    const field = merged.get('peers')?.field ?? merged.get('peersDns')?.field ?? 'peers';
    configError(field, 'joining peers needs a cluster secret shared by every node (--secret-file, TALLYMESH_SECRET_FILE, TALLYMESH_SECRET or secretFile); without one a node uses a random secret and nobody can join it');
  }
  // Checked last, so a typo elsewhere is reported before the missing limiter it may explain.
  if (config.limiters.length === 0) {
    configError('limiters', 'at least one limiter is required, e.g. --limiter name=api,limit=100,window=60s');
  }
  if (apiToken === '' && !isLoopback(host)) {
    warnings.push(`no API token (--api-token-file): anyone who reaches ${host} can decide, reset keys, change limits (PUT /v1/limiters/:name) and reload the configuration (POST /v1/admin/reload)`);
  }
  if (apiToken !== '' && tls === undefined && !isLoopback(host)) {
    warnings.push(`the API token travels in clear text: ${host} is not loopback and TLS is off (--tls-cert/--tls-key)`);
  }
  if (config.adminPort !== undefined && apiToken !== '' && !isLoopback(config.adminHost ?? host)) {
    warnings.push(`the admin listener on ${config.adminHost ?? host} serves /metrics, /v1/cluster, /v1/events and /ui without the API token: keep its port off untrusted networks`);
  }
  return { config, file, origins, warnings };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** Default node id: the host name plus the port (or the pid when the port is picked at random). */
function defaultNodeId(port: number): string {
  const base = (hostname() || 'node').replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'node';
  const suffix = `-${port === 0 ? process.pid : port}`;
  return base.slice(0, 64 - suffix.length) + suffix;
}

function parseHost(value: unknown, field: string): string {
  const s = typeof value === 'string' ? value.trim().replace(/^\[(.*)\]$/, '$1') : '';
  if (!/^[A-Za-z0-9.:-]+$/.test(s)) return configError(field, `must be a host name or an IP address, got ${showValue(value)}`);
  return s;
}

function fileLayer(path: string, field: string): Layer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return configError(field, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    // The first line of a pretty error ends with "at line L, column C:".
    return configError(field, `${path} is not valid YAML: ${doc.errors[0].message.split('\n')[0].replace(/:$/, '')}`);
  }
  const data: unknown = doc.toJS();
  const layer: Layer = new Map();
  if (data === null || data === undefined) return layer;
  if (typeof data !== 'object' || Array.isArray(data)) return configError(field, `${path} must hold a mapping of settings, got ${showValue(data)}`);
  const dir = dirname(path);
  const known = SETTINGS.map((s) => s.key.split('.')[0]);
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (value === null || value === undefined) continue;
    if (key === 'secret' || key === 'apiToken') {
      configError(key, `secrets are not read inline from the config file; put it in a file and set ${key}File`);
    }
    if (!known.includes(key)) configError(key, `is not a setting (known: ${[...new Set(known)].join(', ')})`);
    if (key === 'tls') {
      if (typeof value !== 'object' || Array.isArray(value)) configError('tls', `must be a mapping with ${TLS_KEYS.join(', ')}, got ${showValue(value)}`);
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) {
        if (!TLS_KEYS.includes(sub)) configError(`tls.${sub}`, `is not a TLS setting (known: ${TLS_KEYS.join(', ')})`);
        if (v !== null && v !== undefined) layer.set(`tls.${sub}`, { value: v, field: `tls.${sub}`, origin: 'file', dir });
      }
    } else if (key === 'resp' || key === 'rls') {
      const subs = key === 'resp' ? ['port'] : ['port', 'config'];
      if (typeof value !== 'object' || Array.isArray(value)) configError(key, `must be a mapping with ${subs.join(', ')}, got ${showValue(value)}`);
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) {
        if (!subs.includes(sub)) configError(`${key}.${sub}`, `is not a ${key.toUpperCase()} setting (known: ${subs.join(', ')})`);
        if (v !== null && v !== undefined) layer.set(`${key}.${sub}`, { value: v, field: `${key}.${sub}`, origin: 'file', dir });
      }
    } else if (key === 'admin') {
      if (typeof value !== 'object' || Array.isArray(value)) configError('admin', `must be a mapping with port and host, got ${showValue(value)}`);
      for (const [sub, v] of Object.entries(value as Record<string, unknown>)) {
        if (sub !== 'port' && sub !== 'host') configError(`admin.${sub}`, 'is not an admin listener setting (known: port, host)');
        if (v !== null && v !== undefined) layer.set(`admin.${sub}`, { value: v, field: `admin.${sub}`, origin: 'file', dir });
      }
    } else if (key === 'limiters') {
      if (!Array.isArray(value)) configError('limiters', `must be a list of limiters, got ${showValue(value)}`);
      layer.set(key, { value: value.map((v, i) => ({ raw: v, field: `limiters[${i}]` })), field: key, origin: 'file', dir });
    } else {
      layer.set(key === 'secretFile' ? 'secret' : key === 'apiTokenFile' ? 'apiToken' : key, {
        value: key.endsWith('File') ? { file: value } : value,
        field: key,
        origin: 'file',
        dir,
      });
    }
  }
  return layer;
}

function envLayer(env: Record<string, string | undefined>, cwd: string, warnings: string[]): Layer {
  const layer: Layer = new Map();
  const set = (key: string, value: unknown, field: string) => layer.set(key, { value, field, origin: 'env', dir: cwd });
  for (const s of SETTINGS) {
    const v = nonEmpty(env[s.env]);
    if (v === undefined) continue;
    if (s.key === 'limiters') set('limiters', specs(v.split(';').filter((x) => x.trim() !== ''), s.env), s.env);
    else if (s.key === 'secretFile') set('secret', { file: v }, s.env);
    else if (s.key === 'apiTokenFile') set('apiToken', { file: v }, s.env);
    else set(s.key, v, s.env);
  }
  for (const [inline, file, key] of [
    ['TALLYMESH_SECRET', 'TALLYMESH_SECRET_FILE', 'secret'],
    ['TALLYMESH_API_TOKEN', 'TALLYMESH_API_TOKEN_FILE', 'apiToken'],
  ]) {
    const v = nonEmpty(env[inline]);
    if (v === undefined) continue;
    if (nonEmpty(env[file]) !== undefined) configError(inline, `set either ${inline} or ${file}, not both`);
    set(key, { inline: v }, inline);
  }
  const known = new Set([...SETTINGS.map((s) => s.env), ...EXTRA_ENV]);
  for (const name of Object.keys(env)) {
    // Test and bench knobs share the prefix; anything else is probably a typo.
    if (name.startsWith('TALLYMESH_') && !known.has(name) && !/^TALLYMESH_(SIM|BENCH|TEST)_/.test(name)) {
      warnings.push(`unknown environment variable ${name} is ignored`);
    }
  }
  return layer;
}

function flagLayer(flags: ConfigFlags, cwd: string): Layer {
  const layer: Layer = new Map();
  for (const s of SETTINGS) {
    const v = flags[s.flag];
    if (v === undefined) continue;
    const field = kebab(s.flag);
    const entry = (value: unknown): Entry => ({ value, field, origin: 'flag', dir: cwd });
    if (s.key === 'limiters') layer.set('limiters', entry(specs(Array.isArray(v) ? v : [String(v)], field)));
    else if (s.key === 'secretFile') layer.set('secret', entry({ file: v }));
    else if (s.key === 'apiTokenFile') layer.set('apiToken', entry({ file: v }));
    else layer.set(s.key, entry(v));
  }
  return layer;
}

/** Parses `--limiter`/`TALLYMESH_LIMITERS` specs into the records a YAML file holds. */
function specs(list: string[], field: string): Array<{ raw: unknown; field: string }> {
  return list.map((spec, i) => ({ raw: parseLimiterSpec(spec, `${field}[${i}]`), field: `${field}[${i}]` }));
}

/** Validates every layer's limiters, then merges them by name (higher layers win). */
function mergeLimiters(layers: Layer[], maxKeys: number): LimiterOptions[] {
  const byName = new Map<string, LimiterOptions>();
  for (const layer of layers) {
    const e = layer.get('limiters');
    if (e === undefined) continue;
    const seen = new Set<string>();
    for (const { raw, field } of e.value as Array<{ raw: unknown; field: string }>) {
      const limiter = parseLimiter(raw, field, maxKeys);
      if (seen.has(limiter.name)) configError(`${field}.name`, `limiter "${limiter.name}" is defined twice`);
      seen.add(limiter.name);
      byName.set(limiter.name, limiter);
    }
  }
  return [...byName.values()];
}
