/**
 * Loads the package's entries on first use. The daemon entry pulls in the
 * HTTP, metrics and WebSocket stack; `--help`, `consume` and `status` need none
 * of it, so commands import it inside their actions and stay quick to start.
 * The CLI imports only the package's public entries, never internals.
 *
 * @module
 */

/** The `tallymesh/daemon` entry. */
export type DaemonEntry = typeof import('../src/daemon/index.js');
/** The `tallymesh/sim` entry. */
export type SimEntry = typeof import('../src/sim/index.js');

let daemon: Promise<DaemonEntry> | undefined;
let sim: Promise<SimEntry> | undefined;

/** The `tallymesh/daemon` entry, imported once. */
export function daemonEntry(): Promise<DaemonEntry> {
  daemon ??= import('../src/daemon/index.js');
  return daemon;
}

/** The `tallymesh/sim` entry, imported once. */
export function simEntry(): Promise<SimEntry> {
  sim ??= import('../src/sim/index.js');
  return sim;
}
