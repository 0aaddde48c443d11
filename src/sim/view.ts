/**
 * What a simulation shows its inspector after every step: the live nodes,
 * the load generator's log and the scenario's facts (offsets, which clocks
 * are honest, cuts, incarnations, the probe), read-only.
 *
 * @module
 */
import type { NodeView } from './accuracy.js';
import type { TruthLog } from './truth-log.js';

/** The timings every simulated node runs with and the network's faults, as the harness set them. */
export interface SimTimings {
  /** The harness's step: load is offered, and cuts and node events applied, at step boundaries. */
  readonly stepMs: number;
  readonly gossipIntervalMs: number;
  readonly digestIntervalMs: number;
  /** Silence after which a peer is suspect (and a `share` limiter's guard counts it as lost contact). */
  readonly suspectAfterMs: number;
  /** How long a starting node waits for its initial sync before it reports ready. */
  readonly joinTimeoutMs: number;
  /** One-way latency range of a frame (ms). */
  readonly latencyMs: readonly [number, number];
  readonly loss: number;
  readonly duplicate: number;
  readonly reorder: number;
}

/**
 * What {@link SimulationOptions.inspect} sees: the live nodes, the load
 * generator's log and the scenario's facts, read-only. A test oracle checks
 * the nodes against the log here without trusting the report.
 */
export interface SimulationView {
  /**
   * `load` after every step of load (and of a drain), `ending` just before a
   * node crashes or closes (`ending` names it), `settle` after every quiet
   * step, `probe` after every step of the probe, `end` once before the nodes
   * close.
   */
  phase: 'load' | 'ending' | 'settle' | 'probe' | 'end';
  /** Virtual ms since the start. */
  elapsedMs: number;
  /** Virtual time now (the clock the log's `at` uses); a node's own clock reads this plus its offset. */
  nowMs: number;
  nodes: readonly NodeView[];
  truth: TruthLog;
  /** Every key the load has asked for so far. */
  keys: readonly string[];
  /** Each node's clock offset (ms ahead of virtual time). */
  offsetsMs: ReadonlyMap<string, number>;
  /** Nodes whose clocks every other such node accepts, directly or through relays (see `honest-clocks.ts`). */
  honest: ReadonlySet<string>;
  maxClockOffsetMs: number;
  /** The limiter's partition policy. */
  partition: 'local' | 'share';
  windowMs: number;
  buckets: number;
  /** Whether frames from `from` to `to` are dropped now. */
  isCut(from: string, to: string): boolean;
  /** The nodes' timings and the network's faults. */
  timings: SimTimings;
  /** Replica ids started so far (every incarnation of every node). */
  replicasStarted: number;
  /** The node about to end, in phase `ending`. */
  ending?: string;
  /** The probe, once it started: its key, the node asked for the burst, and when its first hit was admitted. */
  probe?: { key: string; node: string; firstAt: number };
}

