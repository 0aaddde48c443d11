// Issue 10, defect 8 reverted: a reset hides more than its issuer observed.
// As with the generations the fix replaced, a key once reset hides every hit
// merged into it later, whoever counted it and whenever (here: a merge into
// a key that carries any floor resets it again on the receiving node). The
// oracle's floor checks must catch it.
import { afterAll, beforeAll } from 'vitest';
import { WindowCells } from '../../../../crdt/window-cells.js';
import type { CellBatch } from '../../../../crdt/cell-batch.js';
import { expectCaught } from '../../../helpers/reverted-fix.js';

// Patched by hand, not with vi.spyOn: a spy records every call, and merge runs millions of times.
const merge = WindowCells.prototype.merge;
beforeAll(() => {
  WindowCells.prototype.merge = function (this: WindowCells, state: CellBatch, t: number, relay?: Parameters<typeof merge>[2]) {
    const changed = merge.call(this, state, t, relay);
    for (const [key] of state.keys) if (this.cellsOf(key, t).some((c) => c.floor > 0)) this.reset(key);
    return changed;
  };
});
afterAll(() => {
  WindowCells.prototype.merge = merge;
});

expectCaught('8 (a reset hides too much)');
