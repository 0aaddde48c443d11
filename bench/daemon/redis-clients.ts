/**
 * ioredis clients of the daemon scenario, all in the benchmark's own process,
 * one connection each (ioredis's default, no autopipelining: the faster
 * setting for this load on this machine, so Redis gets the better of the two):
 * - a Redis script (redis-scripts.ts) through EVALSHA, one per decision or a
 *   pipeline of `batchSize`;
 * - the daemon's RESP port through `call('TM.CONSUME', …)`, likewise.
 *
 * Each client's `issue()` sends one call (or one pipeline) and resolves with
 * the decisions it got back once every reply is read and checked.
 */
import { Redis } from 'ioredis';
import type { Client, KeyPicker } from './daemon-clients.js';
import type { RedisLimiter, RedisScript } from './redis-scripts.js';

/** ioredis `enableAutoPipelining`: measured slower than off for this load here. */
const AUTO_PIPELINING = false;

async function connect(port: number, password?: string): Promise<Redis> {
  const redis = new Redis({ host: '127.0.0.1', port, password, enableAutoPipelining: AUTO_PIPELINING, maxRetriesPerRequest: 0, lazyConnect: true });
  await redis.connect();
  return redis;
}

/** Not quit(): after a failure (server gone) it would wait on a reconnect that never comes. */
const disconnect = (redis: Redis) => async (): Promise<void> => redis.disconnect();

/** The replies of one pipeline, each checked; throws the first command error. */
function pipelineReplies(results: Array<[Error | null, unknown]> | null, size: number, what: string): unknown[] {
  if (results === null || results.length !== size) throw new Error(`${what}: ${results?.length ?? 0} replies for ${size} commands`);
  return results.map(([err, reply]) => {
    if (err) throw err;
    return reply;
  });
}

/** Options of {@link redisScriptClient}. */
export interface RedisScriptClientOptions {
  port: number;
  script: RedisScript;
  limiter: RedisLimiter;
  /** Key prefix in Redis, e.g. the limiter's name. */
  prefix: string;
  keys: KeyPicker;
  /** 1: one EVALSHA per `issue()`; more: a pipeline of that many. */
  batchSize: number;
}

/** One ioredis connection to redis-server running `o.script` by EVALSHA. */
export async function redisScriptClient(o: RedisScriptClientOptions): Promise<Client> {
  const redis = await connect(o.port);
  const sha = (await redis.script('LOAD', o.script.lua)) as string;
  let seq = 0;
  const check = (reply: unknown): void => {
    if (!o.script.admitted(reply)) throw new Error(`redis ${o.script.name} denied a request (reply ${JSON.stringify(reply)}) with limit ${o.limiter.limit}`);
  };
  if (o.batchSize === 1) {
    return {
      async issue() {
        check(await redis.evalsha(sha, 1, o.prefix + o.keys.next(), ...o.script.argv(o.limiter, Date.now(), seq++)));
        return 1;
      },
      close: disconnect(redis),
    };
  }
  return {
    async issue() {
      const pipeline = redis.pipeline();
      const now = Date.now();
      for (let i = 0; i < o.batchSize; i++) pipeline.evalsha(sha, 1, o.prefix + o.keys.next(), ...o.script.argv(o.limiter, now, seq++));
      for (const reply of pipelineReplies(await pipeline.exec(), o.batchSize, `redis ${o.script.name} pipeline`)) check(reply);
      return o.batchSize;
    },
    close: disconnect(redis),
  };
}

/** Options of {@link respClient}. */
export interface RespClientOptions {
  port: number;
  limiter: string;
  keys: KeyPicker;
  /** 1: one `TM.CONSUME` per `issue()`; more: a pipeline of that many. */
  batchSize: number;
  /** The daemon's API token, sent with AUTH, when it has one. */
  token?: string;
}

/** `[allowed 0|1, limit, remaining, resetMs, retryAfterMs]` with allowed 1. */
function checkTmConsume(reply: unknown): void {
  if (!Array.isArray(reply) || reply.length !== 5 || reply[0] !== 1) throw new Error(`TM.CONSUME: expected an admitted decision, got ${JSON.stringify(reply)}`);
}

/** One ioredis connection (with its default INFO ready check) to the daemon's RESP port. */
export async function respClient(o: RespClientOptions): Promise<Client> {
  const redis = await connect(o.port, o.token);
  if (o.batchSize === 1) {
    return {
      async issue() {
        checkTmConsume(await redis.call('TM.CONSUME', o.limiter, o.keys.next()));
        return 1;
      },
      close: disconnect(redis),
    };
  }
  return {
    async issue() {
      const pipeline = redis.pipeline();
      for (let i = 0; i < o.batchSize; i++) pipeline.call('TM.CONSUME', o.limiter, o.keys.next());
      for (const reply of pipelineReplies(await pipeline.exec(), o.batchSize, 'TM.CONSUME pipeline')) checkTmConsume(reply);
      return o.batchSize;
    },
    close: disconnect(redis),
  };
}
