/**
 * The simulator's oracle, kept in test/ and apart from the code under test:
 * it reads the load generator's own log (the truth) and every node's cells
 * through `runSimulation`'s `inspect` hook, and never trusts a figure the
 * simulation reports. It is stricter than the report's own checks
 * (`src/sim/accuracy.ts`, which compare cell sums per bucket and sample two
 * keys per node for over-counts): it checks every cell of every replica, on
 * every key, every few steps.
 *
 * - Never over-counted: a replica's cell never holds more than the hits that
 *   replica admitted into that bucket under that reset generation.
 * - Exact after heal: once the network is whole and the load has stopped,
 *   every node holds, for every replica and every bucket inside its window,
 *   exactly the hits that replica admitted there and the newest reset left
 *   visible — no more, no less, and no cell of a replica that admitted none.
 */
import type { SimulationReport, SimulationView, TruthLog } from '../../src/sim/index.js';

/** Hits `replica` admitted into `bucket` of `key` under reset generations accepted by `admits`. */
function admitted(truth: TruthLog, key: string, bucket: number, replica: string, admits: (gen: number) => boolean): number {
  let sum = 0;
  for (const e of truth.hitsIn(key, bucket)) if (e.replica === replica && admits(e.gen)) sum += e.hits;
  return sum;
}

/**
 * Steps between two over-count checks. A cell never shrinks before its bucket
 * expires or a reset hides it (half a window or more in every scenario), so
 * an over-count lives far longer than this.
 */
const OVER_COUNT_EVERY = 4;

/** Checks one seeded run; pass {@link SimOracle.inspect} to `runSimulation` and read {@link SimOracle.verdict}. */
export class SimOracle {
  #problems: string[] = [];
  #exact: boolean | null = null;
  #overCounted = false;
  #steps = 0;

  /** The `inspect` hook of `runSimulation`. */
  readonly inspect = (view: SimulationView): void => {
    if (view.phase === 'end' || ++this.#steps % OVER_COUNT_EVERY === 0) this.#checkNoOverCount(view);
    if (view.phase === 'end') this.#checkExact(view);
  };

  /** Every problem found, the report's own figures checked against the oracle's; empty when the run held. */
  verdict(report: SimulationReport): string[] {
    const out = [...this.#problems];
    if (this.#exact === null) out.push('the oracle never saw the end of the run');
    else if (report.exact !== this.#exact) out.push(`the report says exact=${report.exact}, the oracle found exact=${this.#exact}`);
    if (report.overCounted && !this.#overCounted) out.push('the report says over-counted, the oracle found no cell above the truth');
    if (!report.hlcMonotonic) out.push('an HLC went backwards');
    return out;
  }

  #fail(problem: string): void {
    if (this.#problems.length < 5) this.#problems.push(problem);
  }

  #checkNoOverCount(view: SimulationView): void {
    if (this.#overCounted) return;
    for (const n of view.nodes) {
      for (const key of view.keys) {
        for (const c of n.limiter.replica.cellsOf(key)) {
          const truth = admitted(view.truth, key, c.bucket, c.replica, (gen) => gen === c.gen);
          if (c.count > truth) {
            this.#overCounted = true;
            this.#fail(`at ${view.elapsedMs} ms ${n.id} held ${c.count} for ${key} bucket ${c.bucket} of ${c.replica} (gen ${c.gen}); it admitted ${truth}`);
            return;
          }
        }
      }
    }
  }

  #checkExact(view: SimulationView): void {
    let exact = true;
    for (const n of view.nodes) {
      const r = n.limiter.replica;
      const cur = r.currentBucket();
      const keys = new Set([...view.keys, ...view.truth.keys(), ...n.limiter.keys()]);
      for (const key of keys) {
        const newestReset = view.truth.resetGenOf(key);
        const cells = r.cellsOf(key);
        // The edge bucket may already be pruned on one node and not on another.
        for (let b = cur - n.limiter.buckets + 1; b <= cur + 1; b++) {
          const replicas = new Set([...view.truth.hitsIn(key, b).map((e) => e.replica), ...cells.filter((c) => c.bucket === b).map((c) => c.replica)]);
          for (const replica of replicas) {
            const want = admitted(view.truth, key, b, replica, (gen) => gen >= newestReset);
            const cell = cells.find((c) => c.bucket === b && c.replica === replica);
            const got = cell === undefined || cell.gen < newestReset ? 0 : cell.count;
            if (got !== want) {
              exact = false;
              this.#fail(`after heal ${n.id} holds ${got} for ${key} bucket ${b} of ${replica}; it admitted ${want} visible hits`);
            }
          }
        }
      }
    }
    this.#exact = exact;
  }
}
