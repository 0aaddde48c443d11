/**
 * Child processes of the daemon scenario: a tallymesh daemon started through
 * the real CLI (`node dist/cli/main.js start`), and `redis-server` on a free
 * loopback port with no persistence. Every child is tracked from spawn to
 * exit and killed when the run ends, fails, or the parent is interrupted or
 * exits, so no daemon or Redis outlives the benchmark.
 *
 * Also reads what the kernel knows about a child: CPU time and RSS from
 * `/proc/<pid>/`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort } from '../lib/free-port.js';

/** `dist/cli/main.js`, next to this compiled file's `dist/bench/`. */
const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const READY_TIMEOUT_MS = 15_000;
/** The daemon's own shutdown bound is 5 s; a CPU profile (--cpu-prof) is written after it. */
const DAEMON_STOP_GRACE_MS = 10_000;
const REDIS_STOP_GRACE_MS = 3_000;
/** Linux USER_HZ: the unit of utime/stime in /proc/<pid>/stat (fixed at 100 on every mainstream architecture). */
const CLOCK_TICKS_PER_SEC = 100;

/** Every child this module started that has not exited yet. */
const running = new Set<ChildProcess>();

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
// Last resort: 'exit' handlers run synchronously, and kill() is synchronous.
process.on('exit', killAll);

/**
 * Kills every child when the parent is interrupted, then exits the way the
 * signal would have. Returns the function that removes the handlers.
 */
export function killChildrenOnSignals(): () => void {
  const offs = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => {
    const handler = (): void => {
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 129);
    };
    process.once(signal, handler);
    return () => process.off(signal, handler);
  });
  return () => offs.forEach((off) => off());
}

/** A tracked child: its pid, and a stop that ends it (politely, then by force). */
export interface ManagedProcess {
  readonly pid: number;
  /** Resolves once the child has exited; SIGTERM first, SIGKILL after the grace period. */
  stop(): Promise<void>;
  /** Resolves when the child exits, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function track(child: ChildProcess, what: string, graceMs: number): ManagedProcess {
  running.add(child);
  let stopping: Promise<void> | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      // Said at once: the client only notices at its next request, with a less telling error.
      if (stopping === undefined) console.error(`${what} (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`})`);
      resolve({ code, signal });
    });
  });
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    })());
  return { pid: child.pid ?? -1, stop, exited };
}

/**
 * Resolves with the first stdout line matching each of `patterns` (in any
 * order) once all have been seen, or rejects when the child exits or the time
 * runs out.
 */
function waitForLines(child: ChildProcess, what: string, patterns: readonly RegExp[], tail: string[]): Promise<RegExpMatchArray[]> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const matches: Array<RegExpMatchArray | undefined> = patterns.map(() => undefined);
    const timer = setTimeout(() => finish(new Error(`${what} did not start within ${READY_TIMEOUT_MS} ms; last output:\n${tail.join('\n')}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        tail.push(line);
        if (tail.length > 20) tail.shift();
        patterns.forEach((pattern, i) => (matches[i] ??= pattern.exec(line) ?? undefined));
        if (matches.every((m) => m !== undefined)) return finish(undefined);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      finish(new Error(`${what} exited (${signal ?? code}) before it was ready; last output:\n${tail.join('\n')}`));
    const onError = (err: Error): void => finish(err);
    const finish = (err: Error | undefined): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (err) reject(err);
      else resolve(matches as RegExpMatchArray[]);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** A daemon started by {@link startDaemonProcess}. */
export interface DaemonProcess extends ManagedProcess {
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The extra ports it announced (`tallymesh <name> listening on port <n>`), by name, e.g. `{ resp: 41235 }`. */
  readonly ports: Readonly<Record<string, number>>;
}

/** Options of {@link startDaemonProcess}. */
export interface DaemonProcessOptions {
  /** Node flags for the daemon, e.g. `--cpu-prof --cpu-prof-dir=prof`. */
  nodeFlags?: readonly string[];
  /** More `tallymesh start` flags, e.g. `['--resp-port', '0']`. */
  startArgs?: readonly string[];
  /** Ports to wait for: the daemon prints `tallymesh <name> listening on port <n>` for each, e.g. `['resp']`. */
  ports?: readonly string[];
  /** A command the daemon runs under, e.g. `['ip', 'netns', 'exec', '<ns>']`. */
  prefix?: readonly string[];
}

/**
 * Starts `tallymesh start --port 0 …` in its own process and resolves once it
 * printed `tallymesh listening on <url>` and the line of every port named in
 * `o.ports`.
 */
export async function startDaemonProcess(id: string, limiterSpec: string, o: DaemonProcessOptions = {}): Promise<DaemonProcess> {
  // No drain: no load balancer watches a benchmark's daemon, and the stop grace below must cover the close and a CPU profile.
  const args = [...(o.nodeFlags ?? []), CLI, 'start', '--id', id, '--port', '0', '--limiter', limiterSpec, '--log-level', 'warn', '--drain-ms', '0', ...(o.startArgs ?? [])];
  const [command, ...before] = [...(o.prefix ?? []), process.execPath];
  const child = spawn(command, [...before, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const managed = track(child, `daemon ${id}`, DAEMON_STOP_GRACE_MS);
  const tail: string[] = [];
  const portNames = o.ports ?? [];
  try {
    const [url, ...portLines] = await waitForLines(
      child,
      `daemon ${id}`,
      [/^tallymesh listening on (\S+)/, ...portNames.map((name) => new RegExp(`^tallymesh ${name} listening on port (\\d+)`))],
      tail,
    );
    // Keep draining stdout (warnings at --log-level warn) so the pipe never fills and blocks the daemon.
    child.stdout?.on('data', (chunk: Buffer) => process.stderr.write(`[daemon ${id}] ${chunk.toString('utf8')}`));
    const ports = Object.fromEntries(portNames.map((name, i) => [name, Number(portLines[i][1])]));
    return { ...managed, url: url[1], ports };
  } catch (err) {
    await managed.stop();
    throw err;
  }
}


/** A redis-server started by {@link startRedisServer}. */
export interface RedisProcess extends ManagedProcess {
  readonly port: number;
}

/** One line on how to get redis-server, printed when it is missing. */
export const REDIS_INSTALL_HINT = 'redis-server not found on PATH: install it with `apt-get install -y redis-server` (Debian package redis-server) to measure the Redis row; skipping it';

/** `scripts/bench-prereqs.sh` at the repository root, above this compiled file's `dist/bench/`. */
const BENCH_PREREQS = fileURLToPath(new URL('../../../scripts/bench-prereqs.sh', import.meta.url));
/** The script's status for "missing and cannot be installed here" (no apt-get, not root, or TALLYMESH_BENCH_INSTALL=0). */
const PREREQS_UNAVAILABLE = 3;

/**
 * Installs `redis-server` from Debian's packages when it is missing
 * (`scripts/bench-prereqs.sh`: `apt-get install -y redis-server`, after
 * `apt-get update` when needed), so a fresh machine measures the Redis row.
 * True when redis-server is there afterwards; false, with the script's reason
 * on stderr, when it cannot be installed here. A failed install throws.
 */
export function ensureRedisServer(): boolean {
  const r = spawnSync('bash', [BENCH_PREREQS], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error !== undefined) throw new Error(`could not run ${BENCH_PREREQS}: ${r.error.message}`);
  if (r.status === 0) return true;
  if (r.status === PREREQS_UNAVAILABLE) return false;
  throw new Error(`${BENCH_PREREQS} failed (status ${r.status ?? r.signal}) installing redis-server`);
}

/**
 * Starts `redis-server` on a free loopback port without persistence
 * (`--save '' --appendonly no`), resolving once it accepts connections, or
 * with `null` when `redis-server` is not installed.
 */
export async function startRedisServer(): Promise<RedisProcess | null> {
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'notice', '--dir', '/tmp'];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const spawned = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (err) => resolve(err));
    });
    if (spawned?.code === 'ENOENT') return null;
    if (spawned) throw spawned;
    const managed = track(child, 'redis-server', REDIS_STOP_GRACE_MS);
    const tail: string[] = [];
    try {
      await waitForLines(child, 'redis-server', [/Ready to accept connections/], tail);
      child.stdout?.resume(); // drain whatever it logs later
      return { ...managed, port };
    } catch (err) {
      await managed.stop();
      // The port picked above may have been taken in between: try another.
      if (attempt < 3 && tail.some((l) => /Address already in use/i.test(l))) continue;
      throw err;
    }
  }
}

/** `/proc/<pid>/<file>`; a process that is gone is named as such rather than as a missing file. */
function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`process ${pid} has exited (reading /proc/${pid}/${file})`);
    throw err;
  }
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readProc(pid, 'stat');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after "pid (comm)".
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
}

/**
 * CPU seconds the whole machine has been busy so far, summed over its cores:
 * the `cpu` line of /proc/stat less idle and iowait (guest time is already
 * inside user and nice, so it is not added twice).
 */
export function busyCpuSecondsOfMachine(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SEC;
}

/** Resident set size of a process in bytes, from VmRSS in /proc/<pid>/status. */
export function rssBytesOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readProc(pid, 'status'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Scheduler figures of a process's main thread, from /proc/<pid>/schedstat. */
export interface SchedStat {
  /** Nanoseconds spent running on a CPU. */
  runNs: number;
  /** Nanoseconds spent runnable but waiting for a CPU (other processes had it). */
  waitNs: number;
}

/**
 * {@link SchedStat} of the main thread of `pid` — for Node, the event loop.
 * The wait figure is what an overloaded machine does to latency: time the
 * process was ready to answer and not allowed to run.
 */
export function schedStatOf(pid: number): SchedStat {
  const [runNs, waitNs] = readProc(pid, 'schedstat').trim().split(' ').map(Number);
  return { runNs, waitNs };
}
