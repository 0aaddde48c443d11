/**
 * `tallymesh start`: runs one daemon. Loads the configuration (YAML file,
 * `TALLYMESH_*` environment, flags; see src/config.ts) and validates all of
 * it before binding anything, starts the daemon, prints
 * `tallymesh listening on <url>` and logs JSON lines (pino) to stdout. On
 * SIGTERM or SIGINT it drains (`/readyz` 503, decisions served for
 * `drainMs`; a second signal ends the drain), then closes the daemon — stops
 * accepting, ships the last deltas to its peers, bounded by
 * `shutdownTimeout` — and exits 0. SIGHUP reloads the configuration.
 *
 * @module
 */
import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { ConfigFlags, Daemon, DaemonConfig } from '../src/daemon/index.js';
import { CliExit, EXIT } from './exit.js';
import { heapLimitGiven, launchedWithHeapLimit, relaunchWithHeapLimit } from './heap-limit.js';
import { daemonEntry, type DaemonEntry } from './load.js';

interface StartFlags extends ConfigFlags {
  check?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Registers the `start` command. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('Run a tallymesh daemon: the HTTP API and the peer mesh on one port')
    // No commander defaults here: a default would always beat the environment and the file.
    .option('--config <file>', 'YAML configuration file (env TALLYMESH_CONFIG)')
    .option('--id <id>', 'node id, unique in the cluster (default: <hostname>-<port>)')
    .option('--host <host>', 'interface to bind; non-loopback needs a secret (default 127.0.0.1)')
    .option('--port <port>', 'port for the HTTP API and peers, 0 picks a free one (default 7070)')
    .option('--advertise <host:port>', 'address peers should dial, when it differs from the bound one')
    .option('--allowed-hosts <names>', 'names accepted in the Host header besides loopback, --host and --advertise; .domain for subdomains (repeatable)', collect)
    .option('--peers <host:port,...>', 'seed peers, comma-separated (repeatable)', collect)
    .option('--secret-file <path>', 'file holding the cluster secret, at least 16 characters (env TALLYMESH_SECRET)')
    .option('--api-token-file <path>', 'file holding the bearer token API clients must send (env TALLYMESH_API_TOKEN)')
    .option('--limiter <spec>', 'name=api,limit=100,window=60s[,buckets=60][,overflow=allow|deny] (repeatable)', collect)
    .option('--max-keys <n>', 'keys held per node before each limiter overflows (default 1000000)')
    .option('--events-denied-per-sec <n>', 'denial events per second sent on /v1/events (default 10)')
    .option('--gossip-interval <duration>', 'delta flush interval (default 20ms)')
    .option('--prefill <fraction>', "lag-aware admission: share (0-1) of the peers' estimated hits in flight added to a hot key's count (default 0.7)")
    .option('--suspect-after <duration>', 'silence after which a peer is unreachable (default 1s)')
    .option('--max-clock-offset <duration>', 'peers whose clock is further ahead are refused (default 500ms)')
    .option('--shutdown-timeout <duration>', 'upper bound for a graceful shutdown (default 5s)')
    .option('--drain-ms <duration>', 'on SIGTERM, how long /readyz answers 503 while decisions are still served, before the node stops accepting; 0 stops at once (default 5s)')
    .option('--join-timeout <duration>', 'how long a joining node waits for its seeds before it is ready alone (default 2s)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option('--tls-cert <path>', 'PEM certificate: serve https and wss')
    .option('--tls-key <path>', 'PEM private key of --tls-cert')
    .option('--tls-ca <path>', 'PEM CA: peers must present a certificate it signed (mutual TLS)')
    .option('--peers-dns <name:port,...>', 'DNS names whose A/AAAA records are peers (a Kubernetes headless Service), looked up every --dns-interval (repeatable)', collect)
    .option('--dns-interval <duration>', 'interval between lookups of --peers-dns (default 5s)')
    .option('--dns-server <ip:port>', 'DNS server to ask for --peers-dns instead of the system resolver')
    .option('--memory-limit <size>', 'memory this node may use, e.g. 512MiB: sizes --max-keys when not given, and the V8 heap (default: the cgroup memory.max)')
    .option('--resp-port <port>', 'serve the Redis protocol (TM.CONSUME, TM.PEEK, TM.RESET) on this port, bound on --host; 0 picks one (env TALLYMESH_RESP_PORT)')
    .option('--rls-port <port>', "serve Envoy's rate limit service (gRPC) on this port, bound on --host; 0 picks one; needs --rls-config (env TALLYMESH_RLS_PORT)")
    .option('--rls-config <path>', 'envoyproxy/ratelimit YAML: a file (one domain per --- document) or a directory of .yaml files (env TALLYMESH_RLS_CONFIG)')
    .option('--admin-port <port>', 'plain HTTP listener for probes, /metrics, /v1/cluster, /v1/events and /ui, without TLS or token; 0 picks one (env TALLYMESH_ADMIN_PORT)')
    .option('--admin-host <host>', 'interface the admin listener binds (default: --host; env TALLYMESH_ADMIN_HOST)')
    .option('--check', 'validate the configuration, print it with secrets redacted, and exit')
    .addHelpText(
      'after',
      `
Precedence: flags > TALLYMESH_* environment variables > --config file > defaults.
Durations: 500ms, 60s, 5m, 1h, or a plain number of milliseconds.
Exit codes: 0 after a clean shutdown, 1 a runtime failure (port in use), 2 invalid configuration (nothing bound).

Examples:
  $ tallymesh start --limiter name=api,limit=100,window=60s
  $ tallymesh start --id a --port 7071 --peers 127.0.0.1:7072 --secret-file secret --limiter name=api,limit=100,window=60s
  $ tallymesh start --config /etc/tallymesh/cluster.yaml --host 0.0.0.0 --secret-file /etc/tallymesh/secret
  $ TALLYMESH_PORT=0 tallymesh start --limiter name=login,limit=5,window=1m,overflow=deny
  $ tallymesh start --config cluster.yaml --check`,
    )
    .action(async (flags: StartFlags) => {
      const { check, ...configFlags } = flags;
      const tm = await daemonEntry();
      const loaded = tm.loadConfig({ flags: configFlags });
      // The heap limit is fixed at process start: run the daemon in a child with it (heap-limit.ts).
      const heapMiB = loaded.config.memory?.heapLimitMiB ?? null;
      if (check !== true && heapMiB !== null && !heapLimitGiven()) {
        process.exitCode = await relaunchWithHeapLimit(heapMiB);
        return;
      }
      for (const w of loaded.warnings) console.error(`tallymesh: warning: ${w}`);
      if (check === true) {
        console.log(JSON.stringify(tm.redactConfig(loaded.config), null, 2));
        return;
      }
      await run(tm, loaded.config, loaded.file, loaded.origins, loaded.warnings, () => tm.loadConfig({ flags: configFlags }));
    });
}

/** Starts the daemon, prints its URL, and installs the SIGTERM/SIGINT handlers that close it and exit. */
async function run(
  tm: DaemonEntry,
  config: DaemonConfig,
  file: string | null,
  origins: Record<string, string>,
  warnings: string[],
  configSource: () => { config: DaemonConfig; file: string | null },
): Promise<void> {
  const { pino } = await import('pino');
  // Synchronous so log lines and the "listening" line keep their order on stdout.
  const logger = pino({ name: 'tallymesh', level: config.logLevel }, pino.destination({ dest: 1, sync: true }));
  // The daemon logs the configuration itself; this line says where it came from.
  const nodeLog = logger.child({ nodeId: config.id });
  nodeLog.info({ event: 'config-sources', file, origins }, file === null ? 'configuration from flags and environment' : `configuration from ${file}`);
  for (const warning of warnings) nodeLog.warn({ event: 'config-warning' }, warning);

  // Signals that arrive while the daemon starts are honoured once it has.
  let daemon: Daemon | undefined;
  let pending: NodeJS.Signals | undefined;
  let stopping = false;
  const stop = async (d: Daemon, signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      // During the drain a second signal ends it (the close that follows is still graceful); during the close it exits now.
      if (d.state === 'draining') {
        void d.stop(signal);
        return;
      }
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(EXIT.FAILED);
    }
    stopping = true;
    // The daemon bounds its own drain and close; this backstop only catches a close that hangs.
    const backstop = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown did not finish in time: exiting');
      process.exit(EXIT.FAILED);
    }, (config.drainMs ?? 0) + config.shutdownTimeoutMs + 2000);
    backstop.unref();
    try {
      await d.stop(signal);
      process.exit(EXIT.OK);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(EXIT.FAILED);
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (daemon === undefined) pending = signal;
    else void stop(daemon, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (launchedWithHeapLimit()) {
    // Our launcher relays signals; if it dies without one (SIGKILL), stop as if told to.
    process.channel?.unref();
    process.once('disconnect', () => onSignal('SIGTERM'));
  }
  // SIGHUP reloads; without a handler Node would exit with 129. Errors are logged and counted by the daemon, which keeps running.
  const onHangup = (): void => {
    if (daemon === undefined) {
      logger.warn({ signal: 'SIGHUP' }, 'SIGHUP while starting: ignored (send it again once listening)');
      return;
    }
    try {
      daemon.reload('SIGHUP');
    } catch (err) {
      // A registry error is logged and counted by the daemon; anything else is a bug, logged here. The daemon keeps running.
      if (!tm.isTallymeshError(err)) logger.error({ err }, 'reload failed unexpectedly');
    }
  };
  process.on('SIGHUP', onHangup);

  try {
    daemon = await tm.startDaemon(config, { logger, configSource });
  } catch (err) {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHangup);
    throw startFailure(tm, err, config, logger);
  }
  console.log(`tallymesh listening on ${daemon.url}`);
  if (daemon.respPort !== undefined) console.log(`tallymesh resp listening on port ${daemon.respPort}`);
  if (daemon.rlsPort !== undefined) console.log(`tallymesh rls listening on port ${daemon.rlsPort}`);
  if (daemon.adminUrl !== undefined) console.log(`tallymesh admin listening on ${daemon.adminUrl}`);
  if (pending !== undefined) void stop(daemon, pending);
}

/** Turns a start failure into the exit it deserves: 2 for bad options, 1 for a runtime failure. */
function startFailure(tm: DaemonEntry, err: unknown, config: DaemonConfig, logger: Logger): CliExit {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (tm.isTallymeshError(err) && /^TALLYMESH_ERR_(CONFIG|OPTION)_/.test(err.code)) return new CliExit(EXIT.USAGE, err.message);
  logger.error({ err }, 'start failed');
  // The listen error names the address that failed: the main port, the admin or the RESP listener.
  const e = err as { address?: string; port?: number };
  const where = `${e.address ?? config.host}:${e.port ?? config.port}`;
  if (code === 'EADDRINUSE') return new CliExit(EXIT.FAILED, `cannot listen on ${where}: the address is in use`);
  if (code === 'EACCES') return new CliExit(EXIT.FAILED, `cannot listen on ${where}: permission denied`);
  if (code === 'EADDRNOTAVAIL') return new CliExit(EXIT.FAILED, `cannot listen on ${where}: no such address on this machine`);
  return new CliExit(EXIT.FAILED, `cannot start: ${(err as Error)?.message ?? String(err)}`);
}
