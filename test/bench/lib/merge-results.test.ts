/**
 * Merging a run of part of a scenario into the result file of a whole run
 * (bench/lib/merge-results.ts): rows replaced by name or added, each marked
 * with its own run, the rest and the machine kept, the targets evaluated again.
 */
import { describe, expect, it } from 'vitest';
import type { MachineInfo } from '../../../bench/lib/machine.js';
import { mergeResultFiles } from '../../../bench/lib/merge-results.js';
import { buildResultFile, parseResultFile, stringifyResultFile } from '../../../bench/lib/result-file.js';
import type { Target } from '../../../bench/lib/targets.js';

const MACHINE: MachineInfo = { cpu: 'Test CPU', cores: 2, memoryBytes: 2 ** 34, node: 'v20.0.0', os: 'Linux', date: '2026-01-02T03:04:05.000Z', loadAvg1: 9 };
const TARGETS: Target[] = [{ id: 'cut', description: 'cut ≤ 1', row: { name: 'split share' }, figure: 'cutRatio', op: '<=', threshold: 1 }];

describe('mergeResultFiles', () => {
  it('replaces rows by name, adds new ones, marks each with its run and evaluates the targets again', () => {
    const whole = buildResultFile('accuracy', { description: 'old', targets: TARGETS }, [{ name: 'healthy', slidingRatio: 1.05 }, { name: 'split share', cutRatio: 1.2 }], MACHINE);
    const part = buildResultFile('accuracy', { description: 'new', targets: TARGETS }, [{ name: 'split share', cutRatio: 0.99 }, { name: 'bridge share', cutRatio: 1.1 }], { ...MACHINE, date: '2026-02-03T00:00:00.000Z', loadAvg1: 0.2 });
    const merged = mergeResultFiles(part, whole);
    const run = '2026-02-03T00:00:00.000Z, load 0.2 at start';
    expect(merged.results).toEqual([{ name: 'healthy', slidingRatio: 1.05 }, { name: 'split share', cutRatio: 0.99, run }, { name: 'bridge share', cutRatio: 1.1, run }]);
    expect([merged.machine, merged.description]).toEqual([MACHINE, 'new']);
    expect(merged.targets.map((t) => [t.actual, t.met])).toEqual([[0.99, true]]);
    expect(parseResultFile(JSON.parse(stringifyResultFile(merged)))).toEqual(merged);
    expect(() => mergeResultFiles({ ...part, scenario: 'mesh' }, whole)).toThrow(/cannot merge mesh rows/);
  });
});
