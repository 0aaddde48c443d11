/**
 * Child process of the consume scenario. Each measurement runs in a fresh
 * process (forked with --expose-gc) holding exactly one competitor, so no
 * competitor inherits another's JIT feedback, heap or GC debt, and call sites
 * in the timed loops stay monomorphic for everyone alike.
 *
 * Protocol: argv[2] is a JSON {@link WorkerTask}; the worker answers with one
 * IPC message, a {@link WorkerReply}, and exits.
 */
import * as hdr from 'hdr-histogram-js';
import { pathToFileURL } from 'node:url';

/** Competitors the worker knows how to drive. */
export type Competitor = 'tallymesh' | 'rate-limiter-flexible' | 'baseline-map';

/** One measurement, chosen by the parent scenario. */
export type WorkerTask =
  | {
      kind: 'throughput';
      competitor: Competitor;
      keys: number;
      calls: number;
      warmupCalls: number;
      repetitions: number;
      limit: number;
      /** Which path every timed call must take; checked so all competitors measure the same one. */
      expect: 'admit' | 'deny';
      /**
       * tallymesh only: absolute path of the package entry to load (a build's
       * `dist/src/index.js`), so one harness can time another build, e.g. one
       * made from an older commit. Default: this build's own entry.
       */
      entry?: string;
      /** Printed in the worker's log line instead of the competitor's name, e.g. `before (d3c5594)`. */
      label?: string;
    }
  | { kind: 'memory'; competitor: Exclude<Competitor, 'baseline-map'>; keys: number }
  | { kind: 'latency'; competitor: 'tallymesh'; keys: number; samples: number; warmupCalls: number };

/** The single message a worker sends back. */
export type WorkerReply = { ok: true; figures: Record<string, number> } | { ok: false; error: string };

const WINDOW_MS = 60_000;

// --- competitors -----------------------------------------------------------

/** A synchronous decision closure; tallymesh and the floor share this harness. */
type SyncDecide = (key: string) => boolean;

/**
 * The part of the package entry the harness drives. Spelled out instead of
 * `typeof import('../../src/index.js')` because another build (an older commit)
 * may differ in everything else.
 */
interface LimiterEntry {
  createLimiter(options: { name: string; limit: number; windowMs: number }): {
    consume(key: string, cost: number): { allowed: boolean };
    peek(key: string): unknown;
  };
}

async function loadEntry(entry: string | undefined): Promise<LimiterEntry> {
  // Imported lazily so the other competitors' processes never load tallymesh.
  const mod = (entry === undefined ? await import('../../src/index.js') : await import(pathToFileURL(entry).href)) as Partial<LimiterEntry>;
  if (typeof mod.createLimiter !== 'function') throw new Error(`${entry ?? 'the package entry'} exports no createLimiter`);
  return mod as LimiterEntry;
}

async function tallymeshDecide(limit: number, name = 'bench', entry?: string): Promise<SyncDecide & { peek(key: string): unknown }> {
  const { createLimiter } = await loadEntry(entry);
  const lim = createLimiter({ name, limit, windowMs: WINDOW_MS });
  return Object.assign((key: string) => lim.consume(key, 1).allowed, { peek: (key: string): unknown => lim.peek(key) });
}

async function baselineDecide(limit: number): Promise<SyncDecide> {
  const { BaselineMapLimiter } = await import('./baseline-map.js');
  const lim = new BaselineMapLimiter({ limit, windowMs: WINDOW_MS });
  return (key: string) => lim.consume(key, 1);
}

async function loadRlf() {
  return import('rate-limiter-flexible');
}
type Rlf = Awaited<ReturnType<typeof loadRlf>>;

function newRlf(rlf: Rlf, limit: number, keyPrefix = 'bench') {
  // points per duration (seconds): the same budget as tallymesh's limit per windowMs.
  return new rlf.RateLimiterMemory({ keyPrefix, points: limit, duration: WINDOW_MS / 1000 });
}

// --- throughput ------------------------------------------------------------

function keyRing(n: number): string[] {
  // Keys are built up front so the timed loop measures decisions, not string concatenation.
  return Array.from({ length: n }, (_, i) => `user:${i}`);
}

function loopSync(decide: SyncDecide, keys: string[], calls: number): { ns: number; admitted: number } {
  const n = keys.length;
  let k = 0;
  let admitted = 0; // also the sink that keeps the calls from being optimised away
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    if (decide(keys[k])) admitted++;
    if (++k === n) k = 0;
  }
  return { ns: Number(process.hrtime.bigint() - t0), admitted };
}

async function loopRlf(
  rl: InstanceType<Rlf['RateLimiterMemory']>,
  RateLimiterRes: Rlf['RateLimiterRes'],
  keys: string[],
  calls: number,
): Promise<{ ns: number; admitted: number }> {
  const n = keys.length;
  let k = 0;
  let admitted = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    // Exactly how its users call it: await, and catch the RateLimiterRes it rejects with on denial.
    try {
      await rl.consume(keys[k], 1);
      admitted++;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
    }
    if (++k === n) k = 0;
  }
  return { ns: Number(process.hrtime.bigint() - t0), admitted };
}

async function throughput(task: Extract<WorkerTask, { kind: 'throughput' }>): Promise<Record<string, number>> {
  const keys = keyRing(task.keys);
  let loop: (calls: number) => Promise<{ ns: number; admitted: number }>;
  if (task.competitor === 'rate-limiter-flexible') {
    const rlf = await loadRlf();
    const rl = newRlf(rlf, task.limit);
    loop = (calls) => loopRlf(rl, rlf.RateLimiterRes, keys, calls);
  } else {
    const decide = task.competitor === 'tallymesh' ? await tallymeshDecide(task.limit, 'bench', task.entry) : await baselineDecide(task.limit);
    loop = async (calls) => loopSync(decide, keys, calls);
  }

  // Warm-up touches every key several times (so the timed runs see steady-state
  // lookups, not inserts) and, on the deny path, spends the whole budget.
  await loop(task.warmupCalls);
  let best = 0;
  const all: number[] = [];
  for (let r = 0; r < task.repetitions; r++) {
    await fullGc(); // start every repetition with no garbage left over from the previous one
    const { ns, admitted } = await loop(task.calls);
    const denied = task.calls - admitted;
    if (task.expect === 'admit' && denied !== 0) throw new Error(`${denied} calls denied on the admission path`);
    if (task.expect === 'deny' && admitted > task.limit) throw new Error(`${admitted} calls admitted on the deny path`);
    const opsPerSec = task.calls / (ns / 1e9);
    all.push(opsPerSec);
    best = Math.max(best, opsPerSec);
  }
  log(`${task.label ?? task.competitor} keys=${task.keys} ${task.expect}: ${all.map((v) => (v / 1e6).toFixed(2)).join(' / ')} Mops/s`);
  return { opsPerSec: Math.round(best) };
}

// --- memory ----------------------------------------------------------------

/** Several full collections, yielding between them so weak callbacks and finalizers run. */
async function fullGc(): Promise<void> {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') throw new Error('run the worker with --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function memoryNow(): number {
  // heapUsed alone would miss typed-array backing stores, which live off-heap
  // ("external"); counting both keeps the comparison honest whatever layout a
  // competitor picks.
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

async function memory(task: Extract<WorkerTask, { kind: 'memory' }>): Promise<Record<string, number>> {
  const WARM_KEYS = 20_000;
  let hit: (key: string) => unknown;
  let check: () => Promise<string | null>;
  // First and last key: a limiter that stopped storing keys part-way (a key cap,
  // an overflow policy) would otherwise look cheaper per key than it is.
  const probeKeys = ['user:0', `user:${task.keys - 1}`];
  if (task.competitor === 'tallymesh') {
    // A throwaway instance first: optimised code is shared by all instances and
    // must not be counted per key.
    const warm = await tallymeshDecide(1e9, 'warm');
    for (let i = 0; i < WARM_KEYS; i++) warm(`warm:${i}`);
    const decide = await tallymeshDecide(1e9);
    hit = decide;
    check = async () => {
      for (const key of probeKeys) {
        const p = decide.peek(key) as { remaining?: unknown } | undefined;
        if (p?.remaining !== 1e9 - 1) return `peek('${key}') = ${JSON.stringify(p)}`;
      }
      return null;
    };
  } else {
    const rlf = await loadRlf();
    const warm = newRlf(rlf, 1e9, 'warm');
    for (let i = 0; i < WARM_KEYS; i++) await warm.consume(`warm:${i}`, 1);
    const rl = newRlf(rlf, 1e9);
    hit = (key) => rl.consume(key, 1);
    check = async () => {
      for (const key of probeKeys) {
        const res = await rl.get(key);
        if (res?.consumedPoints !== 1) return `get('${key}') = ${JSON.stringify(res)}`;
      }
      return null;
    };
  }

  await fullGc();
  const before = memoryNow();
  for (let i = 0; i < task.keys; i++) {
    // `'user:' + i` is built here, so each key's string is counted: both limiters must retain it.
    const r = hit(`user:${i}`);
    if (r instanceof Promise) await r;
  }
  await fullGc();
  const after = memoryNow();
  // Touch the limiter after the measurement so it is provably still alive.
  const problem = await check();
  if (problem !== null) throw new Error(`${task.competitor} lost state: ${problem}`);
  const bytesPerKey = (after - before) / task.keys;
  log(`${task.competitor} ${task.keys} keys: ${((after - before) / 2 ** 20).toFixed(1)} MiB, ${bytesPerKey.toFixed(1)} B/key`);
  return { bytesPerKey: Math.round(bytesPerKey * 10) / 10 };
}

// --- latency ---------------------------------------------------------------

async function latency(task: Extract<WorkerTask, { kind: 'latency' }>): Promise<Record<string, number>> {
  const keys = keyRing(task.keys);
  const decide = await tallymeshDecide(1e9);
  loopSync(decide, keys, task.warmupCalls);
  const hist = () => hdr.build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true });
  const empty = hist();
  const calls = hist();
  const hrtime = process.hrtime.bigint;

  // The timer itself: an empty interval, measured the same way, for readers to subtract.
  await fullGc();
  for (let i = 0; i < task.samples; i++) {
    const t0 = hrtime();
    const t1 = hrtime();
    empty.recordValue(Number(t1 - t0));
  }

  await fullGc();
  let admitted = 0;
  for (let i = 0, k = 0; i < task.samples; i++) {
    const t0 = hrtime();
    const ok = decide(keys[k]);
    const t1 = hrtime();
    calls.recordValue(Number(t1 - t0));
    if (ok) admitted++;
    if (++k === keys.length) k = 0;
  }
  if (admitted !== task.samples) throw new Error(`${task.samples - admitted} calls denied on the admission path`);
  return {
    p50Ns: calls.getValueAtPercentile(50),
    p99Ns: calls.getValueAtPercentile(99),
    p999Ns: calls.getValueAtPercentile(99.9),
    timerOverheadNs: empty.getValueAtPercentile(50),
  };
}

// --- main ------------------------------------------------------------------

function log(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

async function main(): Promise<void> {
  // A parent that went away (interrupted run) reads no answer: stop measuring.
  process.once('disconnect', () => process.exit(1));
  const task = JSON.parse(process.argv[2] ?? 'null') as WorkerTask;
  let reply: WorkerReply;
  try {
    const figures =
      task.kind === 'throughput' ? await throughput(task) : task.kind === 'memory' ? await memory(task) : await latency(task);
    reply = { ok: true, figures };
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  if (!process.send) throw new Error('consume-worker must be started with child_process.fork');
  // Exit explicitly once the reply is flushed: a competitor's timers must not keep us alive.
  process.send(reply, undefined, {}, () => process.exit(0));
}

void main();
