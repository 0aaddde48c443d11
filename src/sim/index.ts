/**
 * `tallymesh/sim`: a whole cluster in one process on the simulated network,
 * with virtual time, partitions, loss, duplication, reordering, clock skew and
 * restarts, all drawn from a seed. This is what `tallymesh simulate` runs.
 *
 * @example
 * import { randomScenario, runSimulation } from 'tallymesh/sim';
 * const report = await runSimulation(randomScenario(42));
 * report.exact; // every node holds exactly the admitted hits after heal
 *
 * @module
 */
export { randomScenario, runSimulation } from './simulation.js';
export { parseDuration } from '../validate.js';
export type { SimPartition, SimulationOptions, SimulationReport, SimulationView } from './simulation.js';
export type { Mismatch, NodeView } from './accuracy.js';
export type { TruthHits, TruthLog } from './truth-log.js';
