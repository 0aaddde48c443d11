/**
 * Parent side of the consume worker protocol (see consume-worker.ts): forks
 * one fresh worker process per measurement and resolves with its figures.
 * Shared by the consume and consume-compare scenarios so both measure through
 * exactly the same harness.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerReply, WorkerTask } from './consume-worker.js';

const WORKER = fileURLToPath(new URL('./consume-worker.js', import.meta.url));

/**
 * Forks one worker for one task and resolves with its figures; rejects with
 * the worker's own error, or with its exit code when it died without replying.
 *
 * @example
 * const { opsPerSec } = await runConsumeWorker({ kind: 'throughput', competitor: 'tallymesh', keys: 1,
 *   calls: 1e6, warmupCalls: 5e5, repetitions: 3, limit: 1e9, expect: 'admit' });
 */
export function runConsumeWorker(task: WorkerTask): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    // Explicit execArgv: a fresh process with gc() exposed, not inheriting the runner's flags.
    const child = fork(WORKER, [JSON.stringify(task)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reply: WorkerReply | undefined;
    child.once('message', (m) => (reply = m as WorkerReply));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (reply?.ok) resolve(reply.figures);
      else if (reply) reject(new Error(`${task.kind} ${task.competitor} failed: ${reply.error}`));
      else reject(new Error(`${task.kind} ${task.competitor} worker exited (${signal ?? code}) without a reply`));
    });
  });
}
