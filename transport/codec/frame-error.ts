/**
 * The one error the codec throws. Its codes live in the package's error
 * registry (`src/errors.ts`), so `isTallymeshError` recognises it.
 *
 * @module
 */
import { codes, type ErrorCode, type TallymeshError } from '../../src/errors.js';
import type { RejectReason } from '../transport.js';

/** Stable error code for each reason a frame or a connection can be refused (see `docs/protocol.md` and `docs/errors.md`). */
export const FRAME_ERROR_CODES = {
  auth: 'TALLYMESH_ERR_FRAME_AUTH',
  version: 'TALLYMESH_ERR_FRAME_VERSION',
  'too-large': 'TALLYMESH_ERR_FRAME_TOO_LARGE',
  malformed: 'TALLYMESH_ERR_FRAME_MALFORMED',
  unexpected: 'TALLYMESH_ERR_FRAME_UNEXPECTED',
  duplicate: 'TALLYMESH_ERR_FRAME_DUPLICATE',
  self: 'TALLYMESH_ERR_FRAME_SELF',
  timeout: 'TALLYMESH_ERR_FRAME_TIMEOUT',
  'too-many-handshakes': 'TALLYMESH_ERR_FRAME_TOO_MANY_HANDSHAKES',
  'too-many-handshakes-per-address': 'TALLYMESH_ERR_FRAME_TOO_MANY_HANDSHAKES_PER_ADDRESS',
  'handshake-evicted': 'TALLYMESH_ERR_FRAME_HANDSHAKE_EVICTED',
} as const satisfies Record<RejectReason, ErrorCode>;

/**
 * A frame could not be encoded or was refused on decode. `reason` is the
 * metric label and the close reason sent to the peer; `code` is stable for
 * programs (one registry code per reason); `message` says what exactly was
 * wrong, for logs.
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
export class FrameError extends Error implements TallymeshError {
  /** Why the frame was refused. */
  readonly reason: RejectReason;
  /** `TALLYMESH_ERR_FRAME_<REASON>`, from the registry. */
  readonly code: (typeof FRAME_ERROR_CODES)[RejectReason];
  /** The registry's status for the code (a frame error is never answered over HTTP; it classifies). */
  readonly statusCode: number;

  constructor(reason: RejectReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FrameError';
    this.reason = reason;
    this.code = FRAME_ERROR_CODES[reason];
    this.statusCode = codes[this.code].statusCode;
  }
}
