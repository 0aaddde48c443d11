/**
 * What became of each seed peer (`--peers`): whether this node reached it,
 * as which node, and, when not, the last error of its dials (refused, TLS,
 * a handshake with another secret…). `/v1/cluster` lists it under `seeds`,
 * `/readyz` and a WARN line name the unreachable ones, and a gauge counts
 * them by state: a node that reaches none of its seeds serves alone, and
 * must say so rather than report "0 of 0 peers reachable".
 *
 * May import: the transport's types. Fed by the replicator's `dial` events.
 *
 * @module
 */
import type { DialFailure, DialResult } from '../../transport/transport.js';

/**
 * A seed's state: `connected` (a link to the node behind it is up),
 * `unreachable` (the last dial failed), `connecting` (no dial has finished
 * yet, or the node went away and is being redialed), `self` (the address is
 * this node's own).
 */
export type SeedState = 'connecting' | 'connected' | 'unreachable' | 'self';

/** Every {@link SeedState}, for metrics that export each one. */
export const SEED_STATES: readonly SeedState[] = ['connecting', 'connected', 'unreachable', 'self'];

/** One seed as `/v1/cluster` shows it. */
export interface SeedReport {
  address: string;
  state: SeedState;
  /** The node id the address answered as (null until a dial authenticated). */
  nodeId: string | null;
  /** Failed dials in a row (0 after a success). */
  failures: number;
  /** The last failed dial (kept after a success, so a flapping seed explains itself). */
  lastError: { reason: DialFailure; detail: string; agoMs: number } | null;
}

interface SeedRecord {
  nodeId: string | null;
  failures: number;
  lastError: { reason: DialFailure; detail: string; at: number } | null;
  /** Whether the last dial that finished failed. */
  failing: boolean;
}

/**
 * The seeds of one node and what their dials did.
 *
 * @example
 * const seeds = new SeedStatus(['127.0.0.1:9'], 'a', () => Date.now());
 * seeds.record('127.0.0.1:9', { ok: false, reason: 'refused', detail: 'connect ECONNREFUSED 127.0.0.1:9' });
 * seeds.report('127.0.0.1:7070', () => false)[0].state; // 'unreachable'
 */
export class SeedStatus {
  #seeds = new Map<string, SeedRecord>();
  #nodeId: string;
  #now: () => number;

  constructor(seeds: readonly string[], nodeId: string, now: () => number) {
    for (const address of seeds) this.#seeds.set(address, { nodeId: null, failures: 0, lastError: null, failing: false });
    this.#nodeId = nodeId;
    this.#now = now;
  }

  /** True when `address` is one of the seeds. */
  has(address: string): boolean {
    return this.#seeds.has(address);
  }

  /** Records how a dial to `address` ended (other addresses, learned from peers, are not tracked here). */
  record(address: string, result: DialResult): void {
    const seed = this.#seeds.get(address);
    if (seed === undefined) return;
    if (result.ok) {
      seed.nodeId = result.nodeId;
      seed.failures = 0;
      seed.failing = false;
    } else {
      seed.failures++;
      seed.failing = true;
      seed.lastError = { reason: result.reason, detail: result.detail, at: this.#now() };
    }
  }

  /**
   * Every seed now. `ownAddress` is this node's; `linked(nodeId)` says whether
   * a link to that node is up (through this seed or any other way).
   */
  report(ownAddress: string, linked: (nodeId: string) => boolean): SeedReport[] {
    const now = this.#now();
    const out: SeedReport[] = [];
    for (const [address, s] of this.#seeds) {
      let state: SeedState;
      if (address === ownAddress || s.nodeId === this.#nodeId) state = 'self';
      else if (s.nodeId !== null && linked(s.nodeId)) state = 'connected';
      else if (s.failing) state = 'unreachable';
      else state = 'connecting';
      const lastError = s.lastError === null ? null : { reason: s.lastError.reason, detail: s.lastError.detail, agoMs: now - s.lastError.at };
      out.push({ address, state, nodeId: s.nodeId, failures: s.failures, lastError });
    }
    return out;
  }
}

/**
 * One line naming the seeds not reached — unreachable, or never answered
 * yet — for `/readyz` and the log; null when every seed was reached.
 *
 * @example
 * seedsNotReached(cluster.seeds); // '1 of 2 seed peers not reached: 127.0.0.1:9 (refused: connect ECONNREFUSED 127.0.0.1:9)'
 */
export function seedsNotReached(seeds: readonly SeedReport[]): string | null {
  const named = missingSeeds(seeds);
  return named.length === 0 ? null : `${named.length} of ${seeds.length} seed peers not reached: ${named.join('; ')}`;
}

/**
 * Each seed not reached, named with its last error (`127.0.0.1:9 (refused: …)`)
 * or `(no answer yet)`.
 *
 * @example
 * missingSeeds(cluster.seeds); // ['127.0.0.1:9 (refused: connect ECONNREFUSED 127.0.0.1:9)']
 */
export function missingSeeds(seeds: readonly SeedReport[]): string[] {
  return seeds
    // A seed that answered as a node and is being redialed (say, dropped for its clock) is the peer list's to explain.
    .filter((s) => s.state === 'unreachable' || (s.state === 'connecting' && s.nodeId === null))
    .map((s) => {
      if (s.state === 'connecting' || s.lastError === null) return `${s.address} (no answer yet)`;
      return `${s.address} (${s.lastError.reason}: ${s.lastError.detail})`;
    });
}
