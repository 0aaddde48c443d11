/**
 * The V8 heap limit of `tallymesh start`. V8 fixes its heap limit when the
 * process starts (from the host's memory, not a container's), and
 * `v8.setFlagsFromString('--max-old-space-size=…')` afterwards changes
 * nothing. So when the configuration gives a memory limit (`--memory-limit`
 * or the cgroup's `memory.max`), `start` runs the daemon in a child process
 * of the same Node with `--max-old-space-size` set from it (the figure of
 * src/daemon/memory-budget.ts), and this process only relays: the signals it
 * gets go to the child, and it exits with the child's status.
 *
 * It does not relaunch when `--max-old-space-size` is already given (in
 * `NODE_OPTIONS` or on node's command line): the operator's choice stands,
 * and the child itself is started with it, so it never relaunches again.
 * The child runs in a process group of its own, so a signal sent to this
 * process's group (Ctrl-C) reaches it once, relayed.
 * The child watches the IPC channel to this process: if this process dies
 * without a signal to relay (SIGKILL), the child shuts down gracefully rather
 * than run on unsupervised.
 *
 * @module
 */
import { spawn } from 'node:child_process';

const HEAP_FLAG = /--max[-_]old[-_]space[-_]size[= ]/;
/** Signals relayed to the child: stop (SIGTERM, SIGINT) and whatever else an operator sends a daemon. */
const RELAYED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'];

/** True when the heap limit was set for this process (node's flags or NODE_OPTIONS). */
export function heapLimitGiven(): boolean {
  return process.execArgv.some((a) => HEAP_FLAG.test(`${a} `)) || HEAP_FLAG.test(`${process.env.NODE_OPTIONS ?? ''} `);
}

/**
 * True in the child {@link relaunchWithHeapLimit} started: it has the IPC
 * channel to its launcher.
 */
export function launchedWithHeapLimit(): boolean {
  return process.send !== undefined && process.execArgv.some((a) => HEAP_FLAG.test(`${a} `));
}

/**
 * Runs this same command line again in a child with `--max-old-space-size=<heapMiB>`,
 * relays signals to it, and resolves with the exit code to leave with (a
 * child killed by a signal: 128 + its number, as a shell reports it).
 */
export function relaunchWithHeapLimit(heapMiB: number): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, `--max-old-space-size=${heapMiB}`, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    // A process group of its own: Ctrl-C in a terminal (or tini -g) signals our group, and we relay once;
    // in the same group the daemon would get the signal twice and take the second as "exit now".
    detached: true,
  });
  const relay = (signal: NodeJS.Signals) => {
    child.kill(signal);
  };
  for (const s of RELAYED) process.on(s, relay);
  return new Promise((resolve) => {
    child.once('error', (err) => {
      console.error(`tallymesh: cannot start the daemon with --max-old-space-size=${heapMiB}: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      for (const s of RELAYED) process.off(s, relay);
      const signo = signal === null ? 0 : ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
      resolve(code ?? 128 + signo);
    });
  });
}
