import { describe } from 'vitest';
import { simulateSeeds } from '../../helpers/simulation-seeds.js';

// The same scenarios under `partition: 'share'` (docs/accuracy.md): shares
// are decision-side only, so every node must still hold exactly the log
// after heal, and once every cut is healed the probe node admits exactly up
// to the limit (its share ended). A fifth of the CI seeds; the bound a share
// keeps during a cut is the property of test/src/mesh/partition-share.test.ts.
// Clocks within ±150 ms: a member this node refuses for its clock (offsets
// spread past maxClockOffsetMs, relayed) counts as lost contact although its
// counts arrive through relays, so a share limiter would stay on its share —
// a limit of the guard (docs/accuracy.md), which these seeds found.
describe('simulated cluster, partition share', () => simulateSeeds(0, 1, { partition: 'share', offsetsMs: undefined, skewMs: 150 }, Math.ceil(Number(process.env.TALLYMESH_SIM_SEEDS ?? 1000) / 5)));
