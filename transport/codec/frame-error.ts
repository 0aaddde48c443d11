/**
 * The one error the codec throws.
 *
 * @module
 */
import type { RejectReason } from '../transport.js';

/** Stable error code for each reason a frame can be refused (see `docs/protocol.md`). */
export const FRAME_ERROR_CODES = {
  auth: 'TALLYMESH_ERR_FRAME_AUTH',
  version: 'TALLYMESH_ERR_FRAME_VERSION',
  'too-large': 'TALLYMESH_ERR_FRAME_TOO_LARGE',
  malformed: 'TALLYMESH_ERR_FRAME_MALFORMED',
  unexpected: 'TALLYMESH_ERR_FRAME_UNEXPECTED',
  duplicate: 'TALLYMESH_ERR_FRAME_DUPLICATE',
  self: 'TALLYMESH_ERR_FRAME_SELF',
  timeout: 'TALLYMESH_ERR_FRAME_TIMEOUT',
} as const satisfies Record<RejectReason, string>;

/**
 * A frame could not be encoded or was refused on decode. `reason` is the
 * metric label and the close reason sent to the peer; `code` is stable for
 * programs; `message` says what exactly was wrong, for logs.
 *
 * @example
 * ```ts
 * try {
 *   decodeFrame(bytes);
 * } catch (err) {
 *   if (err instanceof FrameError) closePeer(err.reason, err.message);
 * }
 * ```
 */
export class FrameError extends Error {
  /** Why the frame was refused. */
  readonly reason: RejectReason;
  /** `TALLYMESH_ERR_FRAME_<REASON>`. */
  readonly code: (typeof FRAME_ERROR_CODES)[RejectReason];

  constructor(reason: RejectReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FrameError';
    this.reason = reason;
    this.code = FRAME_ERROR_CODES[reason];
  }
}
