import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/limiter/limiter.js';
import * as simEntry from '../../src/sim/index.js';
import * as configParsers from '../../src/daemon/config/parse.js';
import {
  checkCost,
  checkKey,
  defaultBuckets,
  describeConfigValue,
  describeValue,
  enumOption,
  formatMs,
  integerOption,
  MAX_BUCKETS,
  MAX_KEY_BYTES,
  nameOption,
  parseDuration,
} from '../../src/validate.js';
import { fcParams } from '../helpers/fc.js';

type ErrorClass = typeof TypeError | typeof RangeError;

/** Runs `fn` and returns what it threw (fails the test when it does not throw). */
function thrown(fn: () => unknown): Error & { code?: string; statusCode?: number } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

function expectError(fn: () => unknown, Class: ErrorClass, code: string, ...inMessage: string[]): void {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(Class);
  // A TypeError must not pass for a RangeError or the other way round.
  expect(err).not.toBeInstanceOf(Class === TypeError ? RangeError : TypeError);
  expect(err.code).toBe(code);
  expect(err.statusCode).toBe(400);
  for (const part of inMessage) expect(err.message).toContain(part);
}

const BASE = { name: 'api', limit: 10, windowMs: 1_000, now: () => 1_000 };
const make = (over: Record<string, unknown>) => () => createLimiter({ ...BASE, ...over } as never);

describe('limiter options', () => {
  it.each([
    ['limit', 0],
    ['limit', -1],
    ['limit', 1.5],
    ['limit', Infinity],
    ['limit', 1e13],
    ['windowMs', 0],
    ['windowMs', -1_000],
    ['windowMs', 0.5],
    ['buckets', 0],
    ['buckets', 1.5],
    ['buckets', 10.000001],
    ['buckets', MAX_BUCKETS + 1],
    ['buckets', 10_000],
    ['maxKeys', 0],
    ['onOverflow', 'drop'],
    ['name', ''],
    ['name', 'has space'],
    ['name', 'x'.repeat(65)],
    ['nodeId', 'a#b'],
  ])('rejects %s = %s with a RangeError naming the option', (option, value) => {
    expectError(make({ [option]: value }), RangeError, 'TALLYMESH_ERR_OPTION_RANGE', `"${option}"`);
  });

  it.each([
    ['limit', '100'],
    ['limit', NaN],
    ['limit', undefined],
    ['windowMs', '1s'],
    ['windowMs', null],
    ['buckets', '10'],
    ['name', 42],
    ['now', 'yesterday'],
  ])('rejects %s = %s with a TypeError naming the option', (option, value) => {
    expectError(make({ [option]: value }), TypeError, 'TALLYMESH_ERR_OPTION_TYPE', `"${option}"`);
  });

  it('rejects options that are not an object', () => {
    expectError(() => createLimiter(null as never), TypeError, 'TALLYMESH_ERR_OPTION_TYPE', '"options"');
  });

  it('accepts the bounds themselves', () => {
    expect(createLimiter({ ...BASE, limit: 1, windowMs: 1, buckets: 1 }).buckets).toBe(1);
    expect(createLimiter({ ...BASE, buckets: MAX_BUCKETS }).buckets).toBe(600);
    expect(createLimiter({ ...BASE, name: 'a'.repeat(64) }).name).toHaveLength(64);
  });

  it('says what it accepted and what it got', () => {
    expect(thrown(make({ buckets: 601 })).message).toBe('Option "buckets" must be an integer from 1 to 600, got 601');
    expect(thrown(make({ limit: 0 })).message).toBe('Option "limit" must be an integer from 1 to 1000000000000, got 0');
    expect(thrown(make({ windowMs: '1s' })).message).toBe('Option "windowMs" must be a number, got "1s"');
  });
});

describe('cost', () => {
  const limiter = createLimiter({ ...BASE, limit: 3 });

  it.each([0, -1, 1.5, 4, NaN, Infinity])('rejects cost %s with a RangeError naming the cost and the limit', (cost) => {
    expectError(() => limiter.consume('k', cost), RangeError, 'TALLYMESH_ERR_COST_INVALID', 'Cost', '(3)');
  });

  it('rejects a cost that is not a number', () => {
    expectError(() => limiter.consume('k', '2' as never), RangeError, 'TALLYMESH_ERR_COST_INVALID', 'Cost', '"2"');
  });

  it('counts nothing when it rejects a cost', () => {
    expect(() => limiter.consume('fresh', 4)).toThrow();
    expect(limiter.count('fresh')).toBe(0);
    expect(limiter.size).toBe(0);
  });

  it('checks the cost against the limit in force', () => {
    const l = createLimiter({ ...BASE, limit: 5 });
    expect(l.consume('k', 5).allowed).toBe(true);
    l.setLimit(2);
    expectError(() => l.consume('k', 3), RangeError, 'TALLYMESH_ERR_COST_INVALID', '(2)');
    expect(() => checkCost(2, 2)).not.toThrow();
  });
});

describe('keys', () => {
  const limiter = createLimiter(BASE);

  it.each([[''], [undefined], [null], [42], [{}], [['a']]])('rejects key %j with a TypeError', (key) => {
    for (const call of [
      () => limiter.consume(key as never),
      () => limiter.peek(key as never),
      () => limiter.count(key as never),
      () => limiter.reset(key as never),
    ]) {
      expectError(call, TypeError, 'TALLYMESH_ERR_KEY_INVALID', 'Key');
    }
  });

  it('measures the 256-byte bound in bytes of UTF-8', () => {
    const cases: Array<[string, number]> = [
      ['a'.repeat(256), 256],
      ['a'.repeat(257), 257],
      ['é'.repeat(128), 256],
      ['é'.repeat(129), 258],
      ['€'.repeat(85), 255],
      ['€'.repeat(86), 258],
      ['😀'.repeat(64), 256],
      ['😀'.repeat(65), 260],
      ['a'.repeat(255) + '€', 258],
    ];
    for (const [key, bytes] of cases) {
      expect(Buffer.byteLength(key, 'utf8')).toBe(bytes);
      if (bytes <= MAX_KEY_BYTES) expect(limiter.consume(key).allowed).toBe(true);
      else expectError(() => limiter.consume(key), RangeError, 'TALLYMESH_ERR_KEY_TOO_LONG', 'Key', '256', String(bytes));
    }
  });

  it('accepts exactly the non-empty strings of at most 256 bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 120 }), fc.string({ maxLength: 300 })), (key) => {
        const bytes = Buffer.byteLength(key, 'utf8');
        const err = (() => {
          try {
            checkKey(key);
            return null;
          } catch (e) {
            return e as { code: string };
          }
        })();
        if (key.length === 0) expect(err?.code).toBe('TALLYMESH_ERR_KEY_INVALID');
        else if (bytes > MAX_KEY_BYTES) expect(err?.code).toBe('TALLYMESH_ERR_KEY_TOO_LONG');
        else expect(err).toBeNull();
      }),
      fcParams(1000),
    );
  });
});

describe('validators', () => {
  it('return the value they accept', () => {
    expect(integerOption('n', 5, 1, 10)).toBe(5);
    expect(nameOption('api.v2_x-1')).toBe('api.v2_x-1');
    expect(enumOption('mode', 'deny', ['allow', 'deny'])).toBe('deny');
  });

  it('name the option they reject', () => {
    expectError(() => integerOption('gossipIntervalMs', 0, 1, 10), RangeError, 'TALLYMESH_ERR_OPTION_RANGE', '"gossipIntervalMs"');
    expectError(() => nameOption('-x', 'nodeId'), RangeError, 'TALLYMESH_ERR_OPTION_RANGE', '"nodeId"');
    expectError(() => enumOption('onOverflow', 1, ['allow', 'deny']), RangeError, 'TALLYMESH_ERR_OPTION_RANGE', '"onOverflow"', 'allow, deny');
  });

  it('default to one bucket per second, clamped to [10, 600]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 31 * 24 * 3_600_000 }), (windowMs) => {
        const b = defaultBuckets(windowMs);
        expect(b).toBeGreaterThanOrEqual(10);
        expect(b).toBeLessThanOrEqual(600);
        if (windowMs >= 10_500 && windowMs < 599_500) expect(b).toBe(Math.round(windowMs / 1000));
      }),
      fcParams(500),
    );
  });
});

describe('durations', () => {
  it('are parsed in one place, which the sim entry and the daemon config share', () => {
    expect(simEntry.parseDuration).toBe(parseDuration);
    expect(configParsers.parseDuration).toBe(parseDuration);
    expect(configParsers.formatMs).toBe(formatMs);
    expect(parseDuration('1.5s', 'x')).toBe(1_500);
    expect(formatMs(31 * 86_400_000)).toBe('31d');
    const err = thrown(() => parseDuration('2m', 'gossipInterval', 1, 60_000));
    expect(err.code).toBe('TALLYMESH_ERR_CONFIG_INVALID');
    expect(err.message).toBe('Invalid configuration: gossipInterval: must be from 1ms to 1m, got "2m"');
  });

  it('show values as options and as config fields', () => {
    expect([describeValue([1]), describeConfigValue([1])]).toEqual(['an array', 'a list']);
    expect(describeValue('x'.repeat(50))).toBe(JSON.stringify(`${'x'.repeat(40)}…`));
    expect(describeConfigValue('x'.repeat(50))).toBe(JSON.stringify('x'.repeat(50)));
  });
});
