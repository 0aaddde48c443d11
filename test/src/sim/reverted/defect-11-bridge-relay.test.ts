// Issue 10, defect 11 reverted: a node relays nothing it merged, so across a
// bridge (a–c cut, both reach b) c learns a's hits only through
// anti-entropy, which never covers the newest buckets. The oracle's
// exactness under a bridge that never heals, and the probe, must catch it.
import { afterAll, beforeAll } from 'vitest';
import { WindowCells } from '../../../../crdt/window-cells.js';
import type { CellBatch } from '../../../../crdt/cell-batch.js';
import { expectCaught } from '../../../helpers/reverted-fix.js';

// Patched by hand, not with vi.spyOn: a spy records every call, and merge runs millions of times.
const merge = WindowCells.prototype.merge;
beforeAll(() => {
  WindowCells.prototype.merge = function (this: WindowCells, state: CellBatch, t: number) {
    return merge.call(this, state, t, false);
  };
});
afterAll(() => {
  WindowCells.prototype.merge = merge;
});

expectCaught('11 (bridge partitions converge only through anti-entropy)');
