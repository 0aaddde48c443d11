/**
 * What a simulation shows its inspector after every step: the live nodes,
 * the load generator's log and the scenario's facts (offsets, which clocks
 * are honest, cuts, incarnations, the probe), read-only.
 *
 * @module
 */
import type { NodeView } from './accuracy.js';
import type { TruthLog } from './truth-log.js';

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
  /** Replica ids started so far (every incarnation of every node). */
  replicasStarted: number;
  /** The node about to end, in phase `ending`. */
  ending?: string;
  /** The probe, once it started: its key, the node asked for the burst, and when its first hit was admitted. */
  probe?: { key: string; node: string; firstAt: number };
}

