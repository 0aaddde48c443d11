/**
 * The simulator's oracle, kept in test/ and apart from the code under test:
 * it reads the load generator's own log (the truth) and every node's cells
 * through `runSimulation`'s `inspect` hook, and never trusts a figure the
 * simulation reports. It is stricter than the report's own checks
 * (`src/sim/accuracy.ts`, which compare cell sums per bucket and sample two
 * keys per node for over-counts): it checks every cell of every replica, on
 * every key, every few steps.
 *
 * The reset rule (docs/window-math.md, Resets): a reset hides exactly the
 * hits its issuer had observed. The log records, per reset, the floor it set
 * on each (bucket, replica), read from the issuer at once, beside the log's
 * own count of what that replica had admitted there by then. The oracle
 * checks each recorded floor against that count first: the issuer's own
 * replica's floor must equal it (a node observes every hit it admits); any
 * other replica's floor may be anything from 0 to it. That range is the real
 * choice the rule leaves — hits admitted elsewhere within a delivery delay
 * of the reset may or may not have reached the issuer — and the oracle
 * accepts every outcome in it, taking the floor the issuer recorded.
 *
 * - Never over-counted: a replica's cell never counts more than the hits
 *   that replica admitted into that bucket, never has a floor above its
 *   count, nor a floor above the highest any reset set there.
 * - Exact after heal: once the network is whole and the load has stopped,
 *   every node holds, for every replica and every bucket inside its window,
 *   exactly the hits that replica admitted there, with exactly the highest
 *   floor a reset set: visible, max(0, admitted − floor) — no more, no less,
 *   and no cell of a replica that admitted none.
 */
import type { SimulationReport, SimulationView } from '../../src/sim/index.js';

/**
 * Steps between two over-count checks. A cell never shrinks before its bucket
 * expires (half a window or more in every scenario), so an over-count lives
 * far longer than this.
 */
const OVER_COUNT_EVERY = 4;

/** Checks one seeded run; pass {@link SimOracle.inspect} to `runSimulation` and read {@link SimOracle.verdict}. */
export class SimOracle {
  #problems: string[] = [];
  #exact: boolean | null = null;
  #overCounted = false;
  #steps = 0;
  /** Resets whose floors were checked already. */
  #resetsChecked = 0;

  /** The `inspect` hook of `runSimulation`. */
  readonly inspect = (view: SimulationView): void => {
    this.#checkResets(view);
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

  /** Each new reset's floors against the admitted hits the log had counted when it was issued. */
  #checkResets(view: SimulationView): void {
    const resets = view.truth.resets();
    for (; this.#resetsChecked < resets.length; this.#resetsChecked++) {
      const r = resets[this.#resetsChecked];
      for (const f of r.floors) {
        const own = f.replica === r.issuer;
        if (own ? f.floor !== f.admitted : f.floor > f.admitted) {
          this.#fail(`a reset of ${r.key} by ${r.issuer} at ${r.at} set floor ${f.floor} on bucket ${f.bucket} of ${f.replica}, which had admitted ${f.admitted} there`);
        }
      }
    }
  }

  #checkNoOverCount(view: SimulationView): void {
    if (this.#overCounted) return;
    for (const n of view.nodes) {
      for (const key of view.keys) {
        for (const c of n.limiter.replica.cellsOf(key)) {
          const truth = view.truth.admitted(key, c.bucket, c.replica);
          const floor = view.truth.floorOf(key, c.bucket, c.replica);
          if (c.count > truth || c.floor > c.count || c.floor > floor) {
            this.#overCounted = true;
            this.#fail(`at ${view.elapsedMs} ms ${n.id} held ${c.count} (floor ${c.floor}) for ${key} bucket ${c.bucket} of ${c.replica}; it admitted ${truth}, resets set floor ${floor}`);
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
        const cells = r.cellsOf(key);
        // The edge bucket may already be pruned on one node and not on another.
        for (let b = cur - n.limiter.buckets + 1; b <= cur + 1; b++) {
          const replicas = new Set([...view.truth.hitsIn(key, b).map((e) => e.replica), ...cells.filter((c) => c.bucket === b).map((c) => c.replica)]);
          for (const replica of replicas) {
            const admitted = view.truth.admitted(key, b, replica);
            const want = Math.max(0, admitted - view.truth.floorOf(key, b, replica));
            const cell = cells.find((c) => c.bucket === b && c.replica === replica);
            const got = cell === undefined ? 0 : Math.max(0, cell.count - cell.floor);
            if (got !== want || (cell?.count ?? 0) !== admitted) {
              exact = false;
              this.#fail(`after heal ${n.id} holds ${got} visible (count ${cell?.count ?? 0}) for ${key} bucket ${b} of ${replica}; it admitted ${admitted}, ${want} visible`);
            }
          }
        }
      }
    }
    this.#exact = exact;
  }
}
