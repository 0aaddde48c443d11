/**
 * The two Redis competitors of the daemon scenario, each a Lua script kept in
 * its own file beside this one (`redis-sliding-window.lua`,
 * `redis-bucketed-counter.lua`) and read from there at run time, so the
 * script the benchmark loads is the file, and the result file (and through it
 * docs/benchmarks.md) quotes that same text.
 *
 * Each script has a way to build its EVALSHA arguments for one decision.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Which Redis script a row runs. */
export type RedisScriptName = 'sliding-window' | 'bucketed-counter';

/** The limiter both sides enforce. */
export interface RedisLimiter {
  limit: number;
  windowMs: number;
  buckets: number;
}

/** One script: where it lives, its text, and its EVALSHA arguments (after the key) for one decision. */
export interface RedisScript {
  name: RedisScriptName;
  /** Path from the repository root, as the docs cite it. */
  file: string;
  lua: string;
  /** ARGV of one decision at `nowMs`; `seq` makes a member unique where the script needs one. */
  argv(limiter: RedisLimiter, nowMs: number, seq: number): Array<string | number>;
  /** True when the script's reply admits the request (`[1, …]` for both). */
  admitted(reply: unknown): boolean;
}

/** `bench/daemon/<name>.lua` in the repository, from this module's compiled place (`dist/bench/daemon/`) or its source. */
function scriptPath(file: string): string {
  const compiled = new URL(`../../../bench/daemon/${file}`, import.meta.url);
  const source = new URL(`./${file}`, import.meta.url);
  return fileURLToPath(import.meta.url.includes('/dist/bench/') ? compiled : source);
}

const admittedFirst = (reply: unknown): boolean => Array.isArray(reply) && reply[0] === 1;
/** Unique per process, so two benchmark processes never share a sorted-set member. */
const memberTag = `${process.pid}-`;

/**
 * Reads the script `name` from its file.
 *
 * @example
 * const { lua, argv } = redisScript('bucketed-counter');
 */
export function redisScript(name: RedisScriptName): RedisScript {
  const file = `bench/daemon/redis-${name}.lua`;
  const lua = readFileSync(scriptPath(`redis-${name}.lua`), 'utf8');
  switch (name) {
    case 'sliding-window':
      return { name, file, lua, argv: (l, now, seq) => [now, l.windowMs, l.limit, memberTag + seq], admitted: admittedFirst };
    case 'bucketed-counter':
      return { name, file, lua, argv: (l, now) => [now, l.windowMs, l.buckets, l.limit, 1], admitted: admittedFirst };
  }
}

/** Every script, in the order the docs list them. */
export const REDIS_SCRIPT_NAMES: readonly RedisScriptName[] = ['sliding-window', 'bucketed-counter'];
