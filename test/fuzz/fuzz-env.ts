/**
 * Settings shared by the fuzzers, from the environment, and a summary writer:
 * each fuzzer prints one line and adds its figures to `.tmp/fuzz/summary.json`
 * (gitignored: a fuzz run leaves committed files alone).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** TALLYMESH_FUZZ_LONG=1: the long run (not in CI). */
export const LONG = process.env.TALLYMESH_FUZZ_LONG === '1';
/** Seed of every PRNG in the run (TALLYMESH_FUZZ_SEED, default: fixed, so CI is reproducible). */
export const SEED = Number(process.env.TALLYMESH_FUZZ_SEED ?? 20_260_101);
/** Frames the decoder fuzz feeds (TALLYMESH_FUZZ_ITERATIONS overrides). */
export const ITERATIONS = Number(process.env.TALLYMESH_FUZZ_ITERATIONS ?? (LONG ? 2_000_000 : 120_000));
/** Scales the other fuzzers' counts: 1 in CI, 10 in the long run. */
export const SCALE = LONG ? 10 : 1;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUMMARY = join(ROOT, '.tmp', 'fuzz', 'summary.json');

/** Heap in use after a full GC (when the worker runs with --expose-gc; else as is). */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Prints one line for a fuzzer and records its figures. */
export function summary(name: string, figures: Record<string, unknown>): void {
  console.log(`fuzz ${name}: ${JSON.stringify(figures)}`);
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(SUMMARY, 'utf8')) as Record<string, unknown>;
  } catch {
    // first fuzzer of the run
  }
  all[name] = { seed: SEED, ...figures, at: new Date().toISOString() };
  mkdirSync(dirname(SUMMARY), { recursive: true });
  writeFileSync(SUMMARY, `${JSON.stringify(all, null, 2)}\n`);
}
