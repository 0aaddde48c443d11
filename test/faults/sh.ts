/**
 * Running system commands for the fault suite: synchronous (setup, teardown
 * and exit handlers must work without an event loop) and bounded in time.
 */
import { spawnSync } from 'node:child_process';

/** What a finished command left behind. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` to completion (at most `timeoutMs`); never throws. */
export function tryRun(cmd: string, args: readonly string[], timeoutMs = 20_000): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  const code = r.status ?? (r.error !== undefined ? 127 : 1);
  return { code, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error !== undefined ? String(r.error.message) : '') };
}

/** Runs `cmd args` and throws, with the command line and its stderr, when it fails. */
export function run(cmd: string, args: readonly string[], timeoutMs = 20_000): string {
  const r = tryRun(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every `everyMs` until it returns a non-null value or `timeoutMs`
 * passes; returns the value and how long it took, or null on timeout.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | null>,
  timeoutMs: number,
  everyMs = 100,
): Promise<{ value: T; ms: number } | null> {
  const start = Date.now();
  for (let round = 0; round < 100_000; round++) {
    const value = await probe();
    if (value !== null) return { value, ms: Date.now() - start };
    if (Date.now() - start >= timeoutMs) return null;
    await sleep(everyMs);
  }
  return null;
}
