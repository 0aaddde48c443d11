/**
 * Scenario "consume-compare" (also `npm run bench -- consume --before <ref>`):
 * does the decision path of the current build run as fast as it did at an
 * older commit? Issues that touch the consume path state their "does not slow
 * down" goal against this scenario.
 *
 * The build at `--before <ref>` is made in a temporary git worktree
 * (git-worktree.ts); the current build is a snapshot of this checkout's
 * dist/. Both are timed by the same worker (consume-worker.ts), each
 * measurement in a fresh process, the two builds alternating in back-to-back
 * pairs (before-after.ts).
 */
import { median, pairOrder, pairRatio, roundRatio, summarisePairs, type Build, type Pair } from './lib/before-after.js';
import { runConsumeWorker } from './consume/consume-fork.js';
import { withBuilds } from './lib/git-worktree.js';
import { repoRoot } from './lib/result-file.js';
import type { ResultRow, RunOptions } from './lib/scenario.js';
import type { Target } from './lib/targets.js';

/** Pairs per case; `--rounds` overrides. */
const ROUNDS = 10;
/** Timed calls per repetition; `--calls` overrides (small values while developing). */
const CALLS = 1_000_000;
const REPETITIONS = 5;
/** Enough to touch each of 100 000 keys five times before timing. */
const WARMUP_CALLS = 500_000;
/** So high that every call is admitted. */
const ADMIT_LIMIT = 1e9;
/** Spent on every key during the warm-up, so every timed call is denied. */
const DENY_LIMIT = 1;
/** The issues' bar: the current build keeps at least 95 % of the old throughput. */
const MIN_RATIO = 0.95;

interface Case {
  path: 'admit' | 'deny';
  keys: number;
  limit: number;
}

const CASES: readonly Case[] = [
  { path: 'admit', keys: 1, limit: ADMIT_LIMIT },
  { path: 'admit', keys: 100_000, limit: ADMIT_LIMIT },
  { path: 'deny', keys: 1, limit: DENY_LIMIT },
  { path: 'deny', keys: 100_000, limit: DENY_LIMIT },
];

/** This scenario measures nothing without a ref to compare against. */
export const requires: readonly (keyof RunOptions)[] = ['before'];

/** Printed by the runner and copied into docs/benchmarks.md. */
export const description = [
  '`consume` of the current build against the build at an older commit (`--before <ref>`, the `setup` row names both commits;',
  'after = a copy of this checkout\'s dist/ taken at the start (`npm run bench` builds it first); before = that commit checked out in a',
  'temporary git worktree, built with its own `tsc -p tsconfig.build.json` and removed afterwards; entry `dist/src/index.js` in both).',
  'Cases: `createLimiter` (window 60 s, default buckets), calls',
  `round-robin over 1 or 100,000 keys; admit rows with limit ${ADMIT_LIMIT.toExponential()} (every call admitted), deny rows with limit`,
  `${DENY_LIMIT} spent during the warm-up (every timed call denied). Each measurement is a fresh process (the consume scenario's worker):`,
  'a warm-up touching every key five times, then the best of the `setup` row\'s repetitions of `calls` timed calls. Per case and round',
  'the two builds run back to back, in alternating order (B A, A B, B A, ... and swapped the next round); ratio = after ÷ before of',
  'one pair. Case rows: median ops/s of each build and the median, least and greatest ratio over the rounds; the `all` row takes',
  'the median over every pair of every case. `round N` rows are the raw pairs.',
].join(' ');

function keysLabel(k: number): string {
  return `${k.toLocaleString('en-US')} ${k === 1 ? 'key' : 'keys'}`;
}

/** The issues' goal overall, and per case so one slower path cannot hide behind the others. */
export const targets: readonly Target[] = [
  {
    id: 'median-ratio',
    description: `after ÷ before, median over every pair ≥ ${MIN_RATIO}`,
    row: { name: 'all' },
    figure: 'medianRatio',
    op: '>=',
    threshold: MIN_RATIO,
  },
  ...CASES.map((c) => ({
    id: `median-ratio-${c.path}-${c.keys}`,
    description: `after ÷ before, ${c.path} path, ${keysLabel(c.keys)} ≥ ${MIN_RATIO}`,
    row: { name: c.path, keys: c.keys },
    figure: 'medianRatio',
    op: '>=' as const,
    threshold: MIN_RATIO,
  })),
];

/** Builds the before ref, runs every pair, and returns setup, per-case, overall and raw rows. */
export async function run(options: RunOptions): Promise<ResultRow[]> {
  const ref = options.before;
  if (ref === undefined) throw new Error('consume-compare needs --before <git-ref>');
  const rounds = options.rounds ?? ROUNDS;
  const calls = options.calls ?? CALLS;

  const { before, after, pairs } = await withBuilds(repoRoot(), ref, async (builds) => {
    const entries: Record<Build, string> = { before: builds.before.entry, after: builds.after.entry };
    const measured: Pair[][] = CASES.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const [i, c] of CASES.entries()) {
        const order = pairOrder(round, i);
        const ops = {} as Record<Build, number>;
        for (const build of order) {
          const figures = await runConsumeWorker({
            kind: 'throughput',
            competitor: 'tallymesh',
            keys: c.keys,
            limit: c.limit,
            expect: c.path,
            calls,
            warmupCalls: WARMUP_CALLS,
            repetitions: REPETITIONS,
            entry: entries[build],
            label: build === 'before' ? `before (${ref})` : 'after',
          });
          ops[build] = figures.opsPerSec;
        }
        const pair: Pair = { round: round + 1, first: order[0], beforeOpsPerSec: ops.before, afterOpsPerSec: ops.after };
        measured[i].push(pair);
        console.error(`  round ${pair.round}/${rounds} ${c.path} ${keysLabel(c.keys)}: after/before ${pairRatio(pair).toFixed(3)}`);
      }
    }
    return { ...builds, pairs: measured };
  });

  const rows: ResultRow[] = [
    {
      name: 'setup',
      before: ref,
      beforeCommit: before.commit,
      afterCommit: after.commit,
      afterTree: after.dirty ? 'HEAD + uncommitted changes' : 'HEAD',
      rounds,
      calls,
      repetitions: REPETITIONS,
      warmupCalls: WARMUP_CALLS,
    },
  ];
  for (const [i, c] of CASES.entries()) rows.push({ name: c.path, keys: c.keys, limit: c.limit, ...summarisePairs(pairs[i]) });
  const all = pairs.flat().map(pairRatio);
  rows.push({
    name: 'all',
    pairs: all.length,
    medianRatio: roundRatio(median(all)),
    minRatio: roundRatio(Math.min(...all)),
    maxRatio: roundRatio(Math.max(...all)),
  });
  for (const [i, c] of CASES.entries()) {
    for (const p of pairs[i]) {
      rows.push({ name: `round ${p.round}`, path: c.path, keys: c.keys, first: p.first, beforeOpsPerSec: p.beforeOpsPerSec, afterOpsPerSec: p.afterOpsPerSec, ratio: roundRatio(pairRatio(p)) });
    }
  }
  return rows;
}
