/**
 * Pure helpers of the peer handshake: nonces and the HMAC proof.
 *
 * Both sides prove knowledge of the shared cluster secret without sending it:
 * each sends HMAC-SHA256(secret, transcript) over a transcript that binds the
 * protocol (domain tag), the sender's role, both fresh nonces and both node
 * ids. The role stops a listener's proof being reflected back as a dialer's;
 * the nonces stop replay; the ids stop a proof being relayed to another node.
 * The exact byte layout is specified in `docs/protocol.md`.
 *
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Length of a handshake nonce in bytes. */
export const NONCE_BYTES = 32;
/** Length of an HMAC-SHA256 proof in bytes. */
export const MAC_BYTES = 32;
/** Domain-separation tag: the first field of every MAC transcript. */
export const MAC_DOMAIN = 'tallymesh/1';

/** Which end of a connection a proof speaks for. */
export type HandshakeRole = 'dialer' | 'listener';

/**
 * 32 bytes from the operating system's CSPRNG.
 *
 * @example
 * ```ts
 * const nonce = createNonce(); // Uint8Array(32)
 * ```
 */
export function createNonce(): Uint8Array {
  return new Uint8Array(randomBytes(NONCE_BYTES));
}

/** Appends `bytes` to `parts` after a 4-byte big-endian length, so no two transcripts share an encoding. */
function pushField(parts: Uint8Array[], bytes: Uint8Array): void {
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, bytes.length);
  parts.push(length, bytes);
}

/**
 * HMAC-SHA256 proof for one side of the handshake.
 *
 * The key is the UTF-8 secret (it may be empty: loopback dev mode, where both
 * sides must then use ''). The message is the concatenation of
 * `u32be(len) || bytes` for, in order: `MAC_DOMAIN`, `role`, `dialerNonce`,
 * `listenerNonce`, `dialerId`, `listenerId` (strings as UTF-8).
 *
 * @example
 * ```ts
 * const mac = computeMac(secret, 'listener', dialerNonce, listenerNonce, 'a', 'b');
 * ```
 */
export function computeMac(
  secret: string,
  role: HandshakeRole,
  dialerNonce: Uint8Array,
  listenerNonce: Uint8Array,
  dialerId: string,
  listenerId: string,
): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  pushField(parts, encoder.encode(MAC_DOMAIN));
  pushField(parts, encoder.encode(role));
  pushField(parts, dialerNonce);
  pushField(parts, listenerNonce);
  pushField(parts, encoder.encode(dialerId));
  pushField(parts, encoder.encode(listenerId));
  const hmac = createHmac('sha256', secret);
  for (const part of parts) hmac.update(part);
  return new Uint8Array(hmac.digest());
}

/**
 * Check a peer's proof in constant time (for proofs of the right length).
 *
 * @example
 * ```ts
 * if (!verifyMac(secret, 'dialer', dialerNonce, listenerNonce, 'a', 'b', auth.mac)) reject('auth');
 * ```
 */
export function verifyMac(
  secret: string,
  role: HandshakeRole,
  dialerNonce: Uint8Array,
  listenerNonce: Uint8Array,
  dialerId: string,
  listenerId: string,
  mac: Uint8Array,
): boolean {
  const expected = computeMac(secret, role, dialerNonce, listenerNonce, dialerId, listenerId);
  // timingSafeEqual throws on a length mismatch; the length of a MAC is public anyway.
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}
