/**
 * Admission of inbound peer sockets that have not authenticated yet: at most
 * so many in all, and so many per remote address, so that nobody who can
 * merely open connections holds more than a bounded share of the node's
 * memory and handshake capacity. A slot is taken at the WebSocket upgrade
 * and given back when the link authenticates or the socket closes.
 *
 * When every slot is taken, a newcomer is not simply refused: that let a
 * flood that reopens each connection the moment it is cut hold all the
 * slots for ever, and an honest peer never got one (issue 9). Instead the
 * holders are weighed — per address range (IPv4 /24, IPv6 /48), then per
 * address (IPv4 address, IPv6 /64) — and the heaviest gives up its oldest
 * socket, the one that has had longest to authenticate. A newcomer from the
 * heaviest address is refused instead (it already has attempts waiting).
 * So a peer arriving from an address that holds fewer slots than some other
 * always gets in, and keeps its slot while anyone holds more; an honest peer
 * needs it for one or two round trips. Only a flood from at least as many
 * ranges as there are slots, one socket each, takes slots in arrival order.
 *
 * @module
 */
import type { RejectReason } from '../transport.js';

/** A taken slot; give it back exactly once (later calls do nothing). */
export type ReleaseSlot = () => void;

/** Called once when a slot is taken away to make room for a newcomer: cut the socket; `detail` says why. */
export type EvictSlot = (detail: string) => void;

/** What {@link PendingHandshakes.admit} decided. */
export type Admission =
  | { admitted: true; release: ReleaseSlot }
  | { admitted: false; reason: Extract<RejectReason, 'too-many-handshakes' | 'too-many-handshakes-per-address'>; detail: string };

/** IPv6 groups that name one host's network: a host usually holds a whole /64. */
const IPV6_HOST_GROUPS = 4;
/** IPv6 groups of a site (/48), the usual allocation to one customer: the range weighed together. */
const IPV6_SITE_GROUPS = 3;
/** IPv4 octets of a range weighed together (/24). */
const IPV4_RANGE_OCTETS = 3;

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
 * The range an {@link addressKey} is weighed in when the node is full: an
 * IPv4 /24, an IPv6 /48 — what one operator, or one rented subnet, holds.
 *
 * @example
 * ```ts
 * rangeKey('10.0.0.7');          // '10.0.0.0/24'
 * rangeKey('2001:db8:0:0::/64'); // '2001:db8:0::/48'
 * ```
 */
export function rangeKey(key: string): string {
  if (key.endsWith('::/64')) return `${key.slice(0, -'::/64'.length).split(':').slice(0, IPV6_SITE_GROUPS).join(':')}::/48`;
  const octets = key.split('.');
  return octets.length === 4 ? `${octets.slice(0, IPV4_RANGE_OCTETS).join('.')}.0/24` : key;
}

/** One taken slot. */
interface Slot {
  key: string;
  /** Arrival order: lower is older. */
  seq: number;
  evict: EvictSlot;
}

/** Slots held under one weighing key (a range, or an address), with the newcomer's weight added when it belongs there. */
interface Weight {
  weight: number;
  /** Arrival number of the oldest slot held; Infinity when only the newcomer counts here. */
  oldest: number;
}

/** The heaviest entry (ties: the one holding the oldest slot). */
function heaviest<K>(weights: Map<K, Weight>): K | undefined {
  let best: K | undefined;
  let top: Weight | undefined;
  for (const [k, w] of weights) {
    if (top === undefined || w.weight > top.weight || (w.weight === top.weight && w.oldest < top.oldest)) {
      best = k;
      top = w;
    }
  }
  return best;
}

/**
 * Counts unauthenticated inbound sockets, in all and per {@link addressKey},
 * and chooses which one gives way when all slots are taken.
 *
 * @example
 * ```ts
 * const pending = new PendingHandshakes(128, 16);
 * const admission = pending.admit(req.socket.remoteAddress ?? '', (detail) => cut(socket, detail));
 * if (!admission.admitted) refuse(admission.reason);
 * else socket.once('close', admission.release);
 * ```
 */
export class PendingHandshakes {
  readonly maxTotal: number;
  readonly maxPerAddress: number;
  #total = 0;
  /** Slots per address key, oldest first (a Set keeps insertion order). */
  #byAddress = new Map<string, Set<Slot>>();
  #arrivals = 0;
  #evictions = 0;

  constructor(maxTotal: number, maxPerAddress: number) {
    this.maxTotal = maxTotal;
    this.maxPerAddress = maxPerAddress;
  }

  /** Unauthenticated sockets now. */
  get size(): number {
    return this.#total;
  }

  /** Slots taken away from a holder to admit a newcomer, since construction. */
  get evictions(): number {
    return this.#evictions;
  }

  /** Unauthenticated sockets now from `address` (or its /64). */
  from(address: string): number {
    return this.#byAddress.get(addressKey(address))?.size ?? 0;
  }

  /**
   * Takes a slot for a socket from `address`, or says which bound refuses it.
   * When the node is full, this may first take a slot from another holder:
   * its `evict` is called (synchronously, after its slot was given back).
   */
  admit(address: string, evict: EvictSlot = () => {}): Admission {
    const key = addressKey(address);
    const held = this.#byAddress.get(key)?.size ?? 0;
    // The per-address bound first: a single noisy remote should be told so even while the node is full.
    if (held >= this.maxPerAddress) {
      return { admitted: false, reason: 'too-many-handshakes-per-address', detail: `${held} unauthenticated connections from ${key} (at most ${this.maxPerAddress})` };
    }
    let victim: Slot | null = null;
    if (this.#total >= this.maxTotal) {
      victim = this.#victimFor(key);
      if (victim === null) {
        return { admitted: false, reason: 'too-many-handshakes', detail: `${this.#total} unauthenticated connections (at most ${this.maxTotal}), ${held} of them from ${key}, no address holds more` };
      }
      this.#remove(victim);
      this.#evictions++;
    }
    const slot: Slot = { key, seq: this.#arrivals++, evict };
    let slots = this.#byAddress.get(key);
    if (slots === undefined) this.#byAddress.set(key, (slots = new Set()));
    slots.add(slot);
    this.#total++;
    // After the newcomer holds its slot: whatever the victim's close does, it cannot take that slot back.
    if (victim !== null) {
      victim.evict(`evicted to admit ${key}: ${this.maxTotal} unauthenticated connections held, ${victim.key} held the most (${this.#byAddress.get(victim.key)?.size ?? 0} left)`);
    }
    let taken = true;
    return {
      admitted: true,
      release: () => {
        if (!taken) return;
        taken = false;
        this.#remove(slot);
      },
    };
  }

  #remove(slot: Slot): void {
    const slots = this.#byAddress.get(slot.key);
    if (slots === undefined || !slots.delete(slot)) return; // already given back (evicted, then its socket closed)
    this.#total--;
    if (slots.size === 0) this.#byAddress.delete(slot.key);
  }

  /**
   * The slot to take away for a newcomer from `key`: the oldest of the
   * heaviest address in the heaviest range, the newcomer counted where it
   * belongs; null when that address is the newcomer's own (it is refused).
   */
  #victimFor(key: string): Slot | null {
    const newRange = rangeKey(key);
    const ranges = new Map<string, Weight>([[newRange, { weight: 1, oldest: Infinity }]]);
    for (const [k, slots] of this.#byAddress) {
      const range = rangeKey(k);
      const w = ranges.get(range) ?? { weight: 0, oldest: Infinity };
      w.weight += slots.size;
      w.oldest = Math.min(w.oldest, (slots.values().next().value as Slot).seq);
      ranges.set(range, w);
    }
    const range = heaviest(ranges);
    const addresses = new Map<string, Weight>();
    if (range === newRange) addresses.set(key, { weight: 1, oldest: Infinity });
    for (const [k, slots] of this.#byAddress) {
      if (rangeKey(k) !== range) continue;
      const w = addresses.get(k) ?? { weight: 0, oldest: Infinity };
      w.weight += slots.size;
      w.oldest = Math.min(w.oldest, (slots.values().next().value as Slot).seq);
      addresses.set(k, w);
    }
    const chosen = heaviest(addresses);
    if (chosen === undefined || chosen === key) return null;
    return this.#byAddress.get(chosen)?.values().next().value ?? null;
  }
}
