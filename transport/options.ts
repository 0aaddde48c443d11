/**
 * Validation and defaults for the options both transports share. Bad
 * options throw at construction (TypeError for a wrong type, RangeError for
 * a value out of bounds), never later on the network path.
 *
 * @module
 */
import { DEFAULT_MAX_FRAME_BYTES } from './codec/frame.js';
import { MAX_ID_BYTES } from './codec/frame-schema.js';
import type { BackoffOptions } from './link-manager.js';

/** Redial backoff when none is given: first retry within 100 ms, never waiting more than 5 s. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { initialMs: 100, maxMs: 5_000 };
/** How long a connection may take to finish the handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
/** Smallest allowed maxFrameBytes: a HELLO must fit. */
export const MIN_FRAME_BYTES = 1_024;
/** Error code of every invalid transport option. */
export const TRANSPORT_OPTION_ERROR_CODE = 'TALLYMESH_ERR_TRANSPORT_OPTION';

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
 * Build the error thrown for an invalid option, with a stable `code`.
 *
 * @example
 * ```ts
 * throw optionError(RangeError, 'maxQueueBytes', 'must be a positive integer');
 * ```
 */
export function optionError(kind: typeof TypeError | typeof RangeError, name: string, problem: string): Error {
  const error = new kind(`transport option ${name} ${problem}`);
  return Object.assign(error, { code: TRANSPORT_OPTION_ERROR_CODE });
}

/**
 * Check `value` is an integer in [min, max] and return it (or `fallback` when undefined).
 *
 * @example
 * ```ts
 * const maxQueueBytes = integerOption('maxQueueBytes', options.maxQueueBytes, 8 << 20, 1);
 * ```
 */
export function integerOption(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw optionError(TypeError, name, `must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw optionError(RangeError, name, `must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

function idOption(name: string, value: unknown): string {
  if (typeof value !== 'string') throw optionError(TypeError, name, `must be a string, got ${typeof value}`);
  const bytes = Buffer.byteLength(value);
  if (bytes === 0 || bytes > MAX_ID_BYTES) throw optionError(RangeError, name, `must be 1 to ${MAX_ID_BYTES} UTF-8 bytes`);
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
  if (typeof input.secret !== 'string') throw optionError(TypeError, 'secret', "must be a string ('' for none)");
  const initialMs = integerOption('backoff.initialMs', input.backoff?.initialMs, DEFAULT_BACKOFF.initialMs, 1);
  const maxMs = integerOption('backoff.maxMs', input.backoff?.maxMs, Math.max(DEFAULT_BACKOFF.maxMs, initialMs), initialMs);
  return {
    nodeId: idOption('nodeId', input.nodeId),
    incarnation: idOption('incarnation', input.incarnation),
    secret: input.secret,
    maxFrameBytes: integerOption('maxFrameBytes', input.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, MIN_FRAME_BYTES, 2 ** 31 - 1),
    backoff: { initialMs, maxMs },
    handshakeTimeoutMs: integerOption('handshakeTimeoutMs', input.handshakeTimeoutMs, DEFAULT_HANDSHAKE_TIMEOUT_MS, 1),
  };
}
