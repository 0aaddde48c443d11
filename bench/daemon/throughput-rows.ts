/**
 * The throughput rows of the daemon scenario as one table: each entry names a
 * row, says what one call carries (one decision, or a batch), which server
 * answers it, how it is sent (quoted in the docs), and connects its client.
 * The scenario runs every entry the same way — same client process, same
 * requests in flight, same warm-up and timed window, the server's CPU per
 * decision from /proc — so adding a row is adding an entry here.
 *
 * Rows that need a port or a file of the daemon say so (`daemon`): the
 * daemon then starts with those flags and files and waits for its
 * `tallymesh <name> listening on port <n>` line.
 */
import { KeyPicker, httpBatchClient, httpSingleClient, keepAliveAgent, streamClient, streamSingleClient, type Client } from './daemon-clients.js';
import type { DaemonProcess, RedisProcess } from './daemon-processes.js';
import { GRPC_BENCH_RLS_CONFIG, GRPC_DESCRIPTORS_PER_CALL, grpcSingleClient } from './grpc-client.js';
import { redisScriptClient, respClient } from './redis-clients.js';
import { redisScript, type RedisLimiter, type RedisScriptName } from './redis-scripts.js';

/** What a row's client reaches, and how the row is driven. */
export interface RowContext {
  daemon: DaemonProcess;
  /** `null` when redis-server could not be installed here (the Redis rows are skipped). */
  redis: RedisProcess | null;
  keys: KeyPicker;
  /** The limiter's name on the daemon, and the same limiter for the Redis scripts. */
  limiterName: string;
  limiter: RedisLimiter;
  /** Requests in flight: HTTP/1.1 has one per socket, so HTTP rows open this many sockets. */
  inFlight: number;
  /** Decisions per message of the batched rows. */
  batchSize: number;
}

/** What a row needs of the daemon it measures. */
export interface DaemonNeeds {
  /** Files (name → content) written to a temporary folder before the daemon starts; `{dir}` in `startArgs` names that folder. */
  files?: Readonly<Record<string, string>>;
  /** `tallymesh start` flags, e.g. `['--resp-port', '0']`. */
  startArgs: readonly string[];
  /** Ports the daemon announces (`tallymesh <name> listening on port <n>`), e.g. `['resp']`. */
  ports: readonly string[];
}

/** One row of the throughput table. */
export interface ThroughputRow {
  name: string;
  /** `single`: one decision per call; `batched`: `batchSize` decisions per message. */
  shape: 'single' | 'batched';
  /** Whose CPU the row's per-decision figure counts. */
  server: 'tallymesh' | 'redis';
  /** One sentence for the docs: what one call is. */
  how: string;
  /** Sockets the row's client opens, given the context. */
  connections(ctx: RowContext): number;
  /** What the daemon needs for this row: files to write first, start flags, and the ports it then announces. */
  daemon?: DaemonNeeds;
  connect(ctx: RowContext): Promise<Client>;
}

const one = (): number => 1;

function redisRow(script: RedisScriptName, shape: 'single' | 'batched'): ThroughputRow {
  const batched = shape === 'batched';
  return {
    name: batched ? `redis-${script}-pipeline` : `redis-${script}`,
    shape,
    server: 'redis',
    how: batched
      ? `a pipeline of \`batchSize\` EVALSHA of \`${redisScript(script).file}\` on one ioredis connection`
      : `one EVALSHA of \`${redisScript(script).file}\` per decision on one ioredis connection`,
    connections: one,
    async connect(ctx) {
      if (ctx.redis === null) throw new Error(`${this.name}: no redis-server`);
      return redisScriptClient({
        port: ctx.redis.port,
        script: redisScript(script),
        limiter: ctx.limiter,
        prefix: `rl:${ctx.limiterName}:${script}:`,
        keys: ctx.keys,
        batchSize: batched ? ctx.batchSize : 1,
      });
    },
  };
}

const RESP = { startArgs: ['--resp-port', '0'], ports: ['resp'] } as const;

/** Every throughput row, in the order they run (reversed every other round) and print. */
export const THROUGHPUT_ROWS: readonly ThroughputRow[] = [
  // One decision per call.
  redisRow('sliding-window', 'single'),
  redisRow('bucketed-counter', 'single'),
  {
    name: 'http-single',
    shape: 'single',
    server: 'tallymesh',
    how: '`POST /v1/consume` with one request, over one keep-alive socket per request in flight (node:http Agent)',
    connections: (ctx) => ctx.inFlight,
    connect: async (ctx) => httpSingleClient(ctx.daemon.url, keepAliveAgent(ctx.inFlight), ctx.limiterName, ctx.keys),
  },
  {
    name: 'resp-single',
    shape: 'single',
    server: 'tallymesh',
    how: "ioredis `call('TM.CONSUME', limiter, key)` on the daemon's `--resp-port`, one connection",
    connections: one,
    daemon: RESP,
    connect: (ctx) => respClient({ port: ctx.daemon.ports.resp, limiter: ctx.limiterName, keys: ctx.keys, batchSize: 1 }),
  },
  {
    name: 'stream-single',
    shape: 'single',
    server: 'tallymesh',
    how: "`tallymesh/client`'s `consume(limiter, key)`, each call awaited (the client puts the calls made in one tick in one `/v1/stream` frame)",
    connections: one,
    connect: async (ctx) => streamSingleClient(ctx.daemon.url, ctx.limiterName, ctx.keys),
  },
  {
    name: 'grpc-single',
    shape: 'single',
    server: 'tallymesh',
    how: `grpc-js \`ShouldRateLimit\` (Envoy's rate limit service) with ${GRPC_DESCRIPTORS_PER_CALL} descriptors per call on the daemon's \`--rls-port\`, one channel; each descriptor is one decision`,
    connections: one,
    daemon: { files: { 'rls.yaml': GRPC_BENCH_RLS_CONFIG }, startArgs: ['--rls-port', '0', '--rls-config', '{dir}/rls.yaml'], ports: ['rls'] },
    connect: async (ctx) => grpcSingleClient(ctx.daemon.ports.rls, '', { keys: ctx.keys }),
  },
  // Many decisions per message.
  redisRow('sliding-window', 'batched'),
  redisRow('bucketed-counter', 'batched'),
  {
    name: 'http-batch',
    shape: 'batched',
    server: 'tallymesh',
    how: '`POST /v1/consume` with `{requests}` of `batchSize`, over one keep-alive socket per request in flight',
    connections: (ctx) => ctx.inFlight,
    connect: async (ctx) => httpBatchClient(ctx.daemon.url, keepAliveAgent(ctx.inFlight), ctx.limiterName, ctx.keys, ctx.batchSize),
  },
  {
    name: 'resp-pipeline',
    shape: 'batched',
    server: 'tallymesh',
    how: 'an ioredis pipeline of `batchSize` `TM.CONSUME` on the RESP port, one connection',
    connections: one,
    daemon: RESP,
    connect: (ctx) => respClient({ port: ctx.daemon.ports.resp, limiter: ctx.limiterName, keys: ctx.keys, batchSize: ctx.batchSize }),
  },
  {
    name: 'stream',
    shape: 'batched',
    server: 'tallymesh',
    how: '`/v1/stream` frames of `batchSize` requests pipelined on one WebSocket (MessagePack)',
    connections: one,
    connect: (ctx) => streamClient(ctx.daemon.url, ctx.limiterName, ctx.keys, ctx.batchSize),
  },
];

/**
 * The daemon flags and ports every row together needs, without repeats (rows
 * sharing a port share its flags), with `{dir}` replaced by `dir`; and the
 * files to write there first.
 */
export function daemonNeeds(rows: readonly ThroughputRow[], dir: string): { startArgs: string[]; ports: string[]; files: Record<string, string> } {
  const startArgs: string[] = [];
  const ports: string[] = [];
  const files: Record<string, string> = {};
  for (const row of rows) {
    if (row.daemon === undefined || row.daemon.ports.every((p) => ports.includes(p))) continue;
    ports.push(...row.daemon.ports.filter((p) => !ports.includes(p)));
    startArgs.push(...row.daemon.startArgs.map((a) => a.replaceAll('{dir}', dir)));
    Object.assign(files, row.daemon.files ?? {});
  }
  return { startArgs, ports, files };
}
