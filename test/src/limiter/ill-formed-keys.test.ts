/**
 * Issue 9, defect 5 ("Ill-formed keys"), at the library: a key that is not
 * well-formed UTF-16 (a lone surrogate) has no UTF-8 encoding, so on the wire
 * it would turn into another key (WTF-8 bytes that peers decode as U+FFFD).
 * The limiter refuses it with TALLYMESH_ERR_KEY_MALFORMED before anything is
 * counted; well-formed keys, astral characters included, pass.
 */
import fc from 'fast-check';
import { fcParams } from '../../helpers/fc.js';
import { describe, expect, it } from 'vitest';
import { isTallymeshError } from '../../../src/errors.js';
import { createLimiter } from '../../../src/limiter/limiter.js';
import { checkKey } from '../../../src/validate.js';

function limiterAt(now: number) {
  return createLimiter({ name: 'api', limit: 10, windowMs: 60_000, now: () => now });
}

/** The error `call` throws (fails the test when it throws nothing). */
function thrown(call: () => unknown): Error & { code?: string; statusCode?: number } {
  try {
    call();
  } catch (err) {
    return err as Error & { code?: string; statusCode?: number };
  }
  throw new Error('nothing was thrown');
}

const ILL_FORMED: Array<[string, string]> = [
  ['a lone high surrogate at the end', 'user:\ud800'],
  ['a lone low surrogate', 'user:\udc00'],
  ['a lone high surrogate before an ordinary character', '\udbffx'],
  ['a surrogate pair in the wrong order', 'user:\ude00\ud83d'],
  ['a lone surrogate alone', '\udfff'],
  ['a lone surrogate after a well-formed pair', '😀\ud83d'],
];

describe('ill-formed keys (issue 9, defect 5)', () => {
  it.each(ILL_FORMED)('refuses %s with TALLYMESH_ERR_KEY_MALFORMED (TypeError, 400) on consume, peek, count and reset', (_what, key) => {
    const limiter = limiterAt(1_000_000);
    for (const call of [() => limiter.consume(key), () => limiter.peek(key), () => limiter.count(key), () => limiter.reset(key)]) {
      const err = thrown(call);
      expect(err).toBeInstanceOf(TypeError);
      expect(err.code).toBe('TALLYMESH_ERR_KEY_MALFORMED');
      expect(err.statusCode).toBe(400);
      expect(isTallymeshError(err, 'TALLYMESH_ERR_KEY_MALFORMED' as never)).toBe(true);
      expect(err.message).toMatch(/well-formed/);
      // The message shows the key escaped, so a log line stays valid UTF-8.
      expect(err.message).toContain(JSON.stringify(key).slice(1, -1));
      expect(Buffer.from(err.message, 'utf8').toString('utf8')).toBe(err.message);
    }
    // Nothing was counted or created, not even a tombstone.
    expect(limiter.size).toBe(0);
    expect(limiter.stats).toEqual({ allowed: 0, denied: 0, overflows: 0 });
  });

  it('accepts astral characters written as well-formed surrogate pairs, each its own key', () => {
    const limiter = limiterAt(1_000_000);
    expect(limiter.consume('user:😀').remaining).toBe(9);
    // The same key spelled with escapes is the same key.
    expect(limiter.consume('user:\ud83d\ude00').remaining).toBe(8);
    expect(limiter.consume('user:😁').remaining).toBe(9);
    expect(limiter.consume('𝄞').remaining).toBe(9);
    // U+FFFD written on purpose is an ordinary character.
    expect(limiter.consume('user:\ufffd').remaining).toBe(9);
    expect(limiter.size).toBe(4);
  });

  it('refuses a key exactly when it is not well-formed, whatever the string (property)', () => {
    const unit = fc.oneof(
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom('a', '😀', '€'),
    );
    fc.assert(
      fc.property(fc.array(unit, { minLength: 1, maxLength: 40 }), (units) => {
        const key = units.join('');
        const wellFormed = Buffer.from(key, 'utf8').toString('utf8') === key;
        let code: string | undefined;
        try {
          checkKey(key);
        } catch (err) {
          code = (err as { code: string }).code;
        }
        expect(code).toBe(wellFormed ? undefined : 'TALLYMESH_ERR_KEY_MALFORMED');
      }),
      fcParams(2_000),
    );
  });

  it('checks the type and emptiness of a key before its form', () => {
    expect(thrown(() => checkKey('')).code).toBe('TALLYMESH_ERR_KEY_INVALID');
    expect(thrown(() => checkKey(42)).code).toBe('TALLYMESH_ERR_KEY_INVALID');
    // A long ill-formed key is malformed, whatever its length.
    expect(thrown(() => checkKey(`${'x'.repeat(300)}\ud800`)).code).toBe('TALLYMESH_ERR_KEY_MALFORMED');
  });
});
