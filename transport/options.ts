/**
 * Validation and defaults for the options both transports share. Bad
 * options throw at construction, never later on the network path: the
 * package's option errors from `src/validate.ts` (TypeError
 * `TALLYMESH_ERR_OPTION_TYPE` for a wrong type, RangeError
 * `TALLYMESH_ERR_OPTION_RANGE` for a value out of bounds).
 *
 * @module
 */
import { codes } from '../src/errors.js';
import { describeValue, integerOption } from '../src/validate.js';
import { DEFAULT_MAX_FRAME_BYTES } from './codec/frame.js';
import { MAX_ID_BYTES } from './codec/frame-schema.js';
import type { BackoffOptions } from './link-manager.js';

/** Redial backoff when none is given: first retry within 100 ms, never waiting more than 5 s. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { initialMs: 100, maxMs: 5_000 };
/**
 * How long a connection may take to finish the handshake. A listener needs
 * two round trips after the upgrade (HELLO in, HELLO+AUTH out, AUTH in): 3 s
 * covers a 700 ms satellite RTT with a lost segment retransmitted, while an
 * unauthenticated socket holds its slot for little longer.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 3_000;
/** Smallest allowed maxFrameBytes: a HELLO must fit. */
export const MIN_FRAME_BYTES = 1_024;

/** Options every transport takes, before defaults. */
export interface LinkOptionsInput {
  nodeId: string;
  incarnation: string;
  secret: string;
  maxFrameBytes?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  handshakeTimeoutMs?: number;
}

/** {@link LinkOptionsInput} with defaults applied. */
export interface LinkOptions {
  nodeId: string;
  incarnation: string;
  secret: string;
  maxFrameBytes: number;
  backoff: BackoffOptions;
  handshakeTimeoutMs: number;
}

/**
 * Build the error thrown for an invalid option: the registry's
 * `TALLYMESH_ERR_OPTION_TYPE` (for `TypeError`) or `TALLYMESH_ERR_OPTION_RANGE`
 * (for `RangeError`), naming the option and what it must be.
 *
 * @example
 * ```ts
 * throw optionError(TypeError, 'server', 'an http.Server or https.Server', options.server);
 * ```
 */
export function optionError(kind: typeof TypeError | typeof RangeError, name: string, expected: string, value: unknown): Error {
  const Code = kind === TypeError ? codes.TALLYMESH_ERR_OPTION_TYPE : codes.TALLYMESH_ERR_OPTION_RANGE;
  return new Code(name, expected, describeValue(value));
}

/**
 * `integerOption` of `src/validate.ts` with the transport's convention: an
 * undefined option takes `fallback`; `max` defaults to the largest safe integer.
 *
 * @example
 * ```ts
 * const maxQueueBytes = integerOptionOr('maxQueueBytes', options.maxQueueBytes, 8 << 20, 1);
 * ```
 */
export function integerOptionOr(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return value === undefined ? fallback : integerOption(name, value, min, max);
}

function idOption(name: string, value: unknown): string {
  if (typeof value !== 'string') throw optionError(TypeError, name, 'a string', value);
  const bytes = Buffer.byteLength(value);
  if (bytes === 0 || bytes > MAX_ID_BYTES) throw optionError(RangeError, name, `1 to ${MAX_ID_BYTES} bytes of UTF-8`, value);
  return value;
}

/**
 * Validate the shared options and apply defaults.
 *
 * @example
 * ```ts
 * const link = resolveLinkOptions({ nodeId: 'a', incarnation: 'x1', secret: '' });
 * link.backoff; // { initialMs: 100, maxMs: 5000 }
 * ```
 */
export function resolveLinkOptions(input: LinkOptionsInput): LinkOptions {
  if (typeof input.secret !== 'string') {
    // Only the type: whatever was passed may hold the secret.
    throw new codes.TALLYMESH_ERR_OPTION_TYPE('secret', "a string ('' for none)", typeof input.secret);
  }
  const initialMs = integerOptionOr('backoff.initialMs', input.backoff?.initialMs, DEFAULT_BACKOFF.initialMs, 1);
  const maxMs = integerOptionOr('backoff.maxMs', input.backoff?.maxMs, Math.max(DEFAULT_BACKOFF.maxMs, initialMs), initialMs);
  return {
    nodeId: idOption('nodeId', input.nodeId),
    incarnation: idOption('incarnation', input.incarnation),
    secret: input.secret,
    maxFrameBytes: integerOptionOr('maxFrameBytes', input.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, MIN_FRAME_BYTES, 2 ** 31 - 1),
    backoff: { initialMs, maxMs },
    handshakeTimeoutMs: integerOptionOr('handshakeTimeoutMs', input.handshakeTimeoutMs, DEFAULT_HANDSHAKE_TIMEOUT_MS, 1),
  };
}
