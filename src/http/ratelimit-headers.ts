/**
 * Formatting of the IETF RateLimit header fields
 * (draft-ietf-httpapi-ratelimit-headers, revisions 08 onwards) and of
 * `Retry-After`. Pure functions: no I/O, no clock.
 *
 * Both fields are RFC 8941 Structured Field Lists whose members are Strings
 * (the policy name) with Integer parameters:
 *
 *     RateLimit-Policy: "api";q=100;w=60
 *     RateLimit: "api";r=57;t=12
 *
 * @module
 */
import { codes } from '../errors.js';

/**
 * Header field name of the quota policy (`"name";q=<limit>;w=<window seconds>`).
 * @example res.setHeader(RATELIMIT_POLICY_HEADER, formatRateLimitPolicy(policy));
 */
export const RATELIMIT_POLICY_HEADER = 'RateLimit-Policy';
/**
 * Header field name of the current state (`"name";r=<remaining>;t=<seconds to reset>`).
 * @example res.setHeader(RATELIMIT_HEADER, formatRateLimit(state));
 */
export const RATELIMIT_HEADER = 'RateLimit';
/**
 * RFC 9110 §10.2.3: delay-seconds before the client should retry.
 * @example res.setHeader(RETRY_AFTER_HEADER, formatRetryAfter(decision.retryAfterMs));
 */
export const RETRY_AFTER_HEADER = 'Retry-After';

/** RFC 8941 §3.3.1: an Integer has at most 15 decimal digits. */
const MAX_SF_INTEGER = 999_999_999_999_999;

/** RFC 8941 §3.3.3: a String holds printable ASCII (0x20–0x7E) only. */
const SF_STRING_RE = /^[\x20-\x7e]*$/;

/**
 * True when `value` can be serialised as an RFC 8941 String (printable ASCII only).
 * @example isSfString('api v2'); // true — isSfString('café') is false
 */
export function isSfString(value: string): boolean {
  return SF_STRING_RE.test(value);
}

/**
 * Serialises an RFC 8941 String (§4.1.6): wraps it in DQUOTEs and escapes
 * `"` and `\` with a backslash. Non-printable or non-ASCII characters cannot
 * be represented, so they are refused rather than silently mangled.
 *
 * @throws RangeError TALLYMESH_ERR_OPTION_RANGE (option `policyName`) for characters outside 0x20–0x7E.
 * @example
 * serializeSfString('api');        // '"api"'
 * serializeSfString('say "hi"');   // '"say \\"hi\\""'
 */
export function serializeSfString(value: string): string {
  if (!isSfString(value)) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE('policyName', 'printable ASCII (0x20-0x7E)', JSON.stringify(value));
  }
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * Serialises a non-negative RFC 8941 Integer (§4.1.4), clamped to the
 * 15-digit maximum so that a huge limit still yields a valid field.
 */
function sfInteger(value: number): string {
  if (!(value > 0)) return '0';
  return String(Math.min(Math.floor(value), MAX_SF_INTEGER));
}

/**
 * Whole seconds, rounded up, never negative (header fields carry delta-seconds).
 * @example ceilSeconds(11_200); // 12
 */
export function ceilSeconds(ms: number): number {
  return ms > 0 ? Math.ceil(ms / 1000) : 0;
}

/**
 * A quota policy as advertised in `RateLimit-Policy`.
 * @example const policy: RateLimitPolicy = { name: 'api', limit: 100, windowMs: 60_000 };
 */
export interface RateLimitPolicy {
  /** Policy name: printable ASCII; escaped as an sf-string. */
  name: string;
  /** Quota: hits admitted per window (`q`). */
  limit: number;
  /** Window length in ms; sent as whole seconds rounded up (`w`). */
  windowMs: number;
}

/**
 * The current state of a key against a policy, as sent in `RateLimit`.
 * @example const state: RateLimitState = { name: 'api', remaining: d.remaining, resetMs: d.resetMs };
 */
export interface RateLimitState {
  /** Policy name: printable ASCII; escaped as an sf-string. */
  name: string;
  /** Requests of cost 1 still admissible (`r`). */
  remaining: number;
  /** Ms until the full quota is back; sent as whole seconds rounded up (`t`). */
  resetMs: number;
}

/**
 * Formats the `RateLimit-Policy` field value: `"<name>";q=<limit>;w=<ceil(windowMs/1000)>`.
 *
 * @example
 * formatRateLimitPolicy({ name: 'api', limit: 100, windowMs: 60_000 }); // '"api";q=100;w=60'
 */
export function formatRateLimitPolicy(policy: RateLimitPolicy): string {
  // The draft requires w > 0: a sub-second window still advertises 1 s.
  const w = Math.max(1, ceilSeconds(policy.windowMs));
  return `${serializeSfString(policy.name)};q=${sfInteger(policy.limit)};w=${sfInteger(w)}`;
}

/**
 * Formats the `RateLimit` field value: `"<name>";r=<remaining>;t=<ceil(resetMs/1000)>`.
 *
 * @example
 * formatRateLimit({ name: 'api', remaining: 57, resetMs: 11_200 }); // '"api";r=57;t=12'
 */
export function formatRateLimit(state: RateLimitState): string {
  return `${serializeSfString(state.name)};r=${sfInteger(state.remaining)};t=${sfInteger(ceilSeconds(state.resetMs))}`;
}

/**
 * The `Retry-After` value (RFC 9110 delay-seconds) for a denial: whole
 * seconds rounded up and at least 1, so a client never retries at once into
 * the same denial.
 *
 * @example
 * formatRetryAfter(1);      // '1'
 * formatRetryAfter(12_001); // '13'
 */
export function formatRetryAfter(retryAfterMs: number): string {
  return String(Math.max(1, ceilSeconds(retryAfterMs)));
}
