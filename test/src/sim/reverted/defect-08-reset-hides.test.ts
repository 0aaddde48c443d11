// Issue 10, defect 8 reverted: a reset hides more than its issuer observed.
// As with the generations the fix replaced, a key once reset hides every hit
// merged into it later, whoever counted it and whenever (here: a merge into
// a key that carries any floor resets it again on the receiving node). The
// oracle's floor checks must catch it.
import { afterAll, beforeAll, vi } from 'vitest';
import { WindowCells } from '../../../../crdt/window-cells.js';
import type { CellBatch } from '../../../../crdt/cell-batch.js';
import { expectCaught } from '../../../helpers/reverted-fix.js';

beforeAll(() => {
  const merge = WindowCells.prototype.merge;
  vi.spyOn(WindowCells.prototype, 'merge').mockImplementation(function (this: WindowCells, state: CellBatch, t: number, relay) {
    const changed = merge.call(this, state, t, relay);
    for (const [key] of state.keys) if (this.cellsOf(key, t).some((c) => c.floor > 0)) this.reset(key);
    return changed;
  });
});
afterAll(() => vi.restoreAllMocks());

expectCaught('8 (a reset hides too much)');
