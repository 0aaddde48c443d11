/**
 * The RESP command table: what each command means, its arity, and its reply.
 * Rate-limit commands (`TM.CONSUME`, `TM.PEEK`, `TM.RESET`) go to the
 * daemon's decision path through {@link RespDecisions}; the others are what
 * Redis clients send on connect (`HELLO`, `AUTH`, `INFO`, `SELECT 0`,
 * `CLIENT …`, `COMMAND`) and answer the way those clients expect.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { codes, isTallymeshError } from '../errors.js';
import type { Decision } from '../limiter/limiter.js';
import { encodeDecision, encodeError, encodeReply, type RespValue, type RespVersion } from './resp-encoder.js';

/** The decision path the rate-limit commands call (the daemon's Decider behind it). Registry errors thrown here are answered as error replies. */
export interface RespDecisions {
  /** Counts `cost` hits of `key` on `limiter`; `cost` is a number when the argument was an integer, else the raw text (refused by validation). */
  consume(limiter: string, key: string, cost: unknown): Decision;
  /** The decision a cost of 1 would get now, without counting. */
  peek(limiter: string, key: string): Decision;
  /** Forgets `key` on `limiter` across the cluster. */
  reset(limiter: string, key: string): void;
}

/** What a command may read and change on its connection. */
export interface RespSession {
  readonly id: number;
  version: RespVersion;
  authenticated: boolean;
  name: string | null;
  /** Set by QUIT: the server closes once this reply is written. */
  quit: boolean;
}

/** What the command table needs from the server. */
export interface RespContext {
  decisions: RespDecisions;
  /** True when `token` is the API token (always false when none is set). */
  checkToken(token: string): boolean;
  /** True when an API token is set. */
  tokenRequired: boolean;
  /** The `INFO` text (sections of `field:value` lines). */
  info(): string;
  /** Package version, reported by HELLO. */
  version: string;
}

interface CommandSpec {
  /** Argument count including the name: at least `min`, at most `max`. */
  min: number;
  max: number;
  /** Answers before AUTH. */
  preAuth?: true;
  /** Reads a key (refused when an argument was not UTF-8). */
  keyed?: true;
  run(ctx: RespContext, s: RespSession, args: string[]): string;
}

const OK = '+OK\r\n';

/** The command names answered, lower-case: the metric labels come from this list (anything else is `unknown`). */
export const COMMAND_NAMES = ['tm.consume', 'tm.peek', 'tm.reset', 'ping', 'hello', 'auth', 'info', 'select', 'client', 'command', 'quit', 'echo'] as const;

/** A command's metric label. */
export type CommandName = (typeof COMMAND_NAMES)[number] | 'unknown';

/** Integers (and only integers) become numbers, so that validation names a bad cost as sent. */
function costOf(arg: string | undefined): unknown {
  if (arg === undefined) return 1;
  return /^-?\d{1,16}$/.test(arg) ? Number(arg) : arg;
}

function hello(ctx: RespContext, s: RespSession, args: string[]): string {
  let i = 1;
  if (args.length > 1) {
    const v = args[1];
    if (v !== '2' && v !== '3') throw new codes.TALLYMESH_ERR_RESP_NOPROTO(v);
    i = 2;
  }
  let version = args.length > 1 ? (Number(args[1]) as RespVersion) : s.version;
  let name: string | null | undefined;
  for (; i < args.length; i++) {
    const opt = args[i].toLowerCase();
    if (opt === 'auth' && i + 2 < args.length) {
      // The user name is ignored: the daemon has one credential, the API token.
      authenticate(ctx, s, args[i + 2]);
      i += 2;
    } else if (opt === 'setname' && i + 1 < args.length) {
      name = args[++i];
    } else {
      throw new codes.TALLYMESH_ERR_RESP_SYNTAX(`HELLO option '${args[i]}'`);
    }
  }
  if (ctx.tokenRequired && !s.authenticated) throw new codes.TALLYMESH_ERR_RESP_NOAUTH();
  if (name !== undefined) s.name = name;
  s.version = version;
  version = s.version;
  const reply: RespValue = {
    map: [
      ['server', 'tallymesh'],
      ['version', ctx.version],
      ['proto', version],
      ['id', s.id],
      ['mode', 'standalone'],
      ['role', 'master'],
      ['modules', []],
    ],
  };
  return encodeReply(reply, version);
}

function authenticate(ctx: RespContext, s: RespSession, token: string): void {
  if (!ctx.tokenRequired) throw new codes.TALLYMESH_ERR_RESP_AUTH_NOT_CONFIGURED();
  if (!ctx.checkToken(token)) {
    s.authenticated = false;
    throw new codes.TALLYMESH_ERR_RESP_AUTH_FAILED();
  }
  s.authenticated = true;
}

function client(_ctx: RespContext, s: RespSession, args: string[]): string {
  const sub = args[1].toLowerCase();
  if (sub === 'setname' && args.length === 3) {
    s.name = args[2];
    return OK;
  }
  if (sub === 'getname' && args.length === 2) return encodeReply(s.name, s.version);
  if (sub === 'id' && args.length === 2) return `:${s.id}\r\n`;
  // CLIENT SETINFO LIB-NAME|LIB-VER <value>: sent by ioredis and node-redis on connect; nothing to keep.
  if (sub === 'setinfo' && args.length === 4) return OK;
  throw new codes.TALLYMESH_ERR_RESP_SYNTAX(`CLIENT ${args[1]} with ${args.length - 2} arguments is not supported (SETNAME, GETNAME, ID, SETINFO)`);
}

function command(_ctx: RespContext, s: RespSession, args: string[]): string {
  const sub = args.length > 1 ? args[1].toLowerCase() : '';
  // Clients ask for command metadata only to route cluster keys or to cache docs: an empty answer is accepted by all.
  if (sub === '' || sub === 'info' || sub === 'list') return '*0\r\n';
  if (sub === 'count') return `:${COMMAND_NAMES.length}\r\n`;
  if (sub === 'docs') return encodeReply({ map: [] }, s.version);
  throw new codes.TALLYMESH_ERR_RESP_SYNTAX(`COMMAND ${args[1]} is not supported (COUNT, DOCS, INFO, LIST)`);
}

const TABLE: Record<(typeof COMMAND_NAMES)[number], CommandSpec> = {
  'tm.consume': {
    min: 3,
    max: 4,
    keyed: true,
    run: (ctx, _s, a) => encodeDecision(ctx.decisions.consume(a[1], a[2], costOf(a[3]))),
  },
  'tm.peek': { min: 3, max: 3, keyed: true, run: (ctx, _s, a) => encodeDecision(ctx.decisions.peek(a[1], a[2])) },
  'tm.reset': {
    min: 3,
    max: 3,
    keyed: true,
    run: (ctx, _s, a) => {
      ctx.decisions.reset(a[1], a[2]);
      return OK;
    },
  },
  ping: { min: 1, max: 2, run: (_c, s, a) => (a.length === 2 ? encodeReply(a[1], s.version) : '+PONG\r\n') },
  echo: { min: 2, max: 2, run: (_c, s, a) => encodeReply(a[1], s.version) },
  hello: { min: 1, max: 7, preAuth: true, run: hello },
  auth: {
    min: 2,
    max: 3,
    preAuth: true,
    run: (ctx, s, a) => {
      authenticate(ctx, s, a[a.length - 1]);
      return OK;
    },
  },
  quit: {
    min: 1,
    max: 1,
    preAuth: true,
    run: (_c, s) => {
      s.quit = true;
      return OK;
    },
  },
  info: { min: 1, max: 8, run: (ctx, s) => encodeReply({ verbatim: ctx.info() }, s.version) },
  select: {
    min: 2,
    max: 2,
    run: (_c, _s, a) => {
      if (a[1] !== '0') throw new codes.TALLYMESH_ERR_RESP_DB(a[1]);
      return OK;
    },
  },
  client: { min: 2, max: 4, run: client },
  command: { min: 1, max: 8, run: command },
};

/**
 * Runs one command and returns its encoded reply (an error reply for a
 * registry error). Never throws for bad input; anything that is not a
 * registry error is a bug and propagates.
 *
 * @example
 * runCommand(ctx, session, ['TM.CONSUME', 'api', 'user:42'], false); // { name: 'tm.consume', reply: '*5\r\n:1\r\n...' }
 */
export function runCommand(ctx: RespContext, s: RespSession, args: string[], notUtf8: boolean): { name: CommandName; reply: string; error?: string } {
  const lower = args[0].toLowerCase();
  const spec = Object.hasOwn(TABLE, lower) ? TABLE[lower as keyof typeof TABLE] : undefined;
  const name: CommandName = spec === undefined ? 'unknown' : (lower as CommandName);
  try {
    if (ctx.tokenRequired && !s.authenticated && spec?.preAuth !== true) throw new codes.TALLYMESH_ERR_RESP_NOAUTH();
    if (spec === undefined) throw new codes.TALLYMESH_ERR_RESP_UNKNOWN_COMMAND(args[0].slice(0, 64));
    if (args.length < spec.min || args.length > spec.max) throw new codes.TALLYMESH_ERR_RESP_ARITY(lower);
    if (spec.keyed === true && notUtf8) throw new codes.TALLYMESH_ERR_KEY_MALFORMED('bytes that are not valid UTF-8');
    return { name, reply: spec.run(ctx, s, args) };
  } catch (err) {
    if (!isTallymeshError(err)) throw err;
    return { name, reply: encodeError(errorPrefix(err.code), err.code, err.message), error: err.code };
  }
}

/** The Redis error prefix clients switch on, for a registry code. */
export function errorPrefix(code: string): string {
  switch (code) {
    case 'TALLYMESH_ERR_RESP_NOAUTH':
      return 'NOAUTH';
    case 'TALLYMESH_ERR_RESP_AUTH_FAILED':
      return 'WRONGPASS';
    case 'TALLYMESH_ERR_RESP_NOPROTO':
      return 'NOPROTO';
    default:
      return 'ERR';
  }
}

/**
 * Checks tokens against `token` ('' = none set) in constant time: both sides
 * are hashed first, so neither content nor length leaks through timing.
 *
 * @example
 * const check = tokenCheck('s3cret');
 * check('s3cret'); // true
 */
export function tokenCheck(token: string): (candidate: string) => boolean {
  if (token === '') return () => false;
  const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest();
  const expected = digest(token);
  return (candidate) => timingSafeEqual(digest(candidate), expected);
}
