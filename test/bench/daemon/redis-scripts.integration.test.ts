/**
 * The Redis competitors of the daemon benchmark, run in a real redis-server:
 * the bucketed-counter script must decide exactly as a tallymesh limiter does
 * (same admissions, remaining and reset on the same schedule), or the
 * benchmark's "same algorithm" comparison is not one; both scripts admit up
 * to the limit and deny past it; and a hot key's hash stays bounded.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisProcess } from '../../../bench/daemon/daemon-processes.js';
import { REDIS_SCRIPT_NAMES, redisScript } from '../../../bench/daemon/redis-scripts.js';
import { createLimiter } from '../../../src/index.js';
import { fcParams } from '../../helpers/fc.js';

let server: RedisProcess | null = null;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  if (server === null) throw new Error('redis-server is not installed: `apt-get install -y redis-server` (the benchmark installs it itself)');
  redis = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await redis.connect();
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

type Reply = [number, number, number, number, number];

describe('the bucketed-counter script', () => {
  const script = redisScript('bucketed-counter');
  let n = 0;

  it('decides as a tallymesh limiter does on any schedule (allowed, limit, remaining, resetMs; retryAfterMs 0 when admitted, never later than tallymesh when denied)', async () => {
    const sha = (await redis.script('LOAD', script.lua)) as string;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          windowMs: fc.integer({ min: 1_000, max: 120_000 }),
          buckets: fc.integer({ min: 1, max: 60 }),
          limit: fc.integer({ min: 1, max: 20 }),
          start: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
          ops: fc.array(fc.record({ dt: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 200_000 })), key: fc.integer({ min: 0, max: 2 }), cost: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 60 }),
        }),
        async ({ windowMs, buckets, limit, start, ops }) => {
          const b = Math.min(buckets, windowMs);
          let t = start;
          const limiter = createLimiter({ name: 'same', limit, windowMs, buckets: b, now: () => t });
          const prefix = `prop:${n++}:`;
          for (const op of ops) {
            t += op.dt;
            const cost = Math.min(op.cost, limit);
            const want = limiter.consume(`k${op.key}`, cost);
            const got = (await redis.evalsha(sha, 1, `${prefix}k${op.key}`, t, windowMs, b, limit, cost)) as Reply;
            const at = `t=${t} key=k${op.key} cost=${cost} W=${windowMs} B=${b} L=${limit}`;
            expect([got[0] === 1, got[1], got[2], got[3]], at).toEqual([want.allowed, want.limit, want.remaining, want.resetMs]);
            if (want.allowed) expect(got[4], at).toBe(0);
            else expect(got[4], at).toBeLessThanOrEqual(want.retryAfterMs);
          }
        },
      ),
      fcParams(40),
    );
  }, 120_000);

  it('keeps a hot key to the window\'s buckets plus one, expiring one bucket after the window', async () => {
    const sha = (await redis.script('LOAD', script.lua)) as string;
    const windowMs = 10_000;
    const buckets = 10;
    let t = 1_700_000_000_000;
    for (let i = 0; i < 500; i++) {
      t += 97;
      await redis.evalsha(sha, 1, 'hot', t, windowMs, buckets, 1_000_000, 1);
    }
    expect(await redis.hlen('hot')).toBeLessThanOrEqual(buckets + 1);
    const ttl = await redis.pttl('hot');
    expect(ttl).toBeGreaterThan(windowMs);
    expect(ttl).toBeLessThanOrEqual(windowMs + windowMs / buckets);
  });
});

describe.each(REDIS_SCRIPT_NAMES)('the %s script', (name) => {
  it('admits exactly the limit on one key within a window, then denies without counting', async () => {
    const script = redisScript(name);
    const sha = (await redis.script('LOAD', script.lua)) as string;
    const limiter = { limit: 5, windowMs: 60_000, buckets: 60 };
    const now = 1_700_000_000_000;
    const replies: unknown[] = [];
    for (let i = 0; i < 8; i++) replies.push(await redis.evalsha(sha, 1, `limit:${name}`, ...script.argv(limiter, now + i, i)));
    expect(replies.map((r) => script.admitted(r))).toEqual([true, true, true, true, true, false, false, false]);
  });
});
