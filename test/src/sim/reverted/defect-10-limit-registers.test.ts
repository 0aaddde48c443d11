// Issue 10, defect 10 reverted: the per-peer log retained for an unreachable
// peer keeps cells but not the limit register (neither in the log nor on the
// catch-up that replays it), and digests do not carry it, so a limit change
// made while a peer is cut off never reaches it. The oracle's limit
// agreement (and the probe, at the stale limit) must catch it.
import { afterAll, beforeAll, vi } from 'vitest';
import { DeltaLog } from '../../../../crdt/delta-log.js';
import { expectCaught } from '../../../helpers/reverted-fix.js';

vi.mock('../../../../src/mesh/window-batches.js', async (original) => {
  const actual = await original<typeof import('../../../../src/mesh/window-batches.js')>();
  return {
    ...actual,
    // What anti-entropy puts in a digest: no register.
    limitToWire: () => null,
    // The catch-up replay of a retained log: cells only (the live path and snapshots keep theirs).
    toBatch: (...args: Parameters<typeof actual.toBatch>) => actual.toBatch(args[0], args[1], args[2] && !new Error().stack?.includes('sendRetained')),
  };
});

// Patched by hand, not with vi.spyOn: a spy records every call.
const addLimit = DeltaLog.prototype.addLimit;
beforeAll(() => {
  DeltaLog.prototype.addLimit = () => {};
});
afterAll(() => {
  DeltaLog.prototype.addLimit = addLimit;
});

expectCaught('10 (limit changes lost across a blip)');
