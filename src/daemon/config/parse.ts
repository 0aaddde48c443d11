/**
 * Value parsers for the daemon configuration: durations, integers, ratios,
 * `host:port` addresses and `--limiter` specs. Each takes the raw value (a
 * string from a flag or an environment variable, or whatever YAML produced)
 * and the name of the field it came from, and throws
 * `TALLYMESH_ERR_CONFIG_INVALID` naming that field when the value is wrong.
 *
 * @module
 */
import { codes } from '../../errors.js';
import type { LimiterOptions, OverflowPolicy, PartitionPolicy } from '../../limiter/limiter.js';
import { allowedHostPattern } from '../../mesh/port/port-guard.js';
import { describeConfigValue as showValue, isAddress, MAX_BUCKETS, MAX_LIMIT, MAX_WINDOW_MS, nameOption, parseDuration } from '../../validate.js';

/** Throws the registry's config error for `field`. */
export function configError(field: string, problem: string): never {
  throw new codes.TALLYMESH_ERR_CONFIG_INVALID(field, problem);
}

// Config values are shown, and durations parsed, by src/validate.ts: the sim entry and the CLI use them too.
export { describeConfigValue as showValue, formatMs, parseDuration } from '../../validate.js';

/** Parses an integer in [min, max] from a number or a decimal string (`1000000`, `1_000_000`). */
export function parseInteger(value: unknown, field: string, min: number, max: number): number {
  let n: number = NaN;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^-?\d[\d_]*$/.test(value.trim())) n = Number(value.trim().replace(/_/g, ''));
  if (!Number.isInteger(n)) return configError(field, `must be an integer, got ${showValue(value)}`);
  if (n < min || n > max) return configError(field, `must be an integer from ${min} to ${max}, got ${showValue(value)}`);
  return n;
}

/** Parses a number in [min, max] (a probability, a ratio). */
export function parseNumber(value: unknown, field: string, min: number, max: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) return configError(field, `must be a number from ${min} to ${max}, got ${showValue(value)}`);
  return n;
}

/** Requires a non-empty string without surrounding whitespace. */
export function parseString(value: unknown, field: string): string {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string' || value.trim() === '') return configError(field, `must be a non-empty string, got ${showValue(value)}`);
  return value.trim();
}

/** Requires one of `allowed`. */
export function parseEnum<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value.trim() as T)) {
    return configError(field, `must be one of ${allowed.join(', ')}, got ${showValue(value)}`);
  }
  return value.trim() as T;
}

/** Requires a node or limiter name: 1–64 of [A-Za-z0-9_.-], starting with a letter or digit. */
export function parseName(value: unknown, field: string): string {
  const s = typeof value === 'string' ? value.trim() : value;
  try {
    return nameOption(s, field);
  } catch {
    return configError(field, `must be 1-64 characters of [A-Za-z0-9_.-] starting with a letter or digit, got ${showValue(value)}`);
  }
}

/** Requires `host:port` (IPv6 in brackets) with a port from 1 to 65535: the syntax of `isAddress` in `src/validate.ts`. */
export function parseAddress(value: unknown, field: string): string {
  const s = typeof value === 'string' ? value.trim() : '';
  if (!isAddress(s)) {
    return configError(field, `must be host:port (IPv6 in brackets) with a port from 1 to 65535, got ${showValue(value)}`);
  }
  return s;
}

/** Requires an `allowedHosts` entry: a host name, an IP address, or `.domain` (the domain and its subdomains); no port. */
export function parseAllowedHost(value: unknown, field: string): string {
  const pattern = typeof value === 'string' ? allowedHostPattern(value) : null;
  if (pattern === null) {
    return configError(field, `must be a host name, an IP address or .domain (no port: Host is matched by name), got ${showValue(value)}`);
  }
  return pattern;
}

/**
 * Parses a list given as a YAML sequence or as a comma-separated string
 * (`a:1,b:2`); repeated flags arrive as an array of such strings.
 */
export function parseList(value: unknown, field: string): Array<{ value: unknown; field: string }> {
  if (!Array.isArray(value) && typeof value !== 'string') return configError(field, `must be a list or a comma-separated string, got ${showValue(value)}`);
  const parts: unknown[] = [];
  const items: unknown[] = Array.isArray(value) ? value : [value];
  for (const item of items) {
    if (typeof item === 'string') parts.push(...item.split(',').map((s) => s.trim()).filter((s) => s !== ''));
    else if (item !== null && item !== undefined) parts.push(item);
  }
  return parts.map((v, i) => ({ value: v, field: `${field}[${i}]` }));
}

/** Every field a limiter accepts, in YAML and in a `--limiter` spec. */
export const LIMITER_FIELDS = ['name', 'limit', 'window', 'buckets', 'overflow', 'partition', 'maxLag', 'slo', 'lagAware'] as const;

/** A switch: YAML `true`/`false`, or `on`/`off`/`true`/`false` in a spec or the environment. */
export function parseSwitch(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  return configError(field, `must be on or off (true or false), got ${showValue(value)}`);
}

/**
 * Parses a `--limiter` spec (`name=api,limit=100,window=60s[,buckets=60][,overflow=deny][,partition=share][,maxLag=200ms][,slo=1.05][,lagAware=off]`)
 * into the same record a YAML limiter entry is.
 *
 * @example parseLimiterSpec('name=api,limit=100,window=60s', '--limiter[0]') // { name: 'api', limit: '100', window: '60s' }
 */
export function parseLimiterSpec(spec: unknown, field: string): Record<string, unknown> {
  if (typeof spec !== 'string' || spec.trim() === '') {
    return configError(field, `must be a spec like name=api,limit=100,window=60s, got ${showValue(spec)}`);
  }
  const out: Record<string, unknown> = {};
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return configError(field, `"${part.trim()}" is not key=value (expected name=api,limit=100,window=60s)`);
    const key = part.slice(0, eq).trim();
    if (key in out) return configError(`${field}.${key}`, 'is given twice');
    out[key] = part.slice(eq + 1).trim();
  }
  return out;
}

/**
 * Validates one limiter record (from YAML or a parsed spec) into
 * {@link LimiterOptions}; `field` is its position, e.g. `limiters[1]`.
 */
export function parseLimiter(raw: unknown, field: string, maxKeys: number): LimiterOptions {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return configError(field, `must be a mapping with ${LIMITER_FIELDS.join(', ')}, got ${showValue(raw)}`);
  }
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!(LIMITER_FIELDS as readonly string[]).includes(key)) {
      return configError(`${field}.${key}`, `is not a limiter field (known: ${LIMITER_FIELDS.join(', ')})`);
    }
  }
  for (const key of ['name', 'limit', 'window'] as const) {
    if (r[key] === undefined || r[key] === null || r[key] === '') return configError(`${field}.${key}`, 'is required');
  }
  const windowMs = parseDuration(r.window, `${field}.window`, 1, MAX_WINDOW_MS);
  const out: LimiterOptions = {
    name: parseName(r.name, `${field}.name`),
    limit: parseInteger(r.limit, `${field}.limit`, 1, MAX_LIMIT),
    windowMs,
    // The node-wide bound (maxKeys) is the one that binds; each limiter may use all of it.
    maxKeys,
    onOverflow: r.overflow === undefined ? 'allow' : parseEnum<OverflowPolicy>(r.overflow, `${field}.overflow`, ['allow', 'deny']),
  };
  if (r.partition !== undefined) out.partition = parseEnum<PartitionPolicy>(r.partition, `${field}.partition`, ['local', 'share']);
  if (r.slo !== undefined) out.sloRatio = parseNumber(r.slo, `${field}.slo`, 1, 100);
  if (r.lagAware !== undefined) out.lagAware = parseSwitch(r.lagAware, `${field}.lagAware`);
  if (r.maxLag !== undefined) out.maxLagMs = parseDuration(r.maxLag, `${field}.maxLag`, 1, 3_600_000);
  if (r.buckets !== undefined) out.buckets = parseInteger(r.buckets, `${field}.buckets`, 1, Math.min(MAX_BUCKETS, windowMs));
  return out;
}
