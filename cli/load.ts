/**
 * Loads the package entry on first use. The entry pulls in the daemon,
 * metrics and WebSocket stack; `--help`, `consume` and `status` need none of
 * it, so commands import it inside their actions and stay quick to start.
 *
 * @module
 */

/** The package's public entry (`tallymesh`). */
export type Tallymesh = typeof import('../src/index.js');

let entry: Promise<Tallymesh> | undefined;

/** The package entry, imported once. */
export function tallymesh(): Promise<Tallymesh> {
  entry ??= import('../src/index.js');
  return entry;
}
