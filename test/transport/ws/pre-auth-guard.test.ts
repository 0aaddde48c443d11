import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { addressKey, PendingHandshakes, rangeKey } from '../../../transport/ws/pending-handshakes.js';
import { PreAuthGuard } from '../../../transport/ws/pre-auth-guard.js';
import { frameHeader, maskedFrame } from '../../helpers/raw-ws.js';

const LIMITS = { maxMessageBytes: 1024, maxBytes: 4096 };

/** A guard on an in-memory socket; `feed` delivers bytes as 'data' events, one per chunk. */
function guarded(isOpen: () => boolean = () => false) {
  const socket = new PassThrough();
  const refusals: string[] = [];
  const guard = new PreAuthGuard(socket, LIMITS, isOpen, (detail) => refusals.push(detail));
  const feed = (...chunks: Buffer[]): void => {
    for (const chunk of chunks) socket.emit('data', chunk);
  };
  return { socket, guard, refusals, feed };
}

/** Splits `bytes` into one-byte chunks: headers then arrive across many reads. */
const bytewise = (bytes: Buffer): Buffer[] => [...bytes].map((b) => Buffer.from([b]));

describe('PreAuthGuard', () => {
  it('lets a HELLO-sized message and an AUTH through', () => {
    const { refusals, feed } = guarded();
    feed(maskedFrame(Buffer.alloc(600)), maskedFrame(Buffer.alloc(60)));
    expect(refusals).toEqual([]);
  });

  it('refuses a message declaring more than the bound from its header alone, however the header is split', () => {
    for (const length of [1025, 65_535, 4 * 1024 * 1024]) {
      const { refusals, feed } = guarded();
      feed(...bytewise(frameHeader(length)));
      expect(refusals).toEqual([`declared a ${length}-byte message before AUTH (at most 1024)`]);
    }
  });

  it('sums the fragments of one message, and starts over with the next message', () => {
    const { refusals, feed } = guarded();
    feed(maskedFrame(Buffer.alloc(500), 0x2, false), maskedFrame(Buffer.alloc(500), 0x0, true)); // 1000: fine
    feed(maskedFrame(Buffer.alloc(500), 0x2, false), maskedFrame(Buffer.alloc(500), 0x0, false));
    expect(refusals).toEqual([]);
    feed(maskedFrame(Buffer.alloc(100), 0x0, true));
    expect(refusals).toEqual(['declared a 1100-byte message before AUTH (at most 1024)']);
  });

  it('skips control frames in the message sum but counts their bytes', () => {
    const { refusals, feed } = guarded();
    const ping = maskedFrame(Buffer.alloc(125), 0x9);
    for (let i = 0; i < 31; i++) feed(ping); // 31 × 131 = 4061 bytes
    expect(refusals).toEqual([]);
    feed(ping);
    expect(refusals).toEqual(['4192 bytes before AUTH (at most 4096)']);
  });

  it('refuses once and then stops reading', () => {
    const { socket, refusals, feed } = guarded();
    feed(frameHeader(2048));
    feed(frameHeader(2048));
    expect(refusals).toHaveLength(1);
    expect(socket.listenerCount('data')).toBe(0);
  });

  it('stands aside for good once the link is open, whatever follows', () => {
    let open = false;
    const { socket, refusals, feed } = guarded(() => open);
    feed(maskedFrame(Buffer.alloc(600)));
    open = true;
    feed(frameHeader(4 * 1024 * 1024), Buffer.alloc(64 * 1024));
    expect(refusals).toEqual([]);
    expect(socket.listenerCount('data')).toBe(0);
  });

  it('detaches when released or when the socket closes', () => {
    const released = guarded();
    released.guard.release();
    expect(released.socket.listenerCount('data')).toBe(0);
    const closed = guarded();
    closed.socket.emit('close');
    expect(closed.socket.listenerCount('data')).toBe(0);
  });
});

describe('PendingHandshakes', () => {
  it('keys IPv4 (also IPv4-mapped) by address and IPv6 by its /64', () => {
    expect(addressKey('10.0.0.7')).toBe('10.0.0.7');
    expect(addressKey('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:db8:0:0:ffff::2')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:0db8:0000:0001::1%eth0')).toBe('2001:db8:0:1::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('weighs IPv4 by /24 and IPv6 by /48 when choosing whom to evict', () => {
    expect(rangeKey('10.0.0.7')).toBe('10.0.0.0/24');
    expect(rangeKey(addressKey('2001:db8:0:1::1'))).toBe('2001:db8:0::/48');
  });

  it('admits up to the per-address cap, refuses past it, and takes a slot back once', () => {
    const pending = new PendingHandshakes(8, 2);
    const a1 = pending.admit('10.0.0.1');
    const a2 = pending.admit('10.0.0.1');
    expect(pending.admit('10.0.0.1')).toMatchObject({ admitted: false, reason: 'too-many-handshakes-per-address' });
    expect(pending.admit('2001:db8::1').admitted).toBe(true);
    expect(pending.admit('2001:db8::2').admitted).toBe(true);
    expect(pending.admit('2001:db8::3')).toMatchObject({ admitted: false, reason: 'too-many-handshakes-per-address' }); // the same /64
    expect([a1, a2].every((a) => a.admitted)).toBe(true);
    if (!a1.admitted) return;
    a1.release();
    a1.release(); // idempotent
    expect(pending.size).toBe(3);
    expect(pending.from('10.0.0.1')).toBe(1);
    expect(pending.admit('10.0.0.1').admitted).toBe(true);
  });

  it('when full, evicts the oldest socket of the address holding the most, never a lighter holder', () => {
    const pending = new PendingHandshakes(4, 3);
    const evicted: string[] = [];
    const admit = (address: string, name: string) => pending.admit(address, (detail) => evicted.push(`${name}: ${detail}`));
    admit('10.0.0.1', 'honest');
    admit('10.0.0.9', 'flood-1');
    admit('10.0.0.9', 'flood-2');
    admit('10.0.0.8', 'other');
    // Full. A newcomer from a fresh address: 10.0.0.9 holds the most, its oldest goes.
    expect(admit('10.0.0.2', 'newcomer').admitted).toBe(true);
    expect(evicted).toEqual([expect.stringMatching(/^flood-1: evicted to admit 10\.0\.0\.2: .*10\.0\.0\.9 held the most \(1 left\)$/)]);
    expect(pending.size).toBe(4);
    expect(pending.evictions).toBe(1);
    // Every address now holds one: a newcomer from one of them would be the heaviest itself, so it is refused…
    expect(admit('10.0.0.9', 'flood-3')).toMatchObject({ admitted: false, reason: 'too-many-handshakes' });
    // …while a fresh address ties them all and takes the oldest slot (the honest peer's: it had the longest).
    expect(admit('10.0.0.3', 'late').admitted).toBe(true);
    expect(evicted.at(-1)).toMatch(/^honest: /);
    expect(pending.evictions).toBe(2);
  });

  it('weighs ranges before addresses: a /24 full of one-socket addresses gives way first', () => {
    const pending = new PendingHandshakes(5, 16);
    const evicted: string[] = [];
    const admit = (address: string) => pending.admit(address, () => evicted.push(address));
    admit('192.0.2.1');
    admit('192.0.2.1'); // two from one address of another range
    for (const host of [10, 11, 12]) admit(`198.51.100.${host}`); // three addresses of one /24
    expect(admit('203.0.113.5').admitted).toBe(true);
    expect(evicted).toEqual(['198.51.100.10']);
  });

  it('gives an evicted slot back once: a later release of it changes nothing', () => {
    const pending = new PendingHandshakes(1, 1);
    const first = pending.admit('10.0.0.1');
    expect(pending.admit('10.0.0.2').admitted).toBe(true);
    if (first.admitted) first.release(); // its socket closes after the eviction
    expect(pending.size).toBe(1);
    expect(pending.from('10.0.0.2')).toBe(1);
  });
});
