/**
 * Spawns the built CLI (`node dist/cli/main.js ...`) for integration tests:
 * one-shot commands with their output and exit code, and long-running
 * daemons whose URL is read from their "listening" line. Every wait polls
 * against a deadline; nothing sleeps a fixed time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI entry `npm run build` produces (the package's bin). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A finished command. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running CLI process. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** Settles with the exit once the process ends. */
  readonly exited: Promise<RunResult>;

  constructor(args: string[], env: Record<string, string> = {}) {
    // A clean environment: the developer's TALLYMESH_* variables must not leak into the test.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TALLYMESH_')));
    this.child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    this.child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
    });
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The JSON log lines (pino) printed on stdout so far, parsed. */
  jsonLines(): Array<Record<string, any>> {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
  }

  /** Resolves with the first match of `re` on stdout; rejects when the process ends or the deadline passes first. */
  async waitForStdout(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.stdout);
      if (m !== null) return m;
      if (!this.running) throw new Error(`process exited (${this.child.exitCode}) before ${re}:\n${this.stdout}\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits for the exit, killing the process when it outlives `timeoutMs`. */
  async wait(timeoutMs = 20_000): Promise<RunResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`process did not exit within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process if it still runs (test cleanup). */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

/** Runs a one-shot command to completion. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<RunResult> {
  return new CliProcess(args, env).wait(timeoutMs);
}

/** A daemon started with `tallymesh start`, once it printed its URL. */
export interface DaemonProcess {
  proc: CliProcess;
  url: string;
  /** `host:port`, for --peers. */
  address: string;
}

/** Starts `tallymesh start ...args` and waits for `tallymesh listening on <url>`. */
export async function startCli(args: string[], env: Record<string, string> = {}): Promise<DaemonProcess> {
  const proc = new CliProcess(['start', ...args], env);
  const [, url] = await proc.waitForStdout(/^tallymesh listening on (https?:\/\/\S+)$/m);
  return { proc, url: url.replace(/\/+$/, ''), address: new URL(url).host };
}

/** Polls `check` until it returns true, or throws after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
