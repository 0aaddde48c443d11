import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../../src/limiter/limiter.js';
import { expressRateLimit } from '../../../src/http/express.js';
import { fastifyRateLimit } from '../../../src/http/fastify.js';
import { rateLimit } from '../../../src/http/node.js';
import { clientAddress, RateLimitEngine, type FrameworkConvention } from '../../../src/http/rate-limit-engine.js';

const limiter = createLimiter({ name: 'api', limit: 3, windowMs: 10_000, now: () => 1_000_000_000_000 });

/** Runs `build` and returns what it threw. */
function thrown(build: () => unknown): Error & { code?: string } {
  try {
    build();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

function fakeRequest(remoteAddress: string | undefined, forwardedFor?: string): IncomingMessage {
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

const factories = [
  ['rateLimit', rateLimit],
  ['expressRateLimit', expressRateLimit],
  ['fastifyRateLimit', fastifyRateLimit],
] as const;

describe.each(factories)('%s options', (_name, factory) => {
  const build = (options: unknown) => () => (factory as (o: unknown) => unknown)(options);

  it('throws a TypeError naming limiter when the limiter is missing', () => {
    const err = thrown(build({ key: () => 'k' }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('TALLYMESH_ERR_OPTION_TYPE');
    expect(err.message).toBe('Option "limiter" must be a Limiter (createLimiter() or mesh.limiter()), got undefined');
  });

  it('throws a TypeError when the limiter is not a limiter', () => {
    const err = thrown(build({ limiter: { name: 'api' } }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('TALLYMESH_ERR_OPTION_TYPE');
    expect(err.message).toBe('Option "limiter" must be a Limiter (createLimiter() or mesh.limiter()), got an object');
  });

  it('throws a TypeError when the options are not an object', () => {
    const err = thrown(build(undefined));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('TALLYMESH_ERR_OPTION_TYPE');
    expect(err.message).toBe('Option "options" must be an object, got undefined');
  });

  it.each(['key', 'cost', 'skip', 'onLimited'])('throws a TypeError when %s is not a function', (option) => {
    const err = thrown(build({ limiter, [option]: 'nope' }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('TALLYMESH_ERR_OPTION_TYPE');
    expect(err.message).toBe(`Option "${option}" must be a function, got "nope"`);
  });

  it('throws a RangeError for a policy name that is empty or not printable ASCII', () => {
    for (const policyName of ['', 'café', 'a\nb', 'x'.repeat(257)]) {
      const err = thrown(build({ limiter, policyName }));
      expect(err).toBeInstanceOf(RangeError);
      expect(err.code).toBe('TALLYMESH_ERR_OPTION_RANGE');
      expect(err.message).toMatch(/^Option "policyName" must be 1-256 characters of printable ASCII \(0x20-0x7E\), got /);
    }
  });

  it('throws a TypeError for a policy name that is not a string', () => {
    const err = thrown(build({ limiter, policyName: 7 }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('TALLYMESH_ERR_OPTION_TYPE');
    expect(err.message).toBe('Option "policyName" must be a string, got 7');
  });

  it('throws a RangeError for a headers mode other than draft or false', () => {
    for (const headers of [true, 'legacy', 0]) {
      const err = thrown(build({ limiter, headers }));
      expect(err).toBeInstanceOf(RangeError);
      expect(err.code).toBe('TALLYMESH_ERR_OPTION_RANGE');
      expect(err.message).toMatch(/^Option "headers" must be 'draft' or false, got /);
    }
  });

  it('throws for a trustProxy that is neither a boolean nor a hop count', () => {
    const type = thrown(build({ limiter, trustProxy: 'yes' }));
    expect(type).toBeInstanceOf(TypeError);
    expect(type.code).toBe('TALLYMESH_ERR_OPTION_TYPE');
    expect(type.message).toBe('Option "trustProxy" must be a boolean or a number of hops, got "yes"');
    for (const trustProxy of [-1, 1.5, 65]) {
      const range = thrown(build({ limiter, trustProxy }));
      expect(range).toBeInstanceOf(RangeError);
      expect(range.code).toBe('TALLYMESH_ERR_OPTION_RANGE');
      expect(range.message).toBe(`Option "trustProxy" must be an integer from 0 to 64, got ${trustProxy}`);
    }
  });

  it('accepts a limiter and every documented option', () => {
    const options = {
      limiter,
      key: () => 'k',
      cost: () => 1,
      skip: () => false,
      policyName: 'api "v2"',
      headers: false,
      trustProxy: 2,
      onLimited: () => {},
    };
    expect(typeof (factory as (o: unknown) => unknown)(options)).toBe('function');
  });
});

describe('rateLimit options', () => {
  it('throws a TypeError when onError is not a function', () => {
    const err = thrown(() => rateLimit({ limiter, onError: 1 as never }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('TALLYMESH_ERR_OPTION_TYPE');
    expect(err.message).toBe('Option "onError" must be a function, got 1');
  });
});

describe('clientAddress', () => {
  it('is the socket peer by default, ignoring X-Forwarded-For', () => {
    expect(clientAddress(fakeRequest('10.0.0.1', '203.0.113.7'))).toBe('10.0.0.1');
    expect(clientAddress(fakeRequest('10.0.0.1', '203.0.113.7'), false)).toBe('10.0.0.1');
    expect(clientAddress(fakeRequest('10.0.0.1', '203.0.113.7'), 0)).toBe('10.0.0.1');
  });

  it('is the leftmost forwarded address when every proxy is trusted', () => {
    expect(clientAddress(fakeRequest('10.0.0.1', ' 203.0.113.7 , 198.51.100.2'), true)).toBe('203.0.113.7');
  });

  it('counts trusted hops back from this server', () => {
    const req = fakeRequest('10.0.0.1', '203.0.113.7, 198.51.100.2, 192.0.2.9');
    expect(clientAddress(req, 1)).toBe('192.0.2.9');
    expect(clientAddress(req, 2)).toBe('198.51.100.2');
    expect(clientAddress(req, 3)).toBe('203.0.113.7');
    // More trusted hops than the chain holds: the farthest address there is.
    expect(clientAddress(req, 9)).toBe('203.0.113.7');
  });

  it('falls back to the socket peer when no address was forwarded', () => {
    expect(clientAddress(fakeRequest('10.0.0.1'), true)).toBe('10.0.0.1');
    expect(clientAddress(fakeRequest('10.0.0.1', ' , '), 1)).toBe('10.0.0.1');
  });

  it('is undefined when the socket has no address', () => {
    expect(clientAddress(fakeRequest(undefined))).toBeUndefined();
  });
});

describe('RateLimitEngine', () => {
  it('defaults the policy name to the limiter name and the headers to draft', () => {
    const engine = new RateLimitEngine({ limiter }, (req: IncomingMessage) => req);
    expect(engine.policyName).toBe('api');
    expect(engine.headers).toBe('draft');
  });

  it('rejects a request without a client address with TALLYMESH_ERR_KEY_INVALID', () => {
    const engine = new RateLimitEngine({ limiter }, (req: IncomingMessage) => req);
    const err = thrown(() => engine.decide(fakeRequest(undefined)));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('TALLYMESH_ERR_KEY_INVALID');
    expect(err.message).toBe('Key must be a non-empty string, got ""');
  });

  it('decides nothing for a skipped request', () => {
    const engine = new RateLimitEngine({ limiter, skip: () => true }, (req: IncomingMessage) => req);
    expect(engine.decide(fakeRequest('10.9.9.9'))).toBeNull();
    expect(limiter.peek('10.9.9.9').remaining).toBe(3);
  });
});

describe('RateLimitEngine.handle', () => {
  type Res = { headers: Record<string, string>; status?: number; sent?: unknown };
  /** A convention that records every step into `log`. */
  function recorder(log: string[]): FrameworkConvention<IncomingMessage, Res, string> {
    return {
      setHeader: (res, name, value) => {
        res.headers[name] = value;
      },
      proceed: (next) => log.push(`proceed ${next}`),
      setStatus: (res, status) => {
        res.status = status;
      },
      sendLimited: (res, body) => {
        res.sent = body;
        log.push('sendLimited');
      },
      fail: (err, _req, _res, next) => log.push(`fail ${next} ${(err as { code?: string }).code}`),
      failLimited: (err, _req, _res, next) => log.push(`failLimited ${next} ${(err as Error).message}`),
    };
  }
  const now = () => 1_000_000_000_000;

  it('sets the header fields and proceeds while allowed, then answers 429 with the default body', () => {
    const engine = new RateLimitEngine<IncomingMessage, Res>({ limiter: createLimiter({ name: 'h', limit: 1, windowMs: 10_000, now }) }, (req: IncomingMessage) => req);
    const log: string[] = [];
    const allowed: Res = { headers: {} };
    expect(engine.handle(fakeRequest('10.1.1.1'), allowed, 'next', recorder(log))).toBe(true);
    expect(allowed).toEqual({ headers: { 'RateLimit-Policy': '"h";q=1;w=10', RateLimit: expect.stringMatching(/^"h";r=0;t=\d+$/) } });
    const denied: Res = { headers: {} };
    expect(engine.handle(fakeRequest('10.1.1.1'), denied, 'next', recorder(log))).toBe(false);
    expect(denied.status).toBe(429);
    const retryAfter = Number(denied.headers['Retry-After']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(denied.sent).toMatchObject({ error: { code: 'TALLYMESH_ERR_RATE_LIMITED', retryAfter } });
    expect(log).toEqual(['proceed next', 'sendLimited']);
  });

  it('proceeds without headers for a skipped request and fails with what the key function threw', () => {
    const log: string[] = [];
    const skipped = new RateLimitEngine<IncomingMessage, Res>({ limiter, skip: () => true }, (req: IncomingMessage) => req);
    const res: Res = { headers: {} };
    expect(skipped.handle(fakeRequest('10.1.1.2'), res, 'n', recorder(log))).toBe(true);
    expect(res.headers).toEqual({});
    const broken = new RateLimitEngine<IncomingMessage, Res>({ limiter, key: () => '' }, (req: IncomingMessage) => req);
    expect(broken.handle(fakeRequest('10.1.1.2'), { headers: {} }, 'n', recorder(log))).toBe(false);
    expect(log).toEqual(['proceed n', 'fail n TALLYMESH_ERR_KEY_INVALID']);
  });

  it('routes a throwing onLimited to failLimited after setting 429', () => {
    const onLimited = () => {
      throw new Error('boom');
    };
    const engine = new RateLimitEngine<IncomingMessage, Res>({ limiter: createLimiter({ name: 'h', limit: 1, windowMs: 10_000, now }), onLimited }, (req: IncomingMessage) => req);
    const log: string[] = [];
    engine.handle(fakeRequest('10.1.1.3'), { headers: {} }, 'n', recorder(log));
    const res: Res = { headers: {} };
    expect(engine.handle(fakeRequest('10.1.1.3'), res, 'n', recorder(log))).toBe(false);
    expect(res.status).toBe(429);
    expect(log).toEqual(['proceed n', 'failLimited n boom']);
  });
});
