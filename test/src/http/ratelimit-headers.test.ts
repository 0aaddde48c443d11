import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ceilSeconds,
  formatRateLimit,
  formatRateLimitPolicy,
  formatRetryAfter,
  isSfString,
  serializeSfString,
} from '../../../src/http/ratelimit-headers.js';

/** A strict RFC 8941 §4.2.5 sf-string parser, to check that what we write reads back. */
function parseSfString(input: string): { value: string; rest: string } {
  if (input[0] !== '"') throw new Error('not a string');
  let out = '';
  for (let i = 1; i < input.length; i++) {
    const c = input[i];
    if (c === '\\') {
      const next = input[++i];
      if (next !== '"' && next !== '\\') throw new Error(`bad escape at ${i}`);
      out += next;
    } else if (c === '"') {
      return { value: out, rest: input.slice(i + 1) };
    } else if (c < ' ' || c > '~') {
      throw new Error(`bad character at ${i}`);
    } else out += c;
  }
  throw new Error('unterminated string');
}

describe('serializeSfString', () => {
  it('wraps a plain name in double quotes', () => {
    expect(serializeSfString('api')).toBe('"api"');
  });

  it('escapes double quotes and backslashes with a backslash', () => {
    expect(serializeSfString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(serializeSfString('"')).toBe('"\\""');
    expect(serializeSfString('\\')).toBe('"\\\\"');
  });

  it('keeps spaces, semicolons and commas inside the quotes', () => {
    expect(serializeSfString('per user; v2, beta')).toBe('"per user; v2, beta"');
  });

  it('serialises the empty string', () => {
    expect(serializeSfString('')).toBe('""');
  });

  it('refuses characters outside printable ASCII with a RangeError naming policyName', () => {
    for (const bad of ['café', 'a\nb', 'tab\there', '\x7f', '\u0000', '😀']) {
      let caught: unknown;
      try {
        serializeSfString(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RangeError);
      expect(caught).toMatchObject({ code: 'TALLYMESH_ERR_OPTION_RANGE' });
      expect((caught as Error).message).toMatch(/^Option "policyName" must be printable ASCII \(0x20-0x7E\), got /);
    }
  });

  it('reads back as the same string for every printable ASCII input', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }), (s) => {
        const { value, rest } = parseSfString(serializeSfString(s));
        expect(value).toBe(s);
        expect(rest).toBe('');
      }),
      { seed: 8941 },
    );
  });
});

describe('isSfString', () => {
  it('accepts printable ASCII and rejects control and non-ASCII characters', () => {
    expect(isSfString(' ~azAZ09"\\')).toBe(true);
    expect(isSfString('\x1f')).toBe(false);
    expect(isSfString('é')).toBe(false);
  });
});

describe('formatRateLimitPolicy', () => {
  it('formats the quota and the window in seconds', () => {
    expect(formatRateLimitPolicy({ name: 'api', limit: 100, windowMs: 60_000 })).toBe('"api";q=100;w=60');
  });

  it('rounds a fractional window up and never advertises w=0', () => {
    expect(formatRateLimitPolicy({ name: 'api', limit: 5, windowMs: 1500 })).toBe('"api";q=5;w=2');
    expect(formatRateLimitPolicy({ name: 'api', limit: 5, windowMs: 1 })).toBe('"api";q=5;w=1');
  });

  it('escapes the policy name', () => {
    expect(formatRateLimitPolicy({ name: 'say "hi"', limit: 1, windowMs: 1000 })).toBe('"say \\"hi\\"";q=1;w=1');
  });

  it('clamps a limit beyond the 15-digit sf-integer range', () => {
    expect(formatRateLimitPolicy({ name: 'x', limit: 1e16, windowMs: 1000 })).toBe('"x";q=999999999999999;w=1');
  });
});

describe('formatRateLimit', () => {
  it('formats remaining and the seconds to reset, rounded up', () => {
    expect(formatRateLimit({ name: 'api', remaining: 57, resetMs: 11_200 })).toBe('"api";r=57;t=12');
    expect(formatRateLimit({ name: 'api', remaining: 57, resetMs: 12_000 })).toBe('"api";r=57;t=12');
    expect(formatRateLimit({ name: 'api', remaining: 0, resetMs: 1 })).toBe('"api";r=0;t=1');
  });

  it('writes zero for a zero, negative or non-numeric count', () => {
    expect(formatRateLimit({ name: 'api', remaining: 0, resetMs: 0 })).toBe('"api";r=0;t=0');
    expect(formatRateLimit({ name: 'api', remaining: -3, resetMs: -5 })).toBe('"api";r=0;t=0');
    expect(formatRateLimit({ name: 'api', remaining: Number.NaN, resetMs: Number.NaN })).toBe('"api";r=0;t=0');
  });

  it('escapes the policy name', () => {
    expect(formatRateLimit({ name: 'a\\b', remaining: 1, resetMs: 1000 })).toBe('"a\\\\b";r=1;t=1');
  });
});

describe('formatRetryAfter', () => {
  it('rounds up to whole seconds', () => {
    expect(formatRetryAfter(1000)).toBe('1');
    expect(formatRetryAfter(1001)).toBe('2');
    expect(formatRetryAfter(12_001)).toBe('13');
  });

  it('is at least one second', () => {
    expect(formatRetryAfter(0)).toBe('1');
    expect(formatRetryAfter(1)).toBe('1');
    expect(formatRetryAfter(-10)).toBe('1');
  });
});

describe('ceilSeconds', () => {
  it('rounds milliseconds up to seconds and clamps negatives to zero', () => {
    expect(ceilSeconds(0)).toBe(0);
    expect(ceilSeconds(999)).toBe(1);
    expect(ceilSeconds(-1)).toBe(0);
  });
});
