/**
 * The simulator's truth: the load generator's own log of every admitted hit
 * (admitting replica, key, bucket, cost, true time) and of every reset (its
 * issuer and, per (bucket, replica), the floor it set: the count of that
 * cell the issuer had observed, read from the issuer at the moment of the
 * reset, with the log's own count of admitted hits beside it), and of the
 * harness's own acts: incarnations started and ended, limit changes, and
 * every cut with the times it was applied and healed. It never
 * reads a node's counters otherwise; `accuracy.ts` compares the nodes
 * against it for the report, and the test suite's oracle
 * (`test/helpers/sim-oracle.ts`) does its own, stricter comparison from the
 * same log, checking each recorded floor against the admitted hits first.
 *
 * @module
 */

/** Hits one replica admitted into one bucket of one key. */
export interface TruthHits {
  readonly replica: string;
  readonly hits: number;
}

/** One floor a reset set: the issuer had observed `floor` of `replica`'s hits in `bucket`, of `admitted` admitted by then. */
export interface TruthFloor {
  readonly bucket: number;
  readonly replica: string;
  readonly floor: number;
  /** Hits `replica` had admitted into `bucket` when the reset was issued (the log's own count). */
  readonly admitted: number;
}

/** One admitted hit as the load generator saw it: its own virtual time, the node that admitted it (whose clock offset the harness set). */
export interface TruthHit {
  readonly at: number;
  readonly cost: number;
  readonly node: string;
}

/** A runtime limit change as the load generator issued it. */
export interface TruthLimitChange {
  readonly at: number;
  readonly node: string;
  readonly limit: number;
}

/** A cut as the harness applied it: frames from `a` to `b` (and back, unless one-way) dropped from `at` until `heal`. */
export interface TruthCut {
  /** Virtual time the harness cut the links. */
  readonly at: number;
  /** Virtual time it restored them (null: still cut at the end, a bridge that never heals). */
  heal: number | null;
  readonly a: readonly string[];
  readonly b: readonly string[];
  readonly oneWay: boolean;
  readonly kind: 'split' | 'one-way' | 'bridge';
}

/** A reset as the load generator saw it. */
export interface TruthReset {
  readonly key: string;
  /** Replica id of the issuing node. */
  readonly issuer: string;
  /** Virtual time of the reset. */
  readonly at: number;
  readonly floors: readonly TruthFloor[];
}

/**
 * The load generator's log.
 *
 * @example
 * const truth = new TruthLog(2_000, 100);
 * truth.admit('n1#i1', 'k0', 4_200, 1, 10);
 * truth.reset('k0', 'n1#i1', [{ bucket: 4_200, replica: 'n1#i1', floor: 1 }], 11);
 * truth.admit('n2#i1', 'k0', 4_200, 1, 12);
 * truth.expected('k0', 4_200); // 1: n2's hit, which the reset had not observed
 */
export class TruthLog {
  /** key → bucket → hits per replica */
  #hits = new Map<string, Map<number, Map<string, number>>>();
  /** key → bucket → replica → highest floor any reset set */
  #floors = new Map<string, Map<number, Map<string, number>>>();
  #resets: TruthReset[] = [];
  /** key → [true time, cost] in admission order */
  #admissions = new Map<string, Array<[number, number]>>();
  /** key → replica → hits in admission order */
  #hitLog = new Map<string, Map<string, TruthHit[]>>();
  /** key → virtual time of the latest decision asked on it (admitted or not) */
  #lastOffered = new Map<string, number>();
  #limitChanges: TruthLimitChange[] = [];
  /** replica → virtual time its incarnation ended (crash, restart or leave) */
  #ended = new Map<string, { at: number; how: 'crash' | 'restart' | 'leave' }>();
  /** replica → virtual time its incarnation started */
  #started = new Map<string, number>();
  #cuts: TruthCut[] = [];

  constructor(
    readonly windowMs: number,
    readonly limit: number,
  ) {}

  /**
   * Records a hit of `cost` admitted by `replica` (on `node`) at virtual time
   * `at`. `bucket` is the bucket the node reported, kept for the report's
   * per-bucket comparison only; the test oracle places hits from `at` itself.
   */
  admit(replica: string, key: string, bucket: number, cost: number, at: number, node = replica.split('#')[0]): void {
    const cells = cellsOf(this.#hits, key, bucket);
    cells.set(replica, (cells.get(replica) ?? 0) + cost);
    let list = this.#admissions.get(key);
    if (list === undefined) this.#admissions.set(key, (list = []));
    list.push([at, cost]);
    let byReplica = this.#hitLog.get(key);
    if (byReplica === undefined) this.#hitLog.set(key, (byReplica = new Map()));
    let hits = byReplica.get(replica);
    if (hits === undefined) byReplica.set(replica, (hits = []));
    hits.push({ at, cost, node });
  }

  /** Records that a decision was asked on `key` at `at` (admitted or not). */
  offered(key: string, at: number): void {
    this.#lastOffered.set(key, at);
  }

  /** Keys asked for at or after virtual time `since`. */
  offeredSince(since: number): number {
    let n = 0;
    for (const at of this.#lastOffered.values()) if (at >= since) n++;
    return n;
  }

  /** Every hit `replica` admitted on `key`, in admission order, with the harness's own times. */
  hitsOf(key: string, replica: string): readonly TruthHit[] {
    return this.#hitLog.get(key)?.get(replica) ?? [];
  }

  /** Replica ids that admitted hits on `key`. */
  replicasOf(key: string): IterableIterator<string> {
    return (this.#hitLog.get(key) ?? new Map<string, TruthHit[]>()).keys();
  }

  /** Records a runtime limit change issued on `node`. */
  limitChange(node: string, limit: number, at: number): void {
    this.#limitChanges.push({ at, node, limit });
  }

  /** Every runtime limit change, in issue order. */
  limitChanges(): readonly TruthLimitChange[] {
    return this.#limitChanges;
  }

  /** Records that `replica`'s incarnation started at `at`. */
  started(replica: string, at: number): void {
    this.#started.set(replica, at);
  }

  /** When `replica`'s incarnation started (Infinity: never). */
  startOf(replica: string): number {
    return this.#started.get(replica) ?? Infinity;
  }

  /** Every incarnation started, in start order: its replica id, node and start time. */
  incarnations(): Array<{ replica: string; node: string; at: number }> {
    return [...this.#started].map(([replica, at]) => ({ replica, node: replica.split('#')[0], at }));
  }

  /** Records a cut the harness applied at `at`; returns it, for {@link healed}. */
  cut(a: readonly string[], b: readonly string[], oneWay: boolean, kind: TruthCut['kind'], at: number): TruthCut {
    const c: TruthCut = { at, heal: null, a: [...a], b: [...b], oneWay, kind };
    this.#cuts.push(c);
    return c;
  }

  /** Records that the harness restored cut `c`'s links at `at`. */
  healed(c: TruthCut, at: number): void {
    if (c.heal === null) c.heal = at;
  }

  /** Every cut, in the order applied. */
  cuts(): readonly TruthCut[] {
    return this.#cuts;
  }

  /** Records that `replica`'s incarnation ended at `at`. */
  ended(replica: string, at: number, how: 'crash' | 'restart' | 'leave'): void {
    this.#ended.set(replica, { at, how });
  }

  /** Replica ids whose incarnation ended `how`. */
  endedBy(how: 'crash' | 'restart' | 'leave'): string[] {
    return [...this.#ended].filter(([, e]) => e.how === how).map(([replica]) => replica);
  }

  /** When and how `replica`'s incarnation ended (undefined: it is running). */
  endOf(replica: string): { at: number; how: 'crash' | 'restart' | 'leave' } | undefined {
    return this.#ended.get(replica);
  }

  /** Records a reset of `key` by `issuer` and the floors it set (read from the issuer right after it). */
  reset(key: string, issuer: string, floors: ReadonlyArray<{ bucket: number; replica: string; floor: number }>, at: number): void {
    const recorded: TruthFloor[] = [];
    for (const { bucket, replica, floor } of floors) {
      if (floor <= 0) continue;
      recorded.push({ bucket, replica, floor, admitted: this.admitted(key, bucket, replica) });
      const cells = cellsOf(this.#floors, key, bucket);
      if (floor > (cells.get(replica) ?? 0)) cells.set(replica, floor);
    }
    this.#resets.push({ key, issuer, at, floors: recorded });
  }

  /** Every reset, in issue order. */
  resets(): readonly TruthReset[] {
    return this.#resets;
  }

  /** Every key that ever admitted a hit. */
  keys(): IterableIterator<string> {
    return this.#hits.keys();
  }

  /** Buckets (as the admitting nodes reported them) `key` has hits in. */
  bucketsOf(key: string): IterableIterator<number> {
    return (this.#hits.get(key) ?? new Map<number, Map<string, number>>()).keys();
  }

  /** The log of `key` in `bucket`: hits per admitting replica. */
  hitsIn(key: string, bucket: number): readonly TruthHits[] {
    const cells = this.#hits.get(key)?.get(bucket);
    return cells === undefined ? [] : [...cells].map(([replica, hits]) => ({ replica, hits }));
  }

  /** Hits `replica` admitted into `bucket` of `key`. */
  admitted(key: string, bucket: number, replica: string): number {
    return this.#hits.get(key)?.get(bucket)?.get(replica) ?? 0;
  }

  /** The highest floor any reset set on (`key`, `bucket`, `replica`): the hits of it resets hide (0: none). */
  floorOf(key: string, bucket: number, replica: string): number {
    return this.#floors.get(key)?.get(bucket)?.get(replica) ?? 0;
  }

  /** Hits of `key` in `bucket` the resets leave visible: Σ per replica of max(0, admitted − floor). */
  expected(key: string, bucket: number): number {
    let sum = 0;
    for (const { replica, hits } of this.hitsIn(key, bucket)) sum += Math.max(0, hits - this.floorOf(key, bucket, replica));
    return sum;
  }

  /** Most admitted in any window of windowMs (true time) for one key, divided by the limit. */
  maxAdmittedRatio(): number {
    let best = 0;
    for (const list of this.#admissions.values()) {
      let lo = 0;
      let sum = 0;
      for (let hi = 0; hi < list.length; hi++) {
        sum += list[hi][1];
        while (list[hi][0] - list[lo][0] >= this.windowMs) sum -= list[lo++][1];
        if (sum > best) best = sum;
      }
    }
    return best / this.limit;
  }
}

function cellsOf(map: Map<string, Map<number, Map<string, number>>>, key: string, bucket: number): Map<string, number> {
  let buckets = map.get(key);
  if (buckets === undefined) map.set(key, (buckets = new Map()));
  let cells = buckets.get(bucket);
  if (cells === undefined) buckets.set(bucket, (cells = new Map()));
  return cells;
}
