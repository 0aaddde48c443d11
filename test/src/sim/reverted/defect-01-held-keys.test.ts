// Issue 9, defect 1 reverted: no paced sweep, so keys that only merges
// brought stay held on every node (held keys grow with every key any peer
// ever touched). The oracle's held-keys invariant must catch it.
import { afterAll, beforeAll } from 'vitest';
import { ReplicaState } from '../../../../src/limiter/replica-state.js';
import { expectCaught } from '../../../helpers/reverted-fix.js';

// Patched by hand, not with vi.spyOn: a spy records every call (one per limiter per gossip tick).
const sweepDue = ReplicaState.prototype.sweepDue;
beforeAll(() => {
  ReplicaState.prototype.sweepDue = () => 0;
});
afterAll(() => {
  ReplicaState.prototype.sweepDue = sweepDue;
});

expectCaught('1 (held keys grow on merging nodes)');
