/**
 * Admission of inbound peer sockets that have not authenticated yet: at most
 * so many in all, and so many per remote address, so that nobody who can
 * merely open connections holds more than a bounded share of the node's
 * memory and handshake capacity. A slot is taken at the WebSocket upgrade
 * and given back when the link authenticates or the socket closes.
 *
 * @module
 */
import type { RejectReason } from '../transport.js';

/** A taken slot; give it back exactly once (later calls do nothing). */
export type ReleaseSlot = () => void;

/** What {@link PendingHandshakes.admit} decided. */
export type Admission =
  | { admitted: true; release: ReleaseSlot }
  | { admitted: false; reason: Extract<RejectReason, 'too-many-handshakes' | 'too-many-handshakes-per-address'>; detail: string };

/** IPv6 groups that name one host's network: a host usually holds a whole /64. */
const IPV6_HOST_GROUPS = 4;

/**
 * The key remote addresses are counted under: an IPv4 address as is (also
 * when IPv4-mapped), an IPv6 address by its /64 prefix, since whoever holds
 * one address of a /64 can usually use all 2^64 of them.
 *
 * @example
 * ```ts
 * addressKey('::ffff:10.0.0.7'); // '10.0.0.7'
 * addressKey('2001:db8::1');     // '2001:db8:0:0::/64'
 * ```
 */
export function addressKey(address: string): string {
  const ip = address.split('%')[0]; // drop an IPv6 zone id
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped !== null) return mapped[1];
  if (!ip.includes(':')) return ip;
  const [head, tail] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, IPV6_HOST_GROUPS)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Counts unauthenticated inbound sockets, in all and per {@link addressKey}.
 *
 * @example
 * ```ts
 * const pending = new PendingHandshakes(128, 16);
 * const admission = pending.admit(req.socket.remoteAddress ?? '');
 * if (!admission.admitted) refuse(admission.reason);
 * else socket.once('close', admission.release);
 * ```
 */
export class PendingHandshakes {
  readonly maxTotal: number;
  readonly maxPerAddress: number;
  #total = 0;
  #byAddress = new Map<string, number>();

  constructor(maxTotal: number, maxPerAddress: number) {
    this.maxTotal = maxTotal;
    this.maxPerAddress = maxPerAddress;
  }

  /** Unauthenticated sockets now. */
  get size(): number {
    return this.#total;
  }

  /** Unauthenticated sockets now from `address` (or its /64). */
  from(address: string): number {
    return this.#byAddress.get(addressKey(address)) ?? 0;
  }

  /** Takes a slot for a socket from `address`, or says which bound refuses it. */
  admit(address: string): Admission {
    const key = addressKey(address);
    const fromKey = this.#byAddress.get(key) ?? 0;
    // The per-address bound first: a single noisy remote should be told so even while the node is full.
    if (fromKey >= this.maxPerAddress) {
      return { admitted: false, reason: 'too-many-handshakes-per-address', detail: `${fromKey} unauthenticated connections from ${key} (at most ${this.maxPerAddress})` };
    }
    if (this.#total >= this.maxTotal) {
      return { admitted: false, reason: 'too-many-handshakes', detail: `${this.#total} unauthenticated connections (at most ${this.maxTotal})` };
    }
    this.#total++;
    this.#byAddress.set(key, fromKey + 1);
    let held = true;
    return {
      admitted: true,
      release: () => {
        if (!held) return;
        held = false;
        this.#total--;
        const left = (this.#byAddress.get(key) ?? 1) - 1;
        if (left === 0) this.#byAddress.delete(key);
        else this.#byAddress.set(key, left);
      },
    };
  }
}
