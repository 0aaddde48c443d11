/**
 * Readiness, i.e. the initial sync. Per peer: a linked peer is `syncing`
 * until this node has merged one complete snapshot from the peer's current
 * incarnation, `live` after (a restarted peer must be synced from again).
 * Per node: {@link Readiness} says when the node may serve (`/readyz`): once
 * it synced with every peer it reached, after reaching every seed or waiting
 * out the join timeout.
 *
 * @module
 */
import type { Scheduler } from '../../transport/scheduler.js';
import type { Membership } from './membership.js';
import type { Peer } from './peer.js';
import type { ReplicationContext } from './replication-context.js';

/** The state of a peer that is linked and heard: `live` once we synced from it, else `syncing`. */
export function syncedState(peer: Peer): 'live' | 'syncing' {
  return peer.syncedFrom ? 'live' : 'syncing';
}

/** Tracks, per peer, whether this node has synced from it. */
export class InitialSync {
  #ctx: ReplicationContext;
  #membership: Membership;

  constructor(ctx: ReplicationContext, membership: Membership) {
    this.#ctx = ctx;
    this.#membership = membership;
  }

  /** A link to `peer` came up, from process `incarnation`: it is `live` or `syncing` again. */
  linkUp(peer: Peer, incarnation: string): void {
    if (peer.incarnation !== incarnation) {
      // A new process behind that node id: we must sync from it again.
      peer.incarnation = incarnation;
      peer.syncedFrom = false;
    }
    this.#membership.setState(peer, syncedState(peer), 'connected');
  }

  /** A SNAPSHOT chunk from `peer` was merged; the last one completes the initial sync. */
  snapshotChunk(peer: Peer, done: boolean): void {
    if (done && !peer.syncedFrom) {
      peer.syncedFrom = true;
      this.#membership.setState(peer, 'live', 'synced');
      this.#ctx.emit({ type: 'synced', nodeId: peer.nodeId });
    }
  }
}

/** What {@link Readiness} watches. */
export interface ReadinessOptions {
  scheduler: Scheduler;
  /** The node's peer records, now. */
  peers: () => Iterable<Peer>;
  /** Seed addresses the node was started with. */
  seeds: number;
  joinTimeoutMs: number;
  /** Physical ms when the node started. */
  startedAt: number;
  /** Called once, when the node turns ready. */
  onReady: () => void;
}

/**
 * Whether the node has done its initial sync. Checked on every peer event and
 * on a timer from the join timeout on.
 */
export class Readiness {
  #o: ReadinessOptions;
  #ready = false;
  #closed = false;
  #waiters: Array<() => void> = [];
  #cancelTimer: () => void = () => {};

  constructor(options: ReadinessOptions) {
    this.#o = options;
  }

  /** True once the node has synced with the peers it can reach (or waited out the join timeout alone). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Resolves when {@link Readiness.ready} turns true. */
  whenReady(): Promise<void> {
    return this.#ready ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Starts the join timer and checks once. */
  start(): void {
    this.#cancelTimer = this.#o.scheduler.after(this.#o.joinTimeoutMs, () => this.check());
    this.check();
  }

  /** Stops checking (the node is closing). */
  close(): void {
    this.#closed = true;
    this.#cancelTimer();
  }

  /** Turns ready when the conditions hold; past the join timeout, checks again every quarter of it. */
  check(): void {
    if (this.#ready || this.#closed) return;
    const { scheduler, joinTimeoutMs } = this.#o;
    const waited = scheduler.now() - this.#o.startedAt;
    const up = [...this.#o.peers()].filter((p) => p.state !== 'down' && p.state !== 'skewed');
    const allSynced = up.every((p) => p.syncedFrom);
    const everyoneFound = up.length >= this.#o.seeds;
    // Ready: synced with every peer it reached, once it reached all seeds or
    // the join timeout passed; past 5× the timeout a peer that never finishes
    // its snapshot no longer holds readiness back.
    if ((allSynced && (everyoneFound || waited >= joinTimeoutMs)) || waited >= 5 * joinTimeoutMs) {
      this.#ready = true;
      this.#o.onReady();
      for (const resolve of this.#waiters.splice(0)) resolve();
    } else if (waited >= joinTimeoutMs) {
      this.#cancelTimer = scheduler.after(joinTimeoutMs / 4, () => this.check());
    }
  }
}
