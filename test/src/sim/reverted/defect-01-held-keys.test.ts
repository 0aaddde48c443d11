// Issue 9, defect 1 reverted: no paced sweep, so keys that only merges
// brought stay held on every node (held keys grow with every key any peer
// ever touched). The oracle's held-keys invariant must catch it.
import { afterAll, beforeAll, vi } from 'vitest';
import { ReplicaState } from '../../../../src/limiter/replica-state.js';
import { expectCaught } from '../../../helpers/reverted-fix.js';

beforeAll(() => {
  vi.spyOn(ReplicaState.prototype, 'sweepDue').mockReturnValue(0);
});
afterAll(() => vi.restoreAllMocks());

expectCaught('1 (held keys grow on merging nodes)');
