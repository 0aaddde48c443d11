import { describe, expect, it } from 'vitest';
import { COMPARE_SCENARIO, parseRunArgs, UsageError } from '../../../bench/lib/run-options.js';

describe('parseRunArgs', () => {
  it('passes scenario names through when no flag is given', () => {
    expect(parseRunArgs(['consume', 'mesh'], {})).toEqual({ scenarios: ['consume', 'mesh'], options: {} });
    expect(parseRunArgs([], {})).toEqual({ scenarios: [], options: {} });
  });

  it('turns consume --before <ref> into the comparison scenario', () => {
    expect(parseRunArgs(['consume', '--before', 'd3c5594'], {})).toEqual({ scenarios: [COMPARE_SCENARIO], options: { before: 'd3c5594' } });
    expect(parseRunArgs(['--before=main~2', 'consume', 'consume-compare'], {})).toEqual({
      scenarios: [COMPARE_SCENARIO],
      options: { before: 'main~2' },
    });
  });

  it('reads rounds and calls as positive integers', () => {
    expect(parseRunArgs(['consume-compare', '--rounds', '2', '--calls=1000'], {}).options).toEqual({ rounds: 2, calls: 1000 });
  });

  it('takes options from the environment, the command line winning', () => {
    const env = { TALLYMESH_BENCH_BEFORE: 'v0.1.0', TALLYMESH_BENCH_ROUNDS: '4', TALLYMESH_BENCH_CALLS: '' };
    expect(parseRunArgs(['consume-compare', '--rounds', '6'], env).options).toEqual({ before: 'v0.1.0', rounds: 6 });
  });

  it('keeps plain consume when the ref comes only from the environment', () => {
    expect(parseRunArgs(['consume'], { TALLYMESH_BENCH_BEFORE: 'v0.1.0' }).scenarios).toEqual(['consume']);
  });

  it.each([
    [['--befor', 'x'], 'unknown option --befor'],
    [['consume', '--before'], '--before needs a value'],
    [['consume', '--before', '--rounds', '2'], '--before needs a value'],
    [['--rounds', '0'], '--rounds must be a positive integer, got "0"'],
    [['--calls', '1e6'], '--calls must be a positive integer, got "1e6"'],
  ])('refuses %j with a usage error', (argv, message) => {
    expect(() => parseRunArgs(argv, {})).toThrow(UsageError);
    expect(() => parseRunArgs(argv, {})).toThrow(message);
  });

  it('names the environment variable when its value is wrong', () => {
    expect(() => parseRunArgs([], { TALLYMESH_BENCH_ROUNDS: 'ten' })).toThrow('TALLYMESH_BENCH_ROUNDS must be a positive integer');
  });
});
