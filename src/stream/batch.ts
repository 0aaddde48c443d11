/**
 * The shapes a batch of consume requests shares between the daemon (which
 * decides it) and the Node client (which sends it): one request, one result
 * per request, and the batch bound.
 *
 * `src/stream/` holds the `/v1/stream` wire format that both sides speak;
 * it may import only `src/errors.ts`, `src/validate.ts`, types of
 * `src/limiter/` and the MessagePack scan of `transport/codec/`, so the
 * client can load it without the daemon stack.
 *
 * @module
 */
import type { Decision } from '../limiter/limiter.js';

/** Most requests in one batch (HTTP `requests` or one stream frame). */
export const MAX_BATCH_REQUESTS = 1000;

/** One consume request, as clients send it (validated by the daemon, not before). */
export interface ConsumeRequest {
  limiter: unknown;
  key: unknown;
  cost?: unknown;
  /** Set by a decoder that met the key as bytes that are not UTF-8 (the stream): `key` is not what was sent, so the item is refused. */
  keyNotUtf8?: true;
}

/** An item of a batch that could not be decided. */
export interface ItemError {
  error: { code: string; message: string };
}

/** One result of a batch: a decision, or why that item failed. */
export type ItemResult = Decision | ItemError;
