import { describe, expect, it } from 'vitest';
import { CliExit } from '../../cli/exit.js';
import { formatDuration, formatTable } from '../../cli/format-table.js';
import { simEntry } from '../../cli/load.js';
import { partitionGroups, simulationOptions, type SimulateFlags } from '../../cli/simulate.js';

const FLAGS: SimulateFlags = {
  nodes: 5,
  seconds: 9,
  rate: 100,
  keys: 2,
  limit: 10,
  window: '2s',
  loss: 0,
  duplicate: 0,
  reorder: 0,
  skew: '100ms',
  gossipInterval: '20ms',
  seed: 1,
};

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliExit);
    expect((err as CliExit).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('partitionGroups', () => {
  it('splits the nodes in order into the given groups', () => {
    expect(partitionGroups('2:3', 5, 3000, 6000)).toEqual([{ at: 3000, heal: 6000, a: ['n1', 'n2'], b: ['n3', 'n4', 'n5'] }]);
  });

  it('cuts every pair of groups when there are more than two', () => {
    const parts = partitionGroups('1:1:2', 4, 0, 1);
    expect(parts.map((p) => `${p.a.join(',')}|${p.b.join(',')}`)).toEqual(['n1|n2', 'n1|n3,n4', 'n2|n3,n4']);
  });

  it('refuses groups that do not add up or are not sizes', () => {
    expect(usage(() => partitionGroups('2:2', 5, 0, 1))).toBe('--partition: the groups must add up to --nodes (5), got 2+2 = 4');
    expect(usage(() => partitionGroups('5', 5, 0, 1))).toContain('--partition: must be group sizes like 2:3');
    expect(usage(() => partitionGroups('a:b', 2, 0, 1))).toContain('--partition: must be group sizes like 2:3');
  });
});

describe('simulationOptions', () => {
  it('parses durations and puts a partition in the middle third by default', async () => {
    const tm = await simEntry();
    const o = simulationOptions({ ...FLAGS, partition: '2:3' }, tm);
    expect(o).toMatchObject({ durationMs: 9000, windowMs: 2000, skewMs: 100, gossipIntervalMs: 20 });
    expect(o.partitions).toEqual([{ at: 3000, heal: 6000, a: ['n1', 'n2'], b: ['n3', 'n4', 'n5'] }]);
  });

  it('names the flag that does not fit', async () => {
    const tm = await simEntry();
    expect(usage(() => simulationOptions({ ...FLAGS, at: '1s' }, tm))).toBe('--at and --heal need --partition');
    expect(usage(() => simulationOptions({ ...FLAGS, partition: '2:3', at: '5s', heal: '4s' }, tm))).toBe('--heal: must be after --at (5.0 s), got 4.0 s');
    expect(usage(() => simulationOptions({ ...FLAGS, partition: '2:3', at: '10s' }, tm))).toContain('--at: must be before the end of the run');
    expect(usage(() => simulationOptions({ ...FLAGS, window: 'long' }, tm))).toContain('--window: must be a duration like 60s');
    expect(usage(() => simulationOptions({ ...FLAGS, gossipInterval: '0' }, tm))).toContain('--gossip-interval: must be from 1ms to 1m');
  });
});

describe('formatTable', () => {
  it('pads columns to their widest cell and aligns numbers right', () => {
    expect(formatTable([{ header: 'NODE' }, { header: 'KEYS', right: true }], [['a', '12'], ['long-name', '3']])).toBe(
      ['NODE       KEYS', 'a            12', 'long-name     3'].join('\n'),
    );
  });

  it('writes durations the way config files do', () => {
    expect([60_000, 90_000, 3_600_000, 1500, 250].map(formatDuration)).toEqual(['1m', '90s', '1h', '1500ms', '250ms']);
  });
});
