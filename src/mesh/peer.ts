/**
 * What a node knows about one peer: its link state, what it still owes the
 * peer (a compacted delta log or a snapshot in progress), and figures for
 * observability.
 *
 * @module
 */
import { DeltaLog } from '../../crdt/delta-log.js';
import { RequestBudget } from './request-budget.js';

/**
 * Link state of a peer, as this node sees it.
 * - `syncing`: connected, the initial snapshot exchange is in progress;
 * - `live`: connected and in sync (deltas flow);
 * - `suspect`: connected but silent for `suspectAfterMs` (unreachable);
 * - `skewed`: its clock runs further ahead than `maxClockOffsetMs`: its frames are refused;
 * - `down`: no connection (redialing).
 */
export type PeerLinkState = 'syncing' | 'live' | 'suspect' | 'skewed' | 'down';

/** Frames refused from a peer, by reason. */
export type RejectCounts = Record<string, number>;

/** Per-peer replication state. */
export class Peer {
  readonly nodeId: string;
  address: string;
  incarnation = '';
  state: PeerLinkState = 'down';
  /** Why the state last changed (e.g. `clock-skew`, `silent for 1012 ms`). */
  reason = '';
  /**
   * A transport link to the peer is up: frames can be sent. Set by the
   * transport's up and down callbacks only. It is not derived from `state`,
   * which is replication's view: a `skewed` peer may still be linked or not,
   * and a peer that said BYE is `down` while its link is still closing.
   */
  linked = false;
  /** Physical ms when a frame last arrived from this peer. */
  lastHeardAt = 0;
  /** Physical ms when a frame was last sent to this peer. */
  lastSentAt = 0;
  /** Peer's HLC wall minus our physical clock at receipt (ms; includes one-way latency). */
  clockOffsetMs = 0;
  /**
   * Smoothed delay between a frame's sending on the peer and its arrival
   * here (ms; by the peer's HLC stamp, so it includes clock offset). Every
   * frame samples it: deltas are stamped at the tick that drained them.
   */
  replicationLagMs = 0;
  /** The least recent one-way sample (delay + clock offset) of this link, drifting up slowly: its base. */
  lagFloorMs = Number.POSITIVE_INFINITY;
  lagFloorAt = 0;
  /** Smoothed delay beyond the link's floor: the lag a peer or link falling behind adds, free of clock offset. */
  excessLagMs = 0;
  /** The transport's smoothed round trip to the peer (ms), as of lag-aware admission's last tick; null: unknown. */
  roundTripMs: number | null = null;
  /** When this node last asked the peer for a snapshot (SYNC); −∞: never. */
  syncSentAt = Number.NEGATIVE_INFINITY;
  /** The peer said BYE (it left on purpose); cleared when its link comes up again. */
  left = false;
  /**
   * Deltas the peer may not have: everything sent in the current and the
   * previous retention period (one `suspectAfterMs` each), plus everything
   * kept while it was silent. Without acknowledgements, a frame sent just
   * before a peer fell silent may be lost; retaining one suspicion period
   * back covers it.
   */
  log = new DeltaLog();
  /** The previous retention period's log. */
  previous = new DeltaLog();
  /** Physical ms when the log was last rotated. */
  rotatedAt = 0;
  /** The peer was heard again after silence: send it the retained logs. */
  catchUp = false;
  /** The peer must get a full snapshot (new, restarted, or too far behind). */
  needsSnapshot = true;
  /** Snapshot in progress: limiter index and slot cursor. */
  snapshot: { limiter: number; cursor: number; seq: number } | null = null;
  /** A snapshot is owed but waits for the peer's snapshot budget (reported once per wait). */
  snapshotDeferred = false;
  /**
   * Digest shards whose cells we owe the peer (answers to its REPAIRs and
   * our own pushes), per limiter name: a mask of the shard indexes, waiting
   * for a walk. Requests for a limiter coalesce here, whatever their number.
   */
  // Annotated: the inferred type would be declared as Uint8Array<ArrayBufferLike>, which TypeScript 5.4 (the stated minimum) cannot read.
  readonly repairsOwed: Map<string, Uint8Array> = new Map();
  /** The repair walk in progress: one limiter's owed shards, and the slot to continue from. */
  repairWalk: { name: string; shards: ReadonlySet<number>; cursor: number; origins?: ReadonlySet<string> } | null = null;
  /** What the peer may still ask of us that costs a walk over a window (DIGEST, REPAIR, snapshots). */
  readonly budget = new RequestBudget();
  /** We have received a complete snapshot from this peer's current incarnation. */
  syncedFrom = false;
  /** Digest shards that differed from this peer's in the last round, per limiter. */
  readonly differing = new Map<string, Set<number>>();
  /**
   * The peer's last PEERS report: node id → it has a live link to that node
   * (null: no report since the link came up; relay everything to it). See
   * `relay-routes.ts`.
   */
  links: Map<string, boolean> | null = null;
  /**
   * Origin nodes whose live cells we owe the peer in full, per limiter name:
   * it lost its direct path to them, and may have missed their cells since
   * (sent by the repair walks of `anti-entropy.ts`).
   */
  readonly originsOwed = new Map<string, Set<string>>();
  /** Consecutive frames refused for clock skew. */
  skewStrikes = 0;
  readonly rejected: RejectCounts = {};

  constructor(nodeId: string, address: string) {
    this.nodeId = nodeId;
    this.address = address;
  }

  /** Cells retained in both periods. */
  get retainedCells(): number {
    return this.log.cells + this.previous.cells;
  }

  /** Starts a new retention period: the previous one is forgotten. */
  rotate(now: number): void {
    const old = this.previous;
    old.clear();
    this.previous = this.log;
    this.log = old;
    this.rotatedAt = now;
  }

  /** Forgets everything retained, and the repairs owed (a snapshot replaces them). */
  clearLogs(): void {
    this.log.clear();
    this.previous.clear();
    this.repairsOwed.clear();
    this.originsOwed.clear();
    this.repairWalk = null;
  }

  /** Counts a refused frame. */
  reject(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  /** The peer is owed a snapshot, or one is streaming to it. */
  get owesSnapshot(): boolean {
    return this.needsSnapshot || this.snapshot !== null;
  }
}
