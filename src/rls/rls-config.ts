/**
 * The rate limit configuration in envoyproxy/ratelimit's YAML format: one
 * domain per YAML document, each a tree of descriptors (`key`, optional
 * `value`, optional `rate_limit`, `shadow_mode`, nested `descriptors`).
 * {@link parseRlsDocuments} validates a file's text into {@link RlsDomain}s;
 * {@link readRlsConfig} reads a file (several documents, `---` apart) or a
 * directory of `*.yaml`/`*.yml` files, as envoyproxy/ratelimit reads its
 * runtime directory. Every error names the file, the document and the path
 * inside it: `ratelimit.yaml (document 2): descriptors[0].rate_limit.unit`.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { codes } from '../errors.js';
import { describeConfigValue } from '../validate.js';

/** The time units of envoyproxy/ratelimit's `rate_limit.unit`, in the order of their proto enum values (1…4). */
export const RLS_UNITS = ['second', 'minute', 'hour', 'day'] as const;

/** One of {@link RLS_UNITS}. */
export type RlsUnit = (typeof RLS_UNITS)[number];

/** The window of each unit, in ms: a tallymesh limiter slides over one unit. */
export const UNIT_MS: Readonly<Record<RlsUnit, number>> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The largest `requests_per_unit` (the proto's uint32). */
export const MAX_REQUESTS_PER_UNIT = 0xffff_ffff;

/** Bytes of UTF-8 a domain, a descriptor key or a value may hold, in the config and in a request. */
export const MAX_DESCRIPTOR_TEXT_BYTES = 256;

/** Levels of nested descriptors, and so entries of a request descriptor that can match. */
export const MAX_DESCRIPTOR_DEPTH = 16;

/** A configured limit: `requests_per_unit` per `unit` (0 refuses every request). */
export interface RlsRateLimit {
  unit: RlsUnit;
  requestsPerUnit: number;
  /** `rate_limit.name`, reported back in `current_limit.name` ('' when not given). */
  name: string;
}

/** One configured descriptor: a node of a domain's tree. */
export interface RlsRule {
  key: string;
  /** Absent: matches any value of `key` (the key's default). */
  value?: string;
  /** The limit that applies when a request's last entry lands here. */
  rateLimit?: RlsRateLimit;
  /** `rate_limit: {unlimited: true}`: matches, never counts, always OK. */
  unlimited: boolean;
  /** Decides and reports, but answers OK. */
  shadowMode: boolean;
  /** The next level: requests with more entries continue here. */
  children: RlsLevel;
  /** Where it was written, for messages: `ratelimit.yaml (document 1): descriptors[0]`. */
  origin: string;
}

/** The descriptors of one level, by key: the value-specific ones and the key's default. */
export type RlsLevel = Map<string, { byValue: Map<string, RlsRule>; any?: RlsRule }>;

/** A configured domain. */
export interface RlsDomain {
  domain: string;
  descriptors: RlsLevel;
  /** File and document it came from. */
  origin: string;
}

/** A loaded configuration: every domain and the files read. */
export interface RlsConfig {
  domains: RlsDomain[];
  files: string[];
}

const DOMAIN_FIELDS = ['domain', 'descriptors'];
const DESCRIPTOR_FIELDS = ['key', 'value', 'rate_limit', 'descriptors', 'shadow_mode', 'detailed_metric'];
const RATE_LIMIT_FIELDS = ['unit', 'requests_per_unit', 'unlimited', 'name'];

function fail(where: string, problem: string): never {
  throw new codes.TALLYMESH_ERR_CONFIG_INVALID(where, problem);
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFields(raw: Record<string, unknown>, known: string[], where: string, what: string, sep = '.'): void {
  for (const k of Object.keys(raw)) {
    if (k === 'replaces') fail(`${where}${sep}${k}`, 'is not supported by tallymesh (give the more specific descriptor its own limit instead)');
    if (!known.includes(k)) fail(`${where}${sep}${k}`, `is not a ${what} field (known: ${known.join(', ')})`);
  }
}

/** A non-empty string (YAML numbers and booleans are taken as written, as the Go loader does) of at most MAX_DESCRIPTOR_TEXT_BYTES. */
function text(v: unknown, where: string): string {
  const s = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
  if (typeof s !== 'string' || s === '') return fail(where, `must be a non-empty string, got ${describeConfigValue(v)}`);
  if (Buffer.byteLength(s) > MAX_DESCRIPTOR_TEXT_BYTES) fail(where, `must be at most ${MAX_DESCRIPTOR_TEXT_BYTES} bytes, got ${Buffer.byteLength(s)}`);
  return s;
}

function flag(v: unknown, where: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') fail(where, `must be true or false, got ${describeConfigValue(v)}`);
  return v;
}

function parseRateLimit(raw: unknown, where: string): { rateLimit?: RlsRateLimit; unlimited: boolean } {
  if (!isMapping(raw)) return fail(where, `must be a mapping with unit and requests_per_unit, got ${describeConfigValue(raw)}`);
  checkFields(raw, RATE_LIMIT_FIELDS, where, 'rate_limit');
  const name = raw.name === undefined || raw.name === null ? '' : text(raw.name, `${where}.name`);
  if (flag(raw.unlimited, `${where}.unlimited`)) {
    for (const k of ['unit', 'requests_per_unit']) if (raw[k] !== undefined) fail(`${where}.${k}`, 'must not be set on an unlimited rate_limit');
    return { unlimited: true };
  }
  if (raw.unit === undefined) fail(`${where}.unit`, `is required (${RLS_UNITS.join(', ')})`);
  const unit = typeof raw.unit === 'string' ? raw.unit.toLowerCase() : raw.unit;
  if (!(RLS_UNITS as readonly unknown[]).includes(unit)) fail(`${where}.unit`, `must be one of ${RLS_UNITS.join(', ')}, got ${describeConfigValue(raw.unit)}`);
  const n = raw.requests_per_unit;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_REQUESTS_PER_UNIT) {
    fail(`${where}.requests_per_unit`, `must be an integer from 0 to ${MAX_REQUESTS_PER_UNIT}, got ${describeConfigValue(n)}`);
  }
  return { rateLimit: { unit: unit as RlsUnit, requestsPerUnit: n, name }, unlimited: false };
}

function parseLevel(raw: unknown, where: string, depth: number): RlsLevel {
  const level: RlsLevel = new Map();
  if (raw === undefined || raw === null) return level;
  if (!Array.isArray(raw)) return fail(where, `must be a list of descriptors, got ${describeConfigValue(raw)}`);
  if (depth > MAX_DESCRIPTOR_DEPTH) fail(where, `nests deeper than ${MAX_DESCRIPTOR_DEPTH} levels`);
  raw.forEach((d: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!isMapping(d)) fail(at, `must be a mapping with key, value, rate_limit, descriptors, got ${describeConfigValue(d)}`);
    checkFields(d, DESCRIPTOR_FIELDS, at, 'descriptor');
    const key = text(d.key, `${at}.key`);
    const value = d.value === undefined || d.value === null ? undefined : text(d.value, `${at}.value`);
    // envoyproxy/ratelimit reads a trailing * as a prefix match; tallymesh matches values exactly and says so rather than count differently.
    if (value?.endsWith('*')) fail(`${at}.value`, 'wildcard values (a trailing *) are not supported by tallymesh');
    flag(d.detailed_metric, `${at}.detailed_metric`); // metrics detail in envoyproxy/ratelimit; accepted, no effect here
    const limit = d.rate_limit === undefined || d.rate_limit === null ? { unlimited: false } : parseRateLimit(d.rate_limit, `${at}.rate_limit`);
    const rule: RlsRule = {
      key,
      unlimited: limit.unlimited,
      shadowMode: flag(d.shadow_mode, `${at}.shadow_mode`),
      children: parseLevel(d.descriptors, `${at}.descriptors`, depth + 1),
      origin: at,
    };
    if (value !== undefined) rule.value = value;
    if (limit.rateLimit !== undefined) rule.rateLimit = limit.rateLimit;
    let slot = level.get(key);
    if (slot === undefined) level.set(key, (slot = { byValue: new Map() }));
    const twin = value === undefined ? slot.any : slot.byValue.get(value);
    if (twin !== undefined) {
      const what = value === undefined ? `key "${key}" without a value` : `key "${key}" with value "${value}"`;
      fail(`${at}`, `duplicates ${twin.origin.slice(twin.origin.lastIndexOf(' ') + 1)}: ${what} is defined twice at this level`);
    }
    if (value === undefined) slot.any = rule;
    else slot.byValue.set(value, rule);
  });
  return level;
}

/**
 * Validates the YAML documents of one file (`source` names it in errors),
 * each a domain.
 *
 * @throws TALLYMESH_ERR_CONFIG_INVALID naming the file, document and path.
 * @example
 * parseRlsDocuments('domain: edge\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: second, requests_per_unit: 10}\n', 'ratelimit.yaml');
 */
export function parseRlsDocuments(yamlText: string, source: string): RlsDomain[] {
  const docs = parseAllDocuments(yamlText);
  if (!Array.isArray(docs)) return fail(source, 'is not valid YAML');
  const domains: RlsDomain[] = [];
  docs.forEach((doc, i) => {
    const origin = docs.length > 1 ? `${source} (document ${i + 1})` : source;
    if (doc.errors.length > 0) fail(origin, `is not valid YAML: ${doc.errors[0].message.split('\n')[0].replace(/:$/, '')}`);
    const data: unknown = doc.toJS();
    if (data === null || data === undefined) return; // an empty document, e.g. after a trailing ---
    if (!isMapping(data)) fail(origin, `must be a mapping with domain and descriptors, got ${describeConfigValue(data)}`);
    checkFields(data, DOMAIN_FIELDS, origin, 'domain', ': ');
    domains.push({
      domain: text(data.domain, `${origin}: domain`),
      descriptors: parseLevel(data.descriptors, `${origin}: descriptors`, 1),
      origin,
    });
  });
  return domains;
}

/**
 * Reads the configuration at `path`: a YAML file (one domain per document) or
 * a directory whose `*.yaml`/`*.yml` files are read in name order. A domain
 * defined twice is an error, as in envoyproxy/ratelimit.
 *
 * @throws TALLYMESH_ERR_CONFIG_INVALID naming `field` (the setting) when the
 *   path cannot be read, else the file and path at fault.
 * @example
 * const { domains } = readRlsConfig('/etc/tallymesh/ratelimit.yaml', '--rls-config');
 */
export function readRlsConfig(path: string, field: string): RlsConfig {
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(path, f))
      : [path];
  } catch (err) {
    return fail(field, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (files.length === 0) fail(field, `${path} holds no .yaml or .yml file`);
  const domains: RlsDomain[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    let yamlText: string;
    try {
      yamlText = readFileSync(file, 'utf8');
    } catch (err) {
      return fail(field, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    for (const d of parseRlsDocuments(yamlText, file)) {
      const first = seen.get(d.domain);
      if (first !== undefined) fail(`${d.origin}: domain`, `"${d.domain}" is already defined in ${first}`);
      seen.set(d.domain, d.origin);
      domains.push(d);
    }
  }
  return { domains, files };
}
