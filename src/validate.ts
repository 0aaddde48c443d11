/**
 * Eager validation of options and arguments, throwing registry errors that
 * name the offending option. Validation happens at construction and at the
 * API boundary, never on the network path.
 *
 * Owns the option rules every folder shares (integer ranges, names, keys,
 * costs, bucket defaults, addresses, durations). Imports only the error registry, so every folder
 * may import it, `transport/` included.
 *
 * @module
 */
import { codes } from './errors.js';

/** Longest key accepted, in bytes of UTF-8. */
export const MAX_KEY_BYTES = 256;
/** Most buckets one window may have. */
export const MAX_BUCKETS = 600;
/** Fewest buckets a window gets by default. */
export const MIN_DEFAULT_BUCKETS = 10;
/** Largest limit accepted (counts stay exact integers far below 2^53). */
export const MAX_LIMIT = 1e12;
/** Longest window accepted: 31 days. */
export const MAX_WINDOW_MS = 31 * 24 * 3600 * 1000;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function describe(value: unknown, maxChars: number, array: string): string {
  if (typeof value === 'string') return JSON.stringify(value.length > maxChars ? `${value.slice(0, maxChars)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? array : `a ${typeof value}`;
}

/**
 * A value as an option error shows it: strings quoted and cut at 40
 * characters, numbers and booleans as written, other types named.
 *
 * @example describeValue([1]) // 'an array'
 */
export function describeValue(value: unknown): string {
  return describe(value, 40, 'an array');
}

/**
 * A value as a configuration error shows it (YAML, flags, environment):
 * strings quoted and cut at 60 characters, sequences called lists.
 *
 * @example describeConfigValue([1]) // 'a list'
 */
export function describeConfigValue(value: unknown): string {
  return describe(value, 60, 'a list');
}

/**
 * Requires an integer within [min, max]; TypeError (`TALLYMESH_ERR_OPTION_TYPE`)
 * when not a number, RangeError (`TALLYMESH_ERR_OPTION_RANGE`) when out of bounds.
 *
 * @example integerOption('limit', options.limit, 1, MAX_LIMIT)
 */
export function integerOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new codes.TALLYMESH_ERR_OPTION_TYPE(name, 'a number', describeValue(value));
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(name, `an integer from ${min} to ${max}`, describeValue(value));
  }
  return value;
}

/**
 * Requires a limiter or node name: 1–64 of [A-Za-z0-9_.-], starting with a letter or digit.
 *
 * @example nameOption(options.nodeId, 'nodeId')
 */
export function nameOption(value: unknown, option = 'name'): string {
  if (typeof value !== 'string') throw new codes.TALLYMESH_ERR_OPTION_TYPE(option, 'a string', describeValue(value));
  if (!NAME_RE.test(value)) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(option, '1-64 characters of [A-Za-z0-9_.-] starting with a letter or digit', describeValue(value));
  }
  return value;
}

/**
 * Requires one of the listed strings.
 *
 * @example enumOption('onOverflow', options.onOverflow, ['allow', 'deny'])
 */
export function enumOption<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(name, `one of ${allowed.join(', ')}`, describeValue(value));
  }
  return value as T;
}

/** Requires a boolean. */
export function booleanOption(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new codes.TALLYMESH_ERR_OPTION_TYPE(name, 'a boolean', describeValue(value));
  return value;
}

/** Requires a finite number from `min` to `max`. */
export function fractionOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new codes.TALLYMESH_ERR_OPTION_TYPE(name, 'a number', describeValue(value));
  if (value < min || value > max) throw new codes.TALLYMESH_ERR_OPTION_RANGE(name, `from ${min} to ${max}`, describeValue(value));
  return value;
}

/** Validates a ratio bound: a finite number from 1 to 100 (1.05: 5 % over). */
export function ratioOption(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new codes.TALLYMESH_ERR_OPTION_TYPE(name, 'a number', describeValue(value));
  if (value < 1 || value > 100) throw new codes.TALLYMESH_ERR_OPTION_RANGE(name, 'from 1 to 100', describeValue(value));
  return value;
}

/** Default bucket count for a window: one per second, clamped to [10, 600]. */
export function defaultBuckets(windowMs: number): number {
  return Math.min(MAX_BUCKETS, Math.max(MIN_DEFAULT_BUCKETS, Math.round(windowMs / 1000)));
}

/** `String.prototype.isWellFormed` (ES2024, Node ≥ 20), which the ES2022 lib this project compiles against does not declare. */
type WellFormedCheck = string & { isWellFormed(): boolean };

/**
 * True when `value` is well-formed Unicode: no lone surrogate, so it has
 * exactly one UTF-8 form and survives the wire unchanged.
 *
 * @example isWellFormed('user:😀') // true — isWellFormed('user:\ud800') is false
 */
export function isWellFormed(value: string): boolean {
  return (value as WellFormedCheck).isWellFormed();
}

/**
 * Validates a rate-limit key: a non-empty string, well-formed Unicode, at
 * most {@link MAX_KEY_BYTES} of UTF-8. Hot path: `isWellFormed` answers at
 * once for a one-byte (Latin-1) string, and the byte count is taken only for
 * long keys.
 *
 * @example checkKey('user:42')
 */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new codes.TALLYMESH_ERR_KEY_INVALID(describeValue(key));
  // A lone surrogate has no UTF-8 form: on the wire it would become U+FFFD, another key on every peer (issue 9, defect 5).
  if (!isWellFormed(key)) throw new codes.TALLYMESH_ERR_KEY_MALFORMED(describeValue(key));
  // A UTF-16 code unit encodes to at most 3 bytes of UTF-8.
  if (key.length * 3 > MAX_KEY_BYTES) {
    const bytes = Buffer.byteLength(key, 'utf8');
    if (bytes > MAX_KEY_BYTES) throw new codes.TALLYMESH_ERR_KEY_TOO_LONG(MAX_KEY_BYTES, bytes);
  }
}

/** Validates a cost against the limit in force. */
export function checkCost(cost: unknown, limit: number): asserts cost is number {
  if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 1 || cost > limit) {
    throw new codes.TALLYMESH_ERR_COST_INVALID(limit, describeValue(cost));
  }
}

/** `host:port` with a host name or IPv4 address, or an IPv6 address in brackets; the port range is checked apart. */
const ADDRESS_RE = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * The one address syntax of peers, `advertise` and the daemon config:
 * `host:port`, an IPv6 host in brackets, a port from 1 to 65535.
 *
 * @example isAddress('[::1]:7070') // true — isAddress('::1:7070') is false
 */
export function isAddress(value: string): boolean {
  const m = ADDRESS_RE.exec(value);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

/**
 * Writes `host:port` in the syntax {@link isAddress} reads: an IPv6 host goes
 * in brackets (unless it already is).
 *
 * @example formatAddress('::1', 7070) // '[::1]:7070'
 */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration as the daemon config and the CLI's flags write it:
 * `500ms`, `60s`, `1.5s`, `5m`, `1h`, or a plain number of milliseconds
 * (`250` or `"250"`). The result must be a whole number of ms within
 * [min, max]; otherwise throws `TALLYMESH_ERR_CONFIG_INVALID` naming `field`.
 *
 * @example parseDuration('1.5s', 'gossipInterval') // 1500
 */
export function parseDuration(value: unknown, field: string, min = 0, max = MAX_WINDOW_MS): number {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && DURATION_RE.test(value.trim())) {
    const [, amount, unit] = DURATION_RE.exec(value.trim()) as RegExpExecArray;
    ms = Number(amount) * UNIT_MS[unit ?? 'ms'];
  } else {
    throw new codes.TALLYMESH_ERR_CONFIG_INVALID(
      field,
      `must be a duration like 60s (or 500ms, 5m, 1h, or a number of ms), got ${describeConfigValue(value)}`,
    );
  }
  // 0.1s is 100 ms exactly; 0.0005s is not a whole ms and is refused rather than rounded.
  const rounded = Math.round(ms * 1e6) / 1e6;
  if (!Number.isInteger(rounded)) {
    throw new codes.TALLYMESH_ERR_CONFIG_INVALID(field, `must be a whole number of milliseconds, got ${describeConfigValue(value)}`);
  }
  if (rounded < min || rounded > max) {
    throw new codes.TALLYMESH_ERR_CONFIG_INVALID(field, `must be from ${formatMs(min)} to ${formatMs(max)}, got ${describeConfigValue(value)}`);
  }
  return rounded;
}

/**
 * Formats ms the way durations are written in config: `20ms`, `5s`, `31d`…
 *
 * @example formatMs(90_000) // '90s'
 */
export function formatMs(ms: number): string {
  if (ms >= 86_400_000 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
