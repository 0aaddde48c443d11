/**
 * The simulator's truth: the load generator's own log of every admitted hit
 * (admitting replica, key, bucket, reset generation seen by the admitting
 * node, cost, true time) and of every reset. It never reads a node's
 * counters; `accuracy.ts` compares the nodes against it for the report, and
 * the test suite's oracle (`test/helpers/sim-oracle.ts`) does its own,
 * stricter comparison from the same log.
 *
 * @module
 */

/** Hits one replica admitted into one bucket of one key under one reset generation. */
export interface TruthHits {
  readonly replica: string;
  readonly gen: number;
  readonly hits: number;
}

/**
 * The load generator's log.
 *
 * @example
 * const truth = new TruthLog(2_000, 100);
 * truth.admit('n1#i1', 'k0', 4_200, 0, 1, 10);
 * truth.expected('k0', 4_200, 0); // 1
 */
export class TruthLog {
  /** key → bucket → hits per (replica, gen) */
  #hits = new Map<string, Map<number, Array<{ replica: string; gen: number; hits: number }>>>();
  /** key → newest reset generation issued anywhere */
  #resets = new Map<string, number>();
  /** key → [true time, cost] in admission order */
  #admissions = new Map<string, Array<[number, number]>>();

  constructor(
    readonly windowMs: number,
    readonly limit: number,
  ) {}

  /** Records a hit of `cost` admitted by `replica` into `bucket` while it saw reset generation `gen`. */
  admit(replica: string, key: string, bucket: number, gen: number, cost: number, at: number): void {
    let buckets = this.#hits.get(key);
    if (buckets === undefined) this.#hits.set(key, (buckets = new Map()));
    let entries = buckets.get(bucket);
    if (entries === undefined) buckets.set(bucket, (entries = []));
    const entry = entries.find((e) => e.replica === replica && e.gen === gen);
    if (entry === undefined) entries.push({ replica, gen, hits: cost });
    else entry.hits += cost;
    let list = this.#admissions.get(key);
    if (list === undefined) this.#admissions.set(key, (list = []));
    list.push([at, cost]);
  }

  /** Records a reset issued with generation `gen`. */
  reset(key: string, gen: number): void {
    if (gen > (this.#resets.get(key) ?? 0)) this.#resets.set(key, gen);
  }

  /** The newest reset generation issued anywhere for `key` (0: never reset). */
  resetGenOf(key: string): number {
    return this.#resets.get(key) ?? 0;
  }

  /** Every key that ever admitted a hit. */
  keys(): IterableIterator<string> {
    return this.#hits.keys();
  }

  /** The log of `key` in `bucket`: hits per admitting replica and reset generation. */
  hitsIn(key: string, bucket: number): readonly TruthHits[] {
    return this.#hits.get(key)?.get(bucket) ?? [];
  }

  /** Hits of `key` in `bucket` that a reset generation `gen` leaves visible. */
  expected(key: string, bucket: number, gen: number): number {
    let sum = 0;
    for (const e of this.hitsIn(key, bucket)) if (e.gen >= gen) sum += e.hits;
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
