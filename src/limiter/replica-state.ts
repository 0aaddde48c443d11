/**
 * The replication surface of one limiter: what a mesh reads from and merges
 * into a limiter's window and limit register (deltas, snapshots, digests,
 * repairs), and what checks and inspection read (cells and their floors).
 * No network code here: the mesh moves what this returns.
 *
 * A {@link Limiter} owns one and hands it out as `limiter.replica`; the
 * user-facing decisions (`consume`, `peek`, `reset`, `setLimit`) stay on the
 * limiter and reach the window directly, so the hot path pays nothing for
 * this split.
 *
 * Imports only `crdt/` (may import: crdt/, src/errors.ts, src/validate.ts).
 *
 * @module
 */
import { mergeLww, type LwwRegister } from '../../crdt/lww.js';
import type { SlidingWindow } from '../../crdt/sliding-window.js';
import { MAX_LIMIT } from '../validate.js';

/** Window state as a delta, a snapshot chunk or a repair answer carries it. */
export type ReplicaBatch = Parameters<SlidingWindow['merge']>[0];

/** One live cell of a key: this bucket's count of one replica, and the floor of it a reset hid (visible: count − floor). */
export type ReplicaCell = ReturnType<SlidingWindow['cellsOf']>[number];

/**
 * What a {@link ReplicaState} reaches inside its limiter. The limit register
 * stays a field of the limiter, read directly by `consume`; the replica state
 * reads and replaces it through these.
 *
 * @internal Built by the {@link Limiter} constructor.
 */
export interface ReplicaHost {
  /** The limiter's HLC wall time now, in ms. */
  time(): number;
  /** The limit register in force. */
  limit(): LwwRegister<number>;
  /** Replaces the limit register in force. */
  setLimit(register: LwwRegister<number>): void;
}

/**
 * The replication surface of one limiter.
 *
 * @example
 * const { state, limitChanged } = limiter.replica.drainDelta();
 * if (state !== null) peer.send(state);
 * other.replica.merge(state);
 */
export class ReplicaState {
  readonly #window: SlidingWindow;
  readonly #host: ReplicaHost;
  /** A limit change not yet shipped to peers. */
  #limitChanged = false;

  /** @internal Built by the {@link Limiter} that owns `window`. */
  constructor(window: SlidingWindow, host: ReplicaHost) {
    this.#window = window;
    this.#host = host;
  }

  /** The limit register (for replication). */
  get limitRegister(): LwwRegister<number> {
    return this.#host.limit();
  }

  /**
   * The limit register when a runtime change set it, else null: the
   * configured limit (ts 0) is each node's own floor and never travels. What
   * deltas, retained logs, snapshots and digests carry (issue 10, defect 10).
   */
  get runtimeLimit(): LwwRegister<number> | null {
    const register = this.#host.limit();
    return register.ts > 0 ? register : null;
  }

  /** @internal Marks a local limit change for the next delta (called by `Limiter.setLimit`). */
  markLimitChanged(): void {
    this.#limitChanged = true;
  }

  /**
   * Takes the changes since the last call (null when none) — this replica's
   * own cells and the other replicas' cells a merge changed, relayed — and
   * whether the limit changed.
   */
  drainDelta(): { state: ReplicaBatch | null; limitChanged: boolean } {
    const state = this.#window.drainDelta(this.#host.time());
    const limitChanged = this.#limitChanged;
    this.#limitChanged = false;
    return { state, limitChanged };
  }

  /** Drops the pending changes unbuilt (no peer to send them to); a pending limit change stays. */
  discardDelta(): void {
    this.#window.discardDelta(this.#host.time());
  }

  /**
   * Joins remote window state; returns the number of cells that changed.
   * With `relay` (the default) what changed goes out again with the next
   * {@link drainDelta}, for peers the sender may not reach (a bridge, issue
   * 10, defect 11); snapshot chunks are merged without. A predicate on the
   * replica id relays only the accepted replicas' cells (targeted relay).
   * `fresh` marks a delta, whose new hits feed lag-aware admission's rates
   * (see {@link tickEstimate}); snapshot chunks and repairs are not fresh.
   */
  merge(state: ReplicaBatch, relay: boolean | ((replicaId: string) => boolean) = true, fresh = false): number {
    return this.#window.merge(state, this.#host.time(), relay, fresh);
  }

  /**
   * Lag-aware admission's tick (docs/accuracy.md): folds the remote hits
   * merged since the last tick into the hot keys' rates and takes each
   * replica's replication delay (ms) from `delayOf`. Nothing when the
   * limiter runs without it.
   */
  tickEstimate(delayOf: (replicaId: string) => number): void {
    this.#window.estimate?.tick(this.#window.replicaIds, delayOf);
  }

  /** Hot keys lag-aware admission tracks (0 when off). */
  get hotKeys(): number {
    return this.#window.estimate?.size ?? 0;
  }

  /**
   * True when the window's replica registry has room for every new id of
   * `state`'s replica table: a batch past it should be refused whole (see
   * {@link replicaCount}).
   */
  admits(state: ReplicaBatch): boolean {
    return this.#window.admitsReplicas(state.replicas);
  }

  /** Replica ids the window holds cells of (this replica's included), at most `MAX_REPLICA_IDS`; expired ones are forgotten by the sweep. */
  get replicaCount(): number {
    return this.#window.replicaCount;
  }

  /**
   * Joins a remote limit register (last writer wins, ties by replica id).
   * A register whose value `setLimit` would refuse (not an integer from 1 to
   * MAX_LIMIT) is refused here too, and nothing changes: a limit of 0 would
   * make every `consume` throw. Returns false when refused (true when valid,
   * whether or not it won).
   */
  mergeLimit(register: LwwRegister<number>): boolean {
    const { value } = register;
    if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) return false;
    this.#host.setLimit(mergeLww(this.#host.limit(), register) as LwwRegister<number>);
    return true;
  }

  /** A chunk of the live state, from slot `cursor` (see `SlidingWindow.snapshot`). */
  snapshot(cursor = 0, maxKeys = Infinity): { state: ReplicaBatch; cursor: number } {
    return this.#window.snapshot(this.#host.time(), cursor, maxKeys);
  }

  /** Anti-entropy digest over buckets `from..to`. */
  digest(from: number, to: number, shards: number): number[] {
    return this.#window.digest(from, to, shards);
  }

  /** Full state of the given digest shards. */
  shardState(shards: number, wanted: ReadonlySet<number>): ReplicaBatch {
    return this.#window.shardState(shards, wanted, this.#host.time());
  }

  /**
   * Part of {@link shardState}, for answers streamed over several ticks: the
   * keys of the wanted shards among at most `maxSlots` slots from `cursor`,
   * at most `maxKeys` of them (see `SlidingWindow.shardChunk`).
   */
  shardChunk(
    shards: number,
    wanted: ReadonlySet<number>,
    cursor: number,
    maxSlots: number,
    maxKeys: number,
    only?: (replicaId: string) => boolean,
  ): { state: ReplicaBatch; cursor: number; examined: number } {
    return this.#window.shardChunk(shards, wanted, this.#host.time(), cursor, maxSlots, maxKeys, only);
  }

  /** The current bucket id. */
  currentBucket(): number {
    return this.#window.bucketOf(this.#host.time());
  }

  /** Frees expired state; returns keys freed. */
  sweep(maxSlots?: number): number {
    return this.#window.sweep(this.#host.time(), maxSlots);
  }

  /**
   * The paced sweep, for the gossip tick: frees expired keys from the share
   * of the slots due since the last call (every slot twice per window, a
   * bounded number per call). Returns keys freed.
   */
  sweepDue(): number {
    return this.#window.sweepDue(this.#host.time());
  }

  /** The largest window count now among at most `maxSlots` keys' slots from `cursor`, and the cursor to go on from (see `SlidingWindow.peakCount`). */
  peakCount(cursor: number, maxSlots: number): { peak: number; cursor: number } {
    return this.#window.peakCount(this.#host.time(), cursor, maxSlots);
  }

  /** Live cells of `key` (bucket, replica, floor, count), for inspection and checks. */
  cellsOf(key: string): ReplicaCell[] {
    return this.#window.cellsOf(key, this.#host.time());
  }

}
