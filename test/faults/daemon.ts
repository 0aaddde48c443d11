/**
 * One real tallymesh daemon, started through the CLI (`tallymesh start`)
 * inside a test host's network namespace, optionally under libfaketime.
 * Crash (SIGKILL), pause (SIGSTOP/SIGCONT), graceful stop (SIGTERM), restart
 * with the same `--id`, and RSS read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestHost } from './netns.js';

/** Repository root (test/faults/../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The command that runs the CLI: `node dist/cli/main.js`, or what
 * TALLYMESH_FAULTS_CLI names (a path to a JavaScript entry).
 */
export function cliEntry(): string {
  return process.env.TALLYMESH_FAULTS_CLI ?? join(REPO_ROOT, 'dist', 'cli', 'main.js');
}

/** Path of libfaketime's preload library, or null when faketime is not installed. */
export function findLibfaketime(): string | null {
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']) {
    const path = join(dir, 'faketime', 'libfaketime.so.1');
    if (existsSync(path)) return path;
  }
  try {
    for (const entry of readdirSync('/usr/lib')) {
      const path = join('/usr/lib', entry, 'faketime', 'libfaketime.so.1');
      if (existsSync(path)) return path;
    }
  } catch {
    // no /usr/lib
  }
  return null;
}

/** Every child process the suite started and has not seen exit: killed by the exit handler. */
export const liveChildren = new Set<ChildProcess>();

/** Kills every registered child at once (exit handlers; synchronous). */
export function killAllChildren(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
}

/** How a daemon process ended. */
export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What a daemon is started with. */
export interface DaemonSpec {
  id: string;
  host: TestHost;
  port: number;
  peers: string[];
  secretFile: string;
  limiters: string[];
  /** Where logs and the clock file go. */
  stateDir: string;
  /** `--max-keys` (default: the daemon's own). */
  maxKeys?: number;
}

/** Options of one start. */
export interface StartOptions {
  /**
   * Run under libfaketime with this offset (`+0.2`, `+5`): the daemon's wall
   * clock is read from a timestamp file that {@link Daemon.setClock} rewrites,
   * so the offset can change (or heal) while it runs.
   */
  clock?: string;
  timeoutMs?: number;
}

/** One daemon in its namespace. */
export class Daemon {
  readonly spec: DaemonSpec;
  /** Agent for API calls: keep-alive, a few sockets. */
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  #proc: ChildProcess | null = null;
  #exit: DaemonExit | null = null;
  #exited: Promise<DaemonExit> = Promise.resolve({ code: null, signal: null });
  #log: WriteStream | null = null;
  #starts = 0;
  #paused = false;
  /** Exits we caused on purpose (crash, stop), so they do not count as crashes. */
  #expectExit = false;
  /** Unexpected exits seen so far. */
  readonly crashes: DaemonExit[] = [];
  #clockFile: string | null = null;

  constructor(spec: DaemonSpec) {
    this.spec = spec;
  }

  get id(): string {
    return this.spec.id;
  }

  get url(): string {
    return `http://${this.spec.host.addr}:${this.spec.port}`;
  }

  /** `host:port` other daemons dial. */
  get address(): string {
    return `${this.spec.host.addr}:${this.spec.port}`;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  get alive(): boolean {
    return this.#proc !== null && this.#exit === null;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get logPath(): string {
    return join(this.spec.stateDir, `${this.spec.id}.log`);
  }

  /** Starts the daemon and resolves once it prints its listening line. */
  async start(options: StartOptions = {}): Promise<void> {
    if (this.alive) throw new Error(`${this.id} is already running`);
    this.#starts++;
    this.#exit = null;
    this.#expectExit = false;
    this.#paused = false;
    const args = [
      cliEntry(),
      'start',
      '--id', this.spec.id,
      '--host', this.spec.host.addr,
      '--port', String(this.spec.port),
      '--secret-file', this.spec.secretFile,
      ...(this.spec.peers.length > 0 ? ['--peers', this.spec.peers.join(',')] : []),
      ...this.spec.limiters.flatMap((l) => ['--limiter', l]),
      ...(this.spec.maxKeys !== undefined ? ['--max-keys', String(this.spec.maxKeys)] : []),
      // No load balancer watches these nodes: a stop is the graceful close alone, as the scenarios time it.
      '--drain-ms', '0',
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, TALLYMESH_LOG_LEVEL: process.env.TALLYMESH_LOG_LEVEL ?? 'info' };
    const command: string[] = [];
    if (options.clock !== undefined) {
      const lib = findLibfaketime();
      if (lib === null) throw new Error('libfaketime is not installed (run scripts/fault-prereqs.sh)');
      this.#clockFile = join(this.spec.stateDir, `${this.spec.id}.clock`);
      writeFileSync(this.#clockFile, `${options.clock}\n`);
      // Only the wall clock moves: timers run on CLOCK_MONOTONIC, which stays true.
      command.push(
        'env',
        `LD_PRELOAD=${lib}`,
        `FAKETIME_TIMESTAMP_FILE=${this.#clockFile}`,
        'FAKETIME_CACHE_DURATION=1',
        'FAKETIME_DONT_FAKE_MONOTONIC=1',
      );
    } else this.#clockFile = null;
    command.push(process.execPath, ...args);
    this.#log ??= createWriteStream(this.logPath, { flags: 'a' });
    this.#log.write(`\n=== start #${this.#starts} ${new Date().toISOString()} ${options.clock !== undefined ? `clock ${options.clock} ` : ''}===\n`);
    const proc = spawn('ip', ['netns', 'exec', this.spec.host.ns, ...command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    liveChildren.add(proc);
    this.#exited = new Promise((resolveExit) => {
      proc.once('exit', (code, signal) => {
        liveChildren.delete(proc);
        const exit = { code, signal };
        if (this.#proc === proc) this.#exit = exit;
        if (!this.#expectExit) this.crashes.push(exit);
        this.#log?.write(`=== exit code=${code} signal=${signal} ${new Date().toISOString()} ===\n`);
        resolveExit(exit);
      });
    });
    const log = this.#log;
    proc.stderr?.on('data', (c: Buffer) => log.write(c));
    const timeoutMs = options.timeoutMs ?? 20_000;
    await new Promise<void>((resolveStart, reject) => {
      let buffered = '';
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.id} printed no "tallymesh listening on" line within ${timeoutMs} ms (log: ${this.logPath})`));
      }, timeoutMs);
      const onData = (chunk: Buffer): void => {
        log.write(chunk);
        buffered = (buffered + chunk.toString('utf8')).slice(-8192);
        if (/tallymesh listening on http:\/\/\S+/.test(buffered)) {
          cleanup();
          resolveStart();
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        cleanup();
        reject(new Error(`${this.id} exited during start (code ${code}, signal ${signal}); log: ${this.logPath}\n${tail(this.logPath)}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        proc.stdout?.off('data', onData);
        proc.off('exit', onExit);
        proc.stdout?.on('data', (c: Buffer) => log.write(c));
      };
      proc.stdout?.on('data', onData);
      proc.once('exit', onExit);
    });
  }

  /** Rewrites the libfaketime offset of a daemon started with `clock` (takes effect within ~1 s). */
  setClock(offset: string): void {
    if (this.#clockFile === null) throw new Error(`${this.id} was not started under libfaketime`);
    writeFileSync(this.#clockFile, `${offset}\n`);
  }

  /** SIGKILL, as a crash: no flush, no goodbye. Resolves once the process is gone. */
  async crash(): Promise<DaemonExit> {
    return this.#signalAndWait('SIGKILL', 10_000);
  }

  /** SIGTERM (graceful shutdown); resolves with how it exited, SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<DaemonExit> {
    return this.#signalAndWait('SIGTERM', timeoutMs);
  }

  /** SIGSTOP: the process is frozen, its sockets stay open. */
  pause(): void {
    this.#proc?.kill('SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT. */
  resume(): void {
    this.#proc?.kill('SIGCONT');
    this.#paused = false;
  }

  /** Resident set size in bytes, from /proc (null when not running). */
  rssBytes(): number | null {
    if (!this.alive || this.pid === undefined) return null;
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return m === null ? null : Number(m[1]) * 1024;
    } catch {
      return null;
    }
  }

  /** Closes the HTTP agent (its keep-alive sockets). */
  dispose(): void {
    this.agent.destroy();
    this.#log?.end();
    this.#log = null;
  }

  async #signalAndWait(signal: NodeJS.Signals, timeoutMs: number): Promise<DaemonExit> {
    const proc = this.#proc;
    if (proc === null || this.#exit !== null) return this.#exit ?? { code: null, signal: null };
    this.#expectExit = true;
    if (this.#paused) proc.kill('SIGCONT');
    this.#paused = false;
    proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<DaemonExit>((resolveKill) => {
      timer = setTimeout(() => {
        proc.kill('SIGKILL');
        resolveKill({ code: null, signal: 'SIGKILL' });
      }, timeoutMs);
    });
    const exit = await Promise.race([this.#exited, killed]);
    clearTimeout(timer);
    await this.#exited;
    // Pooled keep-alive sockets point at the dead process.
    this.agent.destroy();
    return exit;
  }
}

/** The last lines of a file (for error messages). */
export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
