/**
 * `tallymesh/sim`: a whole cluster in one process on the simulated network,
 * with virtual time, cuts, loss, duplication, reordering, clock skew, crashes,
 * restarts, joins, leaves, resets and limit changes, all drawn from a seed. This is what `tallymesh simulate` runs.
 *
 * @example
 * import { randomScenario, runSimulation } from 'tallymesh/sim';
 * const report = await runSimulation(randomScenario(42));
 * report.exact; // every node holds exactly the admitted hits after heal
 *
 * @module
 */
export { MIN_SCENARIO, randomScenario, runSimulation } from './simulation.js';
export { honestNodes } from './honest-clocks.js';
export { parseDuration } from '../validate.js';
export type { SimCrash, SimLimitChange, SimNodeEvent, SimPartition, SimTimings, SimulationOptions, SimulationReport, SimulationView } from './simulation.js';
export type { Mismatch, NodeView } from './accuracy.js';
export type { TruthCut, TruthHit, TruthHits, TruthLimitChange, TruthLog } from './truth-log.js';
