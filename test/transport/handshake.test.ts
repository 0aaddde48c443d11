import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { fcParams } from '../helpers/fc.js';
import { describe, expect, it } from 'vitest';
import { computeMac, createNonce, MAC_BYTES, NONCE_BYTES, verifyMac } from '../../transport/handshake.js';
import type { HandshakeRole } from '../../transport/handshake.js';

const dn = new Uint8Array(32).fill(1);
const ln = new Uint8Array(32).fill(2);

describe('createNonce', () => {
  it('returns 32 fresh random bytes each time', () => {
    const a = createNonce();
    const b = createNonce();
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(NONCE_BYTES);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});

describe('computeMac', () => {
  it('is HMAC-SHA256 over the length-prefixed transcript documented in docs/protocol.md', () => {
    const field = (bytes: Uint8Array | string): Buffer => {
      const body = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.length);
      return Buffer.concat([length, body]);
    };
    const transcript = Buffer.concat(['tallymesh/1', 'listener', dn, ln, 'a', 'b'].map(field));
    const expected = createHmac('sha256', 's3cret').update(transcript).digest();
    const mac = computeMac('s3cret', 'listener', dn, ln, 'a', 'b');
    expect(mac.length).toBe(MAC_BYTES);
    expect(Buffer.from(mac).equals(expected)).toBe(true);
  });

  it('is deterministic', () => {
    expect(computeMac('k', 'dialer', dn, ln, 'a', 'b')).toEqual(computeMac('k', 'dialer', dn, ln, 'a', 'b'));
  });

  it('changes when any input changes', () => {
    const base = Buffer.from(computeMac('k', 'dialer', dn, ln, 'a', 'b'));
    const variants = [
      computeMac('K', 'dialer', dn, ln, 'a', 'b'),
      computeMac('k', 'listener', dn, ln, 'a', 'b'),
      computeMac('k', 'dialer', ln, ln, 'a', 'b'),
      computeMac('k', 'dialer', dn, dn, 'a', 'b'),
      computeMac('k', 'dialer', dn, ln, 'c', 'b'),
      computeMac('k', 'dialer', dn, ln, 'a', 'c'),
      computeMac('k', 'dialer', ln, dn, 'a', 'b'), // nonces swapped
      computeMac('k', 'dialer', dn, ln, 'b', 'a'), // ids swapped
    ];
    for (const mac of variants) expect(Buffer.from(mac).equals(base)).toBe(false);
  });

  it('does not confuse ids that concatenate to the same string (length prefixes)', () => {
    expect(computeMac('k', 'dialer', dn, ln, 'ab', 'c')).not.toEqual(computeMac('k', 'dialer', dn, ln, 'a', 'bc'));
  });

  it('works with an empty secret (loopback dev mode)', () => {
    const mac = computeMac('', 'dialer', dn, ln, 'a', 'b');
    expect(verifyMac('', 'dialer', dn, ln, 'a', 'b', mac)).toBe(true);
    expect(verifyMac('x', 'dialer', dn, ln, 'a', 'b', mac)).toBe(false);
  });
});

describe('verifyMac', () => {
  it('accepts the proof computed with the same inputs (property)', () => {
    const role = fc.constantFrom<HandshakeRole>('dialer', 'listener');
    const nonce = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(fc.string(), role, nonce, nonce, fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (secret, r, d, l, di, li) => {
        expect(verifyMac(secret, r, d, l, di, li, computeMac(secret, r, d, l, di, li))).toBe(true);
      }),
      fcParams(),
    );
  });

  it('refuses a proof made with another secret', () => {
    expect(verifyMac('a', 'dialer', dn, ln, 'a', 'b', computeMac('b', 'dialer', dn, ln, 'a', 'b'))).toBe(false);
  });

  it("refuses a listener's proof replayed as a dialer's", () => {
    expect(verifyMac('k', 'dialer', dn, ln, 'a', 'b', computeMac('k', 'listener', dn, ln, 'a', 'b'))).toBe(false);
  });

  it('refuses a proof of the wrong length without throwing', () => {
    const mac = computeMac('k', 'dialer', dn, ln, 'a', 'b');
    expect(verifyMac('k', 'dialer', dn, ln, 'a', 'b', mac.subarray(0, 31))).toBe(false);
    expect(verifyMac('k', 'dialer', dn, ln, 'a', 'b', new Uint8Array(0))).toBe(false);
  });
});
