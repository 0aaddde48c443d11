/**
 * A daemon started through the CLI (`tallymesh start`) for the hostile-client
 * suite. The entry is `dist/cli/main.js`, or what TALLYMESH_FAULTS_CLI names
 * (as for the fault suite and the HTTP fuzzer), so the suite can be pointed
 * at a modified build to check that each of its assertions catches the
 * bound it is about being removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cliEntry } from '../../faults/daemon.js';

/** A running daemon process. */
export interface CliDaemon {
  child: ChildProcess;
  pid: number;
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** `127.0.0.1:40123`: what peers dial and what a Host header says. */
  address: string;
  port: number;
  /** Everything it wrote to stdout and stderr. */
  output: () => string;
  readonly running: boolean;
  kill(): void;
}

/** Starts `tallymesh start ...args` with a clean environment and resolves once it prints its URL. */
export async function startCliDaemon(args: string[], timeoutMs = 20_000): Promise<CliDaemon> {
  // The developer's TALLYMESH_* variables must not leak into the daemon.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TALLYMESH_')));
  const child = spawn(process.execPath, [cliEntry(), 'start', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (): void => {
      const m = /^tallymesh listening on (http:\/\/\S+?)\/*$/m.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve(m[1]);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (${code}) before listening:\n${out}`));
    });
  });
  const { host, port } = new URL(url);
  return {
    child,
    pid: child.pid as number,
    url,
    address: host,
    port: Number(port),
    output: () => out,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
