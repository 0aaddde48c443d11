/**
 * The limiter: one named sliding window with a limit, deciding locally and
 * synchronously. On its own it is the embedded single-process limiter; inside
 * a mesh the replicator drains its deltas and merges its peers' state through
 * `limiter.replica` (the {@link ReplicaState} of `replica-state.ts`).
 *
 * src/limiter/ may import: crdt/, src/errors.ts, src/validate.ts.
 *
 * @module
 */
import { Hlc } from '../../crdt/hlc.js';
import { LagEstimate, type LagEstimateOptions } from '../../crdt/lag-estimate.js';
import type { LwwRegister } from '../../crdt/lww.js';
import { SlidingWindow, type Decision } from '../../crdt/sliding-window.js';
import { codes } from '../errors.js';
import { newIncarnation, replicaIdOf } from './replica-id.js';
import { ReplicaState, type ReplicaBatch, type ReplicaCell } from './replica-state.js';
import {
  checkCost,
  booleanOption,
  checkKey,
  defaultBuckets,
  enumOption,
  integerOption,
  MAX_BUCKETS,
  MAX_LIMIT,
  MAX_WINDOW_MS,
  nameOption,
  ratioOption,
} from '../validate.js';

export type { Decision };

/** What to do with a new key when the limiter already holds `maxKeys` keys. */
export type OverflowPolicy = 'allow' | 'deny';

/**
 * What a node of a mesh admits once it lost contact with a member (down,
 * suspect, or lagging past `maxLagMs`): `local` decides on what it knows, as
 * when healthy; `share` admits only its own share of the budget left when it
 * lost contact (docs/accuracy.md, Partition policy).
 */
export type PartitionPolicy = 'local' | 'share';

/** Default `maxLagMs`: the lag past which the design notes fall back to a local share. */
export const DEFAULT_MAX_LAG_MS = 200;

/** The share a `partition: 'share'` limiter admits within while it has lost contact (see {@link Limiter.share}). */
export interface PartitionShare {
  /** Bucket in which contact was lost: every hit before it, and other replicas' hits in it, count as the budget spent. */
  readonly fromBucket: number;
  /** This node's weight among the members (1 / members). */
  readonly weight: number;
  /** Members (this node included) the weight was taken over. */
  readonly members: number;
  /** Physical ms when the share began. */
  readonly since: number;
  /** `contact`: a member is unreachable; `lag`: a member's replication lag passed `maxLagMs`. */
  readonly cause: 'contact' | 'lag';
  /** Why, in words: the members lost, or the lag. */
  readonly reason: string;
}

/** Options of {@link createLimiter}. */
export interface LimiterOptions {
  /** Name: 1–64 of [A-Za-z0-9_.-]. Peers share a limiter by name. */
  name: string;
  /** Hits admitted per window (integer ≥ 1). */
  limit: number;
  /** Window length in ms (integer ≥ 1). */
  windowMs: number;
  /** Buckets per window (integer 1–600). Default: one per second, clamped to [10, 600]. */
  buckets?: number;
  /** Keys held — counted here, merged from peers, or reset — before `onOverflow` applies (default 1,000,000). */
  maxKeys?: number;
  /**
   * New keys past `maxKeys`: admit without counting ('allow', the default:
   * the limiter fails open for new keys only) or deny (for limiters guarding
   * logins and the like). Either way `stats.overflows` counts them, and a
   * daemon reports them (docs/operations.md, Key bound and overflow).
   */
  onOverflow?: OverflowPolicy;
  /**
   * In a mesh, what to admit after losing contact with a member: `local`
   * (the default: decide on what this node knows) or `share` (only this
   * node's share of the budget left when contact was lost, so a partitioned
   * cluster stays within a stated bound; docs/accuracy.md). Embedded, alone,
   * it changes nothing.
   */
  partition?: PartitionPolicy;
  /**
   * With `partition: 'share'`: replication lag from a member (ms) past which
   * this node falls back to its share as if it had lost contact (default 200).
   */
  maxLagMs?: number;
  /**
   * In a mesh, lag-aware admission (default true): a key peers count too is
   * decided on its count plus the hits they have probably admitted but this
   * node has not seen yet, and near its limit on this node's quota of what
   * is left (docs/accuracy.md, Lag-aware admission). False decides on the
   * count alone, as before it existed. Embedded, alone, it changes nothing.
   */
  lagAware?: boolean;
  /**
   * In a mesh, the bound on the estimated admitted ratio (the largest
   * window count of any key ÷ the limit) past which an `slo` event reports
   * the deviation, e.g. 1.05. Unset: the ratio is measured, never reported.
   */
  sloRatio?: number;
}

/** Counters a limiter keeps about itself. */
export interface LimiterStats {
  allowed: number;
  denied: number;
  /** Decisions taken for new keys past `maxKeys`. */
  overflows: number;
}

/** Environment of a limiter: clock, replica id. Supplied by a mesh; defaults for embedded use. */
export interface LimiterContext {
  hlc: Hlc;
  /** Physical time in ms. */
  now: () => number;
  replicaId: string;
  maxClockOffsetMs: number;
  /** Called when a new key meets a full limiter. */
  onOverflow?: (limiter: Limiter) => void;
  /** Node-wide key bound shared by every limiter of a node: true when it is reached. */
  nodeFull?: () => boolean;
  /** Called when this many keys wait to be replicated: ship them now instead of at the next tick. */
  flushAt?: number;
  /** Set by a mesh: the lag-aware admission settings its `lagAware` limiters use (absent: embedded, none). */
  lagEstimate?: LagEstimateOptions;
  onFlushDue?: () => void;
}

const DEFAULT_MAX_KEYS = 1_000_000;

/**
 * A named sliding-window rate limiter.
 *
 * @example
 * const api = createLimiter({ name: 'api', limit: 100, windowMs: 60_000 });
 * const d = api.consume('user:42');
 * if (!d.allowed) res.setHeader('Retry-After', Math.ceil(d.retryAfterMs / 1000));
 */
export class Limiter {
  readonly name: string;
  readonly windowMs: number;
  readonly buckets: number;
  readonly maxKeys: number;
  readonly overflowPolicy: OverflowPolicy;
  /** What this limiter admits after losing contact with a member (see {@link PartitionPolicy}). */
  readonly partition: PartitionPolicy;
  /** With `share`: the replication lag (ms) past which it falls back to its share. */
  readonly maxLagMs: number;
  /** The admitted-ratio bound past which a mesh reports an `slo` event (undefined: none). */
  readonly sloRatio: number | undefined;
  /** Whether a mesh decides this limiter's hot keys lag-aware (see {@link LimiterOptions.lagAware}). */
  readonly lagAware: boolean;
  readonly stats: LimiterStats = { allowed: 0, denied: 0, overflows: 0 };
  /**
   * The replication surface: deltas, merges, snapshots, digests, cells. What
   * a mesh uses; an embedded limiter never needs it.
   */
  readonly replica: ReplicaState;
  #window: SlidingWindow;
  #ctx: LimiterContext;
  /** The limit in force: an LWW register so runtime changes converge cluster-wide. */
  #limit: LwwRegister<number>;
  /** The share in force (null: none, the healthy case and every `local` limiter). */
  #share: PartitionShare | null = null;

  /** @internal Use {@link createLimiter} or `mesh.limiter()`. */
  constructor(options: LimiterOptions, ctx: LimiterContext) {
    if (typeof options !== 'object' || options === null) {
      throw new codes.TALLYMESH_ERR_OPTION_TYPE('options', 'an object', String(options));
    }
    this.name = nameOption(options.name);
    const limit = integerOption('limit', options.limit, 1, MAX_LIMIT);
    this.windowMs = integerOption('windowMs', options.windowMs, 1, MAX_WINDOW_MS);
    this.buckets =
      options.buckets === undefined ? defaultBuckets(this.windowMs) : integerOption('buckets', options.buckets, 1, MAX_BUCKETS);
    this.maxKeys = options.maxKeys === undefined ? DEFAULT_MAX_KEYS : integerOption('maxKeys', options.maxKeys, 1, 1e9);
    this.overflowPolicy = options.onOverflow === undefined ? 'allow' : enumOption('onOverflow', options.onOverflow, ['allow', 'deny']);
    this.partition = options.partition === undefined ? 'local' : enumOption('partition', options.partition, ['local', 'share']);
    this.maxLagMs = options.maxLagMs === undefined ? DEFAULT_MAX_LAG_MS : integerOption('maxLagMs', options.maxLagMs, 1, 3_600_000);
    this.sloRatio = options.sloRatio === undefined ? undefined : ratioOption('sloRatio', options.sloRatio);
    this.lagAware = options.lagAware === undefined ? true : booleanOption('lagAware', options.lagAware);
    this.#ctx = ctx;
    // The configured limit is the register's floor (ts 0): any runtime change wins over it.
    this.#limit = { ts: 0, replica: '', value: limit };
    this.#window = new SlidingWindow({
      windowMs: this.windowMs,
      buckets: this.buckets,
      replicaId: ctx.replicaId,
      maxClockOffsetMs: ctx.maxClockOffsetMs,
    });
    if (this.lagAware && ctx.lagEstimate !== undefined) this.#window.estimate = new LagEstimate(this.windowMs, ctx.lagEstimate, ctx.now);
    this.replica = new ReplicaState(this.#window, {
      time: () => this.#time(),
      limit: () => this.#limit,
      setLimit: (register) => {
        this.#limit = register;
      },
    });
  }

  /** The limit in force. */
  get limit(): number {
    return this.#limit.value;
  }

  /** Keys with live state. */
  get size(): number {
    return this.#window.size;
  }

  /** This limiter's replica id (node id + incarnation). */
  get replicaId(): string {
    return this.#ctx.replicaId;
  }

  /**
   * Decides and, when admitted, counts `cost` hits for `key`. Synchronous; a
   * denied request is not counted.
   * @throws TypeError/RangeError (TALLYMESH_ERR_KEY_*, TALLYMESH_ERR_COST_INVALID) for bad arguments.
   */
  consume(key: string, cost = 1): Decision {
    checkKey(key);
    const limit = this.#limit.value;
    checkCost(cost, limit);
    const t = this.#ctx.hlc.wall(this.#ctx.now());
    const w = this.#window;
    if ((w.size >= this.maxKeys || this.#ctx.nodeFull?.() === true) && !w.has(key)) {
      // Sweeping may make room. The bound is on held keys, whoever created
      // them: keys merged from peers count too, and merged state can hold
      // more than maxKeys, so freeing one key is not enough by itself.
      if (w.sweep(t, 64) === 0 || w.size >= this.maxKeys || this.#ctx.nodeFull?.() === true) return this.#overflow(limit, t);
    }
    // One field test on the hot path; the share's decision is out of line.
    const d = this.#share === null ? w.decide(key, cost, limit, t, true) : this.#decideShare(key, cost, limit, t, true);
    if (d.allowed) {
      this.stats.allowed++;
      if (w.pending === this.#ctx.flushAt) this.#ctx.onFlushDue?.();
    } else this.stats.denied++;
    return d;
  }

  /** The decision a request of cost 1 would get now, without counting anything. */
  peek(key: string): Decision {
    checkKey(key);
    const t = this.#ctx.hlc.wall(this.#ctx.now());
    const limit = this.#limit.value;
    return this.#share === null ? this.#window.decide(key, 1, limit, t, false) : this.#decideShare(key, 1, limit, t, false);
  }

  /** A decision on the share in force (see `SlidingWindow.decideShare`). */
  #decideShare(key: string, cost: number, limit: number, t: number, commit: boolean): Decision {
    const s = this.#share as PartitionShare;
    return this.#window.decideShare(key, cost, limit, t, commit, s.fromBucket, s.weight);
  }

  /** The share this limiter admits within now (null: none; always null for `partition: 'local'`). */
  get share(): PartitionShare | null {
    return this.#share;
  }

  /**
   * @internal Called by the mesh: this node lost contact with a member, so
   * a `share` limiter admits only `1 / members` of the budget left now. A
   * share already in force keeps its bucket (the budget left when contact
   * was first lost) and takes the new weight and reason. Returns true when
   * the share begins. Ignored (false) for a `local` limiter.
   */
  enterShare(members: number, cause: PartitionShare['cause'], reason: string): boolean {
    if (this.partition !== 'share') return false;
    const weight = 1 / members;
    const s = this.#share;
    if (s !== null) {
      if (s.weight !== weight || s.reason !== reason) this.#share = { ...s, weight, members, cause, reason };
      return false;
    }
    this.#share = { fromBucket: this.replica.currentBucket(), weight, members, since: this.#ctx.now(), cause, reason };
    return true;
  }

  /** @internal Called by the mesh when contact is back: decisions are on the full count again. Returns true when a share ended. */
  leaveShare(): boolean {
    const ended = this.#share !== null;
    this.#share = null;
    return ended;
  }

  /** The weighted window count of `key` now. */
  count(key: string): number {
    checkKey(key);
    return this.#window.count(key, this.#ctx.hlc.wall(this.#ctx.now()));
  }

  /**
   * Forgets every hit of `key` this node has observed, here and (in a mesh)
   * on every peer: an observed-remove reset. Hits it has not seen yet — in
   * flight from a peer, or counted anywhere after — stay visible
   * (docs/window-math.md, Resets). A key this node holds nothing for is
   * left alone.
   */
  reset(key: string): void {
    checkKey(key);
    this.#window.reset(key);
  }

  /** Changes the limit at runtime; in a mesh the newest change wins everywhere (LWW). */
  setLimit(limit: number): void {
    const value = integerOption('limit', limit, 1, MAX_LIMIT);
    this.#limit = { ts: this.#ctx.hlc.tick(this.#ctx.now()), replica: this.#ctx.replicaId, value };
    this.replica.markLimitChanged();
  }

  /** Every key with live state. */
  keys(): IterableIterator<string> {
    return this.#window.keys();
  }

  // --- Deprecated: the replication surface moved to `limiter.replica`; these
  // forward to it until the next minor release. ---

  /** @deprecated Use `limiter.replica.limitRegister`; removed in the next minor release. */
  get limitRegister(): LwwRegister<number> {
    return this.#limit;
  }

  /** @deprecated Use `limiter.replica.drainDelta()`; removed in the next minor release. */
  drainDelta(): { state: ReplicaBatch | null; limitChanged: boolean } {
    return this.replica.drainDelta();
  }

  /** @deprecated Use `limiter.replica.discardDelta()`; removed in the next minor release. */
  discardDelta(): void {
    this.replica.discardDelta();
  }

  /** @deprecated Use `limiter.replica.merge()`; removed in the next minor release. */
  merge(state: ReplicaBatch): number {
    return this.replica.merge(state);
  }

  /** @deprecated Use `limiter.replica.mergeLimit()`; removed in the next minor release. */
  mergeLimit(register: LwwRegister<number>): void {
    this.replica.mergeLimit(register);
  }

  /** @deprecated Use `limiter.replica.snapshot()`; removed in the next minor release. */
  snapshot(cursor = 0, maxKeys = Infinity): { state: ReplicaBatch; cursor: number } {
    return this.replica.snapshot(cursor, maxKeys);
  }

  /** @deprecated Use `limiter.replica.digest()`; removed in the next minor release. */
  digest(from: number, to: number, shards: number): number[] {
    return this.replica.digest(from, to, shards);
  }

  /** @deprecated Use `limiter.replica.shardState()`; removed in the next minor release. */
  shardState(shards: number, wanted: ReadonlySet<number>): ReplicaBatch {
    return this.replica.shardState(shards, wanted);
  }

  /** @deprecated Use `limiter.replica.currentBucket()`; removed in the next minor release. */
  currentBucket(): number {
    return this.replica.currentBucket();
  }

  /** @deprecated Use `limiter.replica.sweep()`; removed in the next minor release. */
  sweep(maxSlots?: number): number {
    return this.replica.sweep(maxSlots);
  }

  /** @deprecated Use `limiter.replica.cellsOf()`; removed in the next minor release. */
  cellsOf(key: string): ReplicaCell[] {
    return this.replica.cellsOf(key);
  }

  #time(): number {
    return this.#ctx.hlc.wall(this.#ctx.now());
  }

  #overflow(limit: number, t: number): Decision {
    this.stats.overflows++;
    this.#ctx.onOverflow?.(this);
    const allowed = this.overflowPolicy === 'allow';
    if (allowed) this.stats.allowed++;
    else this.stats.denied++;
    const g = this.windowMs / this.buckets;
    const resetMs = Math.ceil((Math.floor(t / g) + 1 + this.buckets) * g - t);
    return { allowed, limit, remaining: allowed ? limit - 1 : 0, resetMs, retryAfterMs: allowed ? 0 : resetMs };
  }
}

/** Options of {@link createLimiter} for embedded, single-process use. */
export interface EmbeddedLimiterOptions extends LimiterOptions {
  /** Physical clock in ms (default `Date.now`). Tests and simulations pass their own. */
  now?: () => number;
  /** Node id used in the replica id (default 'local'). */
  nodeId?: string;
}

/**
 * Creates a single-process limiter: no network, decisions in-process.
 *
 * @example
 * import { createLimiter } from 'tallymesh';
 * const api = createLimiter({ name: 'api', limit: 100, windowMs: 60_000 });
 * api.consume('user:42');      // { allowed: true, limit: 100, remaining: 99, resetMs: 61000, retryAfterMs: 0 }
 * api.consume('user:42', 3);   // cost 3
 */
export function createLimiter(options: EmbeddedLimiterOptions): Limiter {
  const now = options?.now ?? Date.now;
  if (typeof now !== 'function') throw new codes.TALLYMESH_ERR_OPTION_TYPE('now', 'a function', typeof now);
  const nodeId = options?.nodeId === undefined ? 'local' : nameOption(options.nodeId, 'nodeId');
  const hlc = new Hlc();
  return new Limiter(options, {
    hlc,
    now,
    replicaId: replicaIdOf(nodeId, newIncarnation(now())),
    maxClockOffsetMs: hlc.maxOffsetMs,
  });
}
