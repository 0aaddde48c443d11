/**
 * What `ShouldRateLimit` means: validate the request against the bounds,
 * match each descriptor in its domain (rls-match.ts), count the match on the
 * tallymesh limiter of its (domain, unit, limit) — a sliding window one unit
 * long — and answer `overall_code` and one status per descriptor. No gRPC
 * here: rls-server.ts decodes and encodes, the daemon hands over the decision
 * path as {@link RlsDecisions}.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { codes } from '../errors.js';
import type { Decision } from '../limiter/limiter.js';
import { isWellFormed, MAX_KEY_BYTES } from '../validate.js';
import { MAX_DESCRIPTOR_TEXT_BYTES, RLS_UNITS, UNIT_MS, type RlsConfig, type RlsDomain, type RlsLevel, type RlsUnit } from './rls-config.js';
import { matchDescriptor, type RlsEntry } from './rls-match.js';

/** The proto's `RateLimitResponse.Code` values. */
export const CODE = { UNKNOWN: 0, OK: 1, OVER_LIMIT: 2 } as const;

/** `limit_remaining` of an unlimited descriptor (MaxUint32, as envoyproxy/ratelimit answers). */
export const UNLIMITED_REMAINING = 0xffff_ffff;

/** A limiter the service needs: the same name means the same window on every node. */
export interface RlsLimiterSpec {
  name: string;
  limit: number;
  windowMs: number;
}

/** The decision path (the daemon's mesh and Decider behind it). Registry errors thrown here end the call (MESH_CLOSED: UNAVAILABLE). */
export interface RlsDecisions {
  /** Registers the limiter (or finds it) so that its counts replicate. */
  ensure(spec: RlsLimiterSpec): void;
  /** Counts `cost` hits of `key` when they fit. */
  consume(limiter: string, key: string, cost: number): Decision;
  /** The decision a cost of 1 would get, without counting. */
  peek(limiter: string, key: string): Decision;
}

/** Bounds of one request (defaults in docs/envoy.md). */
export interface RlsRequestBounds {
  /** Descriptors per request. */
  maxDescriptors: number;
  /** Entries per descriptor. */
  maxEntries: number;
  /** Limiters created for request `limit` overrides, node-wide (each holds keys and replicates). */
  maxOverrideLimiters: number;
}

/** Default request bounds: far above what Envoy's route actions produce. */
export const DEFAULT_RLS_REQUEST_BOUNDS: RlsRequestBounds = { maxDescriptors: 64, maxEntries: 16, maxOverrideLimiters: 256 };

/** How a descriptor was answered: the label of `tallymesh_rls_descriptors_total`. */
export type DescriptorResult = 'ok' | 'over_limit' | 'shadow_over_limit' | 'unlimited' | 'no_match' | 'unknown_domain';

/** Every {@link DescriptorResult}, for metric labels. */
export const DESCRIPTOR_RESULTS: readonly DescriptorResult[] = ['ok', 'over_limit', 'shadow_over_limit', 'unlimited', 'no_match', 'unknown_domain'];

/** A `RateLimitRequest` as @grpc/proto-loader decodes it (keepCase, defaults, enums and longs as numbers). */
export interface RateLimitRequest {
  domain: string;
  descriptors: Array<{ entries: RlsEntry[]; limit: { requests_per_unit: number; unit: number } | null }>;
  hits_addend: number;
}

/** A `RateLimitResponse.DescriptorStatus`. */
export interface DescriptorStatus {
  code: number;
  current_limit: { requests_per_unit: number; unit: number; name: string } | null;
  limit_remaining: number;
  duration_until_reset: { seconds: number; nanos: number } | null;
}

/** A `RateLimitResponse`. */
export interface RateLimitResponse {
  overall_code: number;
  statuses: DescriptorStatus[];
}

/** Options of {@link RlsService}. */
export interface RlsServiceOptions {
  config: RlsConfig;
  decisions: RlsDecisions;
  bounds?: Partial<RlsRequestBounds>;
  /** Called the first time a domain that is not configured is asked for; `capped` once no further ones will be reported. */
  onUnknownDomain?: (domain: string, capped: boolean) => void;
}

/** Unknown domains remembered (and so logged once each) before the service stops remembering. */
const MAX_UNKNOWN_DOMAINS = 1000;

/** The limit a descriptor is decided against. */
interface Applied {
  unit: RlsUnit;
  requestsPerUnit: number;
  name: string;
  shadowMode: boolean;
}

function invalid(problem: string): never {
  throw new codes.TALLYMESH_ERR_RLS_INVALID_REQUEST(problem);
}

/** Checks a domain, key or value: well-formed, at most MAX_DESCRIPTOR_TEXT_BYTES, non-empty unless `emptyOk`. */
function checkText(s: unknown, what: string, emptyOk: boolean): asserts s is string {
  if (typeof s !== 'string') invalid(`${what} must be a string`);
  if (s === '' && !emptyOk) invalid(`${what} must not be empty`);
  if (s.length * 3 > MAX_DESCRIPTOR_TEXT_BYTES && Buffer.byteLength(s) > MAX_DESCRIPTOR_TEXT_BYTES) {
    invalid(`${what} must be at most ${MAX_DESCRIPTOR_TEXT_BYTES} bytes of UTF-8, got ${Buffer.byteLength(s)}`);
  }
  if (!isWellFormed(s)) invalid(`${what} must be well-formed Unicode`);
}

/**
 * The limiter of (domain, unit, limit): `rls.<u><limit>.<domain>` with the
 * domain cut to fit 64 characters of `[A-Za-z0-9_.-]`. Two domains may share
 * a name after that; the keys carry the whole domain, so their counts stay apart.
 */
export function limiterName(domain: string, unit: RlsUnit, requestsPerUnit: number): string {
  const prefix = `rls.${unit[0]}${requestsPerUnit}.`;
  return prefix + domain.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64 - prefix.length);
}

/**
 * The key a descriptor counts under: its domain and every entry, JSON-encoded
 * so that no two descriptors share one; past the key bound, a SHA-256 of it.
 */
export function descriptorKey(domain: string, entries: readonly RlsEntry[]): string {
  const parts: string[] = [domain];
  for (const e of entries) parts.push(e.key, e.value);
  const key = JSON.stringify(parts);
  if (key.length * 3 <= MAX_KEY_BYTES || Buffer.byteLength(key) <= MAX_KEY_BYTES) return key;
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('base64url')}`;
}

function duration(ms: number): { seconds: number; nanos: number } {
  const whole = Math.max(0, Math.ceil(ms));
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1_000_000 };
}

/**
 * The Envoy rate limit service's decisions.
 *
 * @example
 * const service = new RlsService({ config, decisions });
 * service.shouldRateLimit({ domain: 'edge', descriptors: [{ entries: [{ key: 'remote_address', value: '10.0.0.1' }], limit: null }], hits_addend: 0 });
 * // { overall_code: 1, statuses: [{ code: 1, current_limit: { requests_per_unit: 10, unit: 1, name: '' }, limit_remaining: 9, ... }] }
 */
export class RlsService {
  readonly bounds: RlsRequestBounds;
  /** Descriptors answered, by result (read by the daemon's metrics). */
  readonly results = new Map<DescriptorResult, number>(DESCRIPTOR_RESULTS.map((r) => [r, 0]));
  #domains = new Map<string, RlsDomain>();
  #decisions: RlsDecisions;
  #limiters = new Set<string>();
  #overrides = new Set<string>();
  #unknown = new Set<string>();
  #onUnknown: NonNullable<RlsServiceOptions['onUnknownDomain']>;

  constructor(options: RlsServiceOptions) {
    this.bounds = { ...DEFAULT_RLS_REQUEST_BOUNDS, ...options.bounds };
    this.#decisions = options.decisions;
    this.#onUnknown = options.onUnknownDomain ?? (() => {});
    for (const d of options.config.domains) {
      this.#domains.set(d.domain, d);
      // Every configured limiter exists from the start, on every node with this config, so peers' counts merge at once.
      this.#ensureLevel(d.domain, d.descriptors);
    }
  }

  /** Names of the limiters created so far (configured and overrides). */
  get limiters(): string[] {
    return [...this.#limiters];
  }

  #ensureLevel(domain: string, level: RlsLevel): void {
    for (const slot of level.values()) {
      for (const rule of [...slot.byValue.values(), ...(slot.any === undefined ? [] : [slot.any])]) {
        if (rule.rateLimit !== undefined && rule.rateLimit.requestsPerUnit > 0) this.#limiter(domain, rule.rateLimit.unit, rule.rateLimit.requestsPerUnit);
        this.#ensureLevel(domain, rule.children);
      }
    }
  }

  #limiter(domain: string, unit: RlsUnit, limit: number): string {
    const name = limiterName(domain, unit, limit);
    if (!this.#limiters.has(name)) {
      this.#decisions.ensure({ name, limit, windowMs: UNIT_MS[unit] });
      this.#limiters.add(name);
    }
    return name;
  }

  #count(result: DescriptorResult): void {
    this.results.set(result, (this.results.get(result) ?? 0) + 1);
  }

  /** Validates the whole request before anything is counted. */
  #check(req: RateLimitRequest): void {
    checkText(req.domain, 'domain', false);
    const n = req.descriptors.length;
    if (n === 0) invalid('descriptors must not be empty');
    if (n > this.bounds.maxDescriptors) throw new codes.TALLYMESH_ERR_RLS_TOO_LARGE(`${n} descriptors (at most ${this.bounds.maxDescriptors})`);
    req.descriptors.forEach((d, i) => {
      if (d.entries.length === 0) invalid(`descriptors[${i}] has no entries`);
      if (d.entries.length > this.bounds.maxEntries) {
        throw new codes.TALLYMESH_ERR_RLS_TOO_LARGE(`descriptors[${i}] has ${d.entries.length} entries (at most ${this.bounds.maxEntries})`);
      }
      d.entries.forEach((e, j) => {
        checkText(e.key, `descriptors[${i}].entries[${j}].key`, false);
        checkText(e.value, `descriptors[${i}].entries[${j}].value`, true);
      });
      if (d.limit !== null && (d.limit.unit < 1 || d.limit.unit > RLS_UNITS.length)) {
        invalid(`descriptors[${i}].limit.unit must be SECOND, MINUTE, HOUR or DAY, got ${d.limit.unit}`);
      }
    });
  }

  /**
   * Answers one request. Every descriptor is decided (and, if it fits,
   * counted) whatever the others' outcome, as envoyproxy/ratelimit does.
   *
   * @throws TALLYMESH_ERR_RLS_INVALID_REQUEST, TALLYMESH_ERR_RLS_TOO_LARGE
   *   before anything is counted; TALLYMESH_ERR_MESH_CLOSED during shutdown.
   */
  shouldRateLimit(req: RateLimitRequest): RateLimitResponse {
    this.#check(req);
    const domain = this.#domains.get(req.domain);
    if (domain === undefined) return this.#unknownDomain(req);
    const cost = req.hits_addend === 0 ? 1 : req.hits_addend;
    let overall: number = CODE.OK;
    const statuses = req.descriptors.map((d, i) => {
      const s = this.#decide(domain, d, i, cost);
      if (s.code === CODE.OVER_LIMIT) overall = CODE.OVER_LIMIT;
      return s;
    });
    return { overall_code: overall, statuses };
  }

  #unknownDomain(req: RateLimitRequest): RateLimitResponse {
    if (this.#unknown.size < MAX_UNKNOWN_DOMAINS && !this.#unknown.has(req.domain)) {
      this.#unknown.add(req.domain);
      this.#onUnknown(req.domain, this.#unknown.size === MAX_UNKNOWN_DOMAINS);
    }
    for (let i = 0; i < req.descriptors.length; i++) this.#count('unknown_domain');
    return { overall_code: CODE.OK, statuses: req.descriptors.map(() => ({ code: CODE.OK, current_limit: null, limit_remaining: 0, duration_until_reset: null })) };
  }

  #applied(domain: RlsDomain, d: RateLimitRequest['descriptors'][number], i: number): Applied | 'unlimited' | undefined {
    if (d.limit !== null) {
      // An override from the request replaces the configured limit (and its shadow mode), as in envoyproxy/ratelimit.
      const unit = RLS_UNITS[d.limit.unit - 1];
      const name = limiterName(domain.domain, unit, d.limit.requests_per_unit);
      if (d.limit.requests_per_unit > 0 && !this.#limiters.has(name)) {
        if (this.#overrides.size >= this.bounds.maxOverrideLimiters) {
          throw new codes.TALLYMESH_ERR_RLS_TOO_MANY_OVERRIDES(this.bounds.maxOverrideLimiters, `descriptors[${i}].limit`);
        }
        this.#overrides.add(name);
      }
      return { unit, requestsPerUnit: d.limit.requests_per_unit, name: '', shadowMode: false };
    }
    const rule = matchDescriptor(domain.descriptors, d.entries);
    if (rule === undefined) return undefined;
    if (rule.unlimited || rule.rateLimit === undefined) return 'unlimited';
    return { ...rule.rateLimit, shadowMode: rule.shadowMode };
  }

  #decide(domain: RlsDomain, d: RateLimitRequest['descriptors'][number], i: number, cost: number): DescriptorStatus {
    const applied = this.#applied(domain, d, i);
    if (applied === undefined) {
      this.#count('no_match');
      return { code: CODE.OK, current_limit: null, limit_remaining: 0, duration_until_reset: null };
    }
    if (applied === 'unlimited') {
      this.#count('unlimited');
      return { code: CODE.OK, current_limit: null, limit_remaining: UNLIMITED_REMAINING, duration_until_reset: null };
    }
    const current = { requests_per_unit: applied.requestsPerUnit, unit: RLS_UNITS.indexOf(applied.unit) + 1, name: applied.name };
    let allowed: boolean;
    let remaining: number;
    let untilMs: number;
    if (applied.requestsPerUnit === 0) {
      // A limit of 0 refuses everything (envoyproxy/ratelimit's way to block a value); nothing to count.
      allowed = false;
      remaining = 0;
      untilMs = UNIT_MS[applied.unit];
    } else {
      const name = this.#limiter(domain.domain, applied.unit, applied.requestsPerUnit);
      const key = descriptorKey(domain.domain, d.entries);
      // More hits than the limit can never fit: over limit, nothing counted (the limiter would refuse the cost).
      const decision = cost > applied.requestsPerUnit ? { ...this.#decisions.peek(name, key), allowed: false } : this.#decisions.consume(name, key, cost);
      allowed = decision.allowed;
      remaining = Math.min(decision.remaining, UNLIMITED_REMAINING);
      // Over limit: when a request fits again; under: when the hits counted so far have slid out of the window.
      untilMs = allowed ? decision.resetMs : decision.retryAfterMs;
    }
    if (!allowed && applied.shadowMode) this.#count('shadow_over_limit');
    else this.#count(allowed ? 'ok' : 'over_limit');
    return {
      code: allowed || applied.shadowMode ? CODE.OK : CODE.OVER_LIMIT,
      current_limit: current,
      limit_remaining: allowed ? remaining : 0,
      duration_until_reset: duration(untilMs),
    };
  }
}
