/**
 * What a CLI test starts and writes, cleaned up after each test: daemons
 * (killed) and temporary directories (removed). Register `cleanup` with
 * `afterEach`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, type CliProcess, type DaemonProcess } from './cli-process.js';

/** The processes and directories of one test file. */
export interface CliScratch {
  /** Kills `proc` at cleanup if it still runs; returns it. */
  track(proc: CliProcess): CliProcess;
  /** `tallymesh start ...args`, once listening; killed at cleanup. */
  start(args: string[], env?: Record<string, string>): Promise<DaemonProcess>;
  /** Runs `stop` at cleanup (a CLI cluster's). */
  defer(stop: () => void): void;
  /** A new temporary directory, removed at cleanup. */
  dir(): string;
  /** Kills what runs and removes what was written. */
  cleanup(): void;
}

/** A scratch area whose directories start with `tallymesh-<prefix>-`. */
export function cliScratch(prefix: string): CliScratch {
  const procs: CliProcess[] = [];
  const dirs: string[] = [];
  const deferred: Array<() => void> = [];
  return {
    track(proc) {
      procs.push(proc);
      return proc;
    },
    async start(args, env) {
      const d = await startCli(args, env);
      procs.push(d.proc);
      return d;
    },
    defer(stop) {
      deferred.push(stop);
    },
    dir() {
      const dir = mkdtempSync(join(tmpdir(), `tallymesh-${prefix}-`));
      dirs.push(dir);
      return dir;
    },
    cleanup() {
      for (const p of procs.splice(0)) p.kill();
      for (const stop of deferred.splice(0)) stop();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
