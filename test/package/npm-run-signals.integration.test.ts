/**
 * `npm run tallymesh -- start ...` stops the daemon when npm gets SIGTERM or
 * SIGINT. npm forwards those signals to the script's shell (`sh -c`); the
 * script `exec`s node, so the daemon is that process, not an orphan the
 * shell leaves behind. Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { eventually } from '../cli/cli-process.js';
import { childEnv, ROOT } from './pack.js';

/** True when something answers HTTP at `url`. */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

/** Starts the daemon through npm and waits for its URL. */
async function startThroughNpm(): Promise<{ npm: ChildProcess; url: string; exited: Promise<unknown>; output: () => string }> {
  const npm = spawn('npm', ['run', 'tallymesh', '--', 'start', '--port', '0', '--drain-ms', '200ms', '--limiter', 'name=api,limit=10,window=1s'], {
    cwd: ROOT,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  npm.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise((resolve) => npm.on('close', resolve));
  let url = '';
  await eventually(
    () => {
      const m = /^tallymesh listening on (https?:\/\/\S+)$/m.exec(out);
      if (m !== null) url = m[1]!.replace(/\/+$/, '');
      if (npm.exitCode !== null) throw new Error(`npm exited before the daemon listened:\n${out}`);
      return m !== null;
    },
    30_000,
    'the daemon listening',
  );
  return { npm, url, exited, output: () => out };
}

describe('npm run tallymesh forwards signals to the daemon', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s to npm stops the daemon', async (signal) => {
    const { npm, url, exited, output } = await startThroughNpm();
    try {
      expect(await answers(url)).toBe(true);
      npm.kill(signal);
      await eventually(async () => !(await answers(url)), 5_000, `the daemon to stop after ${signal} to npm`);
      await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`npm still runs:\n${output()}`)), 5_000))]);
      expect(output()).toMatch(new RegExp(`shutting down \\(${signal}\\)`));
    } finally {
      npm.kill('SIGKILL');
      // A daemon the signal did not reach outlives npm: end it by the pid it logged.
      const pid = /"pid":(\d+)/.exec(output());
      if (pid !== null && (await answers(url))) process.kill(Number(pid[1]), 'SIGKILL');
    }
  });
});
