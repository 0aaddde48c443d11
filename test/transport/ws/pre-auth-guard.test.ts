import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { addressKey, PendingHandshakes } from '../../../transport/ws/pending-handshakes.js';
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

  it('admits up to the per-address cap, then up to the global cap, and takes a slot back once', () => {
    const pending = new PendingHandshakes(3, 2);
    const a1 = pending.admit('10.0.0.1');
    const a2 = pending.admit('10.0.0.1');
    expect(pending.admit('10.0.0.1')).toMatchObject({ admitted: false, reason: 'too-many-handshakes-per-address' });
    const b1 = pending.admit('2001:db8::1');
    expect(pending.admit('2001:db8::2')).toMatchObject({ admitted: false, reason: 'too-many-handshakes' });
    expect([a1, a2, b1].every((a) => a.admitted)).toBe(true);
    if (!a1.admitted) return;
    a1.release();
    a1.release(); // idempotent
    expect(pending.size).toBe(2);
    expect(pending.from('10.0.0.1')).toBe(1);
    expect(pending.admit('2001:db8::2').admitted).toBe(true); // the freed slot, taken from the same /64 as b1
    expect(pending.admit('2001:db8::3')).toMatchObject({ admitted: false, reason: 'too-many-handshakes-per-address' });
    expect(pending.admit('10.0.0.2')).toMatchObject({ admitted: false, reason: 'too-many-handshakes' });
  });
});
