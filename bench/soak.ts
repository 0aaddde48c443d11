/**
 * `npm run soak -- --minutes N` (not in CI): three daemons on loopback under
 * steady load at half the peak measured at the start, RSS and event-loop lag
 * of each sampled every second into `bench/results/soak.json`; at the end,
 * exact convergence of every daemon's counts with the load's own log.
 *
 * Load: half the requests on limiter `api` (100 per 60 s) over 20,000 keys,
 * half on limiter `exact` (60 s, a limit never reached) over 200 keys; both
 * reach a steady state (keys and cells created and expiring at the same rate)
 * after one window, which is why the warm-up is at least 60 s. For the final
 * phase (the last 30 s) the exact load moves to 200 fresh keys, whose whole
 * history then lies inside the window: at the end every daemon's count of
 * each must equal the admitted total exactly.
 *
 * Targets (issue 5): RSS growth after warm-up ≤ 10%, zero errors, exact
 * convergence.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectMachineInfo, formatMachine } from './lib/machine.js';
import { resultsDir } from './lib/result-file.js';
import type { ResultRow } from './lib/scenario.js';
import { countOf, eventLoopLag, getText, rssOf, startSoakCluster, stopSoakCluster, type SoakDaemon } from './soak/soak-cluster.js';
import { LoadStats, runLoad, type KeyPicker } from './soak/soak-load.js';
import { evaluateTargets, type Target } from './lib/targets.js';

interface Args {
  minutes: number;
  peakSeconds: number;
  concurrency: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { minutes: 10, peakSeconds: 10, concurrency: 8 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[++i];
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number, got ${value}`);
    if (flag === '--minutes') args.minutes = n;
    else if (flag === '--peak-seconds') args.peakSeconds = n;
    else if (flag === '--concurrency') args.concurrency = Math.round(n);
    else throw new Error(`unknown flag ${flag} (known: --minutes N, --peak-seconds N, --concurrency N)`);
  }
  return args;
}

/** One per-second sample of one daemon. */
interface Sample {
  t: number;
  node: string;
  rssMb: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

const TARGETS: readonly Target[] = [
  { id: 'soak-rss-growth', description: 'RSS growth after warm-up ≤ 10% (worst daemon)', row: { name: 'memory' }, figure: 'rssGrowthPct', op: '<=', threshold: 10 },
  { id: 'soak-errors', description: 'zero errors', row: { name: 'steady' }, figure: 'errors', op: '<=', threshold: 0 },
  { id: 'soak-exact', description: 'every daemon exact at the end (keys off by any amount)', row: { name: 'convergence' }, figure: 'keysOff', op: '<=', threshold: 0 },
];

const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const durationMs = args.minutes * 60_000;
  // Warm-up: the first fifth of the run, at least one window (60 s): JIT, pools, the key set filling up.
  const warmupMs = Math.max(60_000, durationMs / 5);
  // The final phase: fresh exact keys, all of whose hits stay inside the 60 s window.
  const finalMs = Math.min(30_000, durationMs / 3);
  const limiters = ['name=api,limit=100,window=60s', 'name=exact,limit=1000000000000,window=60s'];
  const machine = collectMachineInfo();
  console.log(`soak: ${args.minutes} min, 3 daemons on loopback — ${formatMachine(machine)}`);

  const daemons = await startSoakCluster(3, limiters);
  let stopping = false;
  const onSignal = (): void => {
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await waitReady(daemons);
    let finalPhase = false;
    const pick: KeyPicker = (i) =>
      i % 2 === 0
        ? { limiter: 'api', key: `user:${((i >> 1) * 7919) % 20_000}` }
        : { limiter: 'exact', key: `${finalPhase ? 'final' : 'acct'}:${((i >> 1) * 104_729) % 200}` };

    // 1. Peak, briefly: as fast as the client's concurrency allows.
    const peakStats = new LoadStats();
    const peakEnd = Date.now() + args.peakSeconds * 1000;
    const t0 = Date.now();
    await runLoad(daemons, pick, 'exact', peakStats, { ratePerSec: 0, concurrency: args.concurrency, until: () => !stopping && Date.now() < peakEnd });
    const peak = peakStats.decisions / ((Date.now() - t0) / 1000);
    const rate = Math.max(10, Math.round(peak / 2));
    console.log(`soak: peak ${Math.round(peak)} decisions/s; steady load at ${rate}/s for ${args.minutes} min`);

    // 2. Steady load at half the peak, sampled every second.
    const stats = new LoadStats();
    const samples: Sample[] = [];
    const seconds: Array<{ t: number; decisions: number; errors: number; p99Ms: number }> = [];
    const start = Date.now();
    const end = start + durationMs;
    const load = runLoad(daemons, pick, 'exact', stats, { ratePerSec: rate, concurrency: args.concurrency, until: () => !stopping && Date.now() < end });
    let lastPrint = 0;
    for (let tick = 1; !stopping && Date.now() < end && tick < 1_000_000; tick++) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + tick * 1000 - Date.now())));
      const t = Math.round((Date.now() - start) / 1000);
      finalPhase = Date.now() >= end - finalMs;
      seconds.push({ t, ...stats.takeSecond() });
      for (const d of daemons) {
        const metrics = await getText(`${d.url}/metrics`, d.agent);
        const lag = metrics === null ? { p99Ms: NaN, maxMs: NaN } : eventLoopLag(metrics.text);
        samples.push({ t, node: d.id, rssMb: mb(rssOf(d.proc.pid)), lagP99Ms: round1(lag.p99Ms), lagMaxMs: round1(lag.maxMs) });
      }
      if (t - lastPrint >= 30) {
        lastPrint = t;
        const now = samples.slice(-3).map((s) => `${s.node} ${s.rssMb} MiB lag p99 ${s.lagP99Ms} ms`).join(', ');
        console.log(`soak: ${t}s ${seconds.at(-1)?.decisions ?? 0}/s errors ${stats.errorCount} — ${now}`);
      }
    }
    await load;
    const steadySeconds = (Date.now() - start) / 1000;

    // 3. Quiet, then exact convergence of the exact limiter on every daemon.
    const stoppedAt = Date.now();
    const keys = [...new Set([...stats.truth.keys(), ...stats.unknown.keys()])].filter((k) => k.startsWith('final:'));
    let keysOff = keys.length;
    let convergenceMs = -1;
    let lost = 0;
    let overcount = 0;
    for (let round = 0; round < 300 && Date.now() - stoppedAt < 30_000; round++) {
      keysOff = 0;
      lost = 0;
      overcount = 0;
      for (const key of keys) {
        const want = stats.truth.get(key) ?? 0;
        const slack = stats.unknown.get(key) ?? 0;
        const counts = await Promise.all(daemons.map((d) => countOf(d, 'exact', key)));
        const nums = counts.filter((c): c is number => c !== null);
        const agree = nums.length === daemons.length && new Set(nums).size === 1;
        if (!agree || nums[0] < want || nums[0] > want + slack) keysOff++;
        if (nums.length > 0) {
          lost += Math.max(0, want - Math.min(...nums));
          overcount += Math.max(0, Math.max(...nums) - want - slack);
        }
      }
      if (keysOff === 0) {
        convergenceMs = Date.now() - stoppedAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const exits = await stopSoakCluster(daemons);

    // 4. Figures.
    const rows: ResultRow[] = [];
    rows.push({ name: 'peak', decisionsPerSec: Math.round(peak), concurrencyPerDaemon: args.concurrency, seconds: args.peakSeconds });
    const steadyRates = seconds.map((s) => s.decisions);
    rows.push({
      name: 'steady',
      targetPerSec: rate,
      achievedPerSec: Math.round(mean(steadyRates)),
      minSecond: steadyRates.length === 0 ? 0 : Math.min(...steadyRates),
      decisions: stats.decisions,
      errors: stats.errorCount,
      clientP99Ms: round1(Math.max(0, ...seconds.map((s) => s.p99Ms))),
      minutes: round1(steadySeconds / 60),
    });
    let worstGrowth = -Infinity;
    for (const d of daemons) {
      const own = samples.filter((s) => s.node === d.id);
      const warmEnd = mean(own.filter((s) => s.t * 1000 >= warmupMs && s.t * 1000 < warmupMs + 10_000).map((s) => s.rssMb));
      const last = mean(own.slice(-10).map((s) => s.rssMb));
      const growthPct = warmEnd > 0 ? round1(((last - warmEnd) / warmEnd) * 100) : NaN;
      if (Number.isFinite(growthPct)) worstGrowth = Math.max(worstGrowth, growthPct);
      rows.push({
        name: `daemon-${d.id}`,
        rssAfterWarmupMb: round1(warmEnd),
        rssEndMb: round1(last),
        rssMaxMb: Math.max(0, ...own.map((s) => s.rssMb)),
        rssGrowthPct: growthPct,
        lagP99MaxMs: round1(Math.max(0, ...own.map((s) => s.lagP99Ms).filter(Number.isFinite))),
        lagP99MeanMs: round1(mean(own.map((s) => s.lagP99Ms).filter(Number.isFinite))),
        exitCode: exits[d.id] ?? -1,
      });
    }
    rows.push({ name: 'memory', rssGrowthPct: Number.isFinite(worstGrowth) ? worstGrowth : -1, warmupSeconds: warmupMs / 1000 });
    if (keys.length === 0) throw new Error('no final-phase keys were hit: run longer');
    rows.push({ name: 'convergence', keys: keys.length, keysOff, lost, overcount, convergenceMs, exact: keysOff === 0 ? 'yes' : 'no' });

    const file = {
      scenario: 'soak',
      description:
        `Three daemons on loopback for ${args.minutes} min at half the peak measured first (${rate}/s of ${Math.round(peak)}/s), keep-alive HTTP from one client process; ` +
        `RSS (/proc) and event-loop lag (prom-client default metrics) of each daemon every second; RSS growth from the end of the warm-up (${warmupMs / 1000} s) to the last 10 s; ` +
        `exact convergence at the end of the 200 keys hit in the last ${finalMs / 1000} s.`,
      machine,
      results: rows,
      targets: evaluateTargets(rows, TARGETS),
      samples,
      seconds,
    };
    mkdirSync(resultsDir(), { recursive: true });
    const out = path.join(resultsDir(), 'soak.json');
    writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
    console.table(rows);
    for (const t of file.targets) console.log(`${t.met ? 'met    ' : 'NOT met'}  ${t.description}: ${t.actual}`);
    console.log(`soak: wrote ${path.relative(process.cwd(), out)}`);
    if (file.targets.some((t) => !t.met)) process.exitCode = 1;
  } catch (err) {
    await stopSoakCluster(daemons);
    throw err;
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

async function waitReady(daemons: SoakDaemon[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const d of daemons) {
    for (;;) {
      const r = await getText(`${d.url}/readyz`, d.agent);
      if (r?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`${d.id} not ready within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

main().catch((err: unknown) => {
  console.error(`soak: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
