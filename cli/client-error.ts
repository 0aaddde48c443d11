/**
 * The client commands' error: a request that failed before an answer
 * arrived, an answer that is not JSON, or a client flag that cannot be used.
 * `main.ts` prints its message and exits 2.
 *
 * @module
 */

/** A request that failed before an answer arrived, or an answer that is not JSON. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
}
