/**
 * One fault, start to finish: load on a healthy cluster, inject, hold,
 * heal, wait until quiet, then hold every daemon's counts against the load
 * generator's log of admitted hits. Produces a {@link FaultRow}; the test
 * asserts on it after it is recorded, so failures are reported too.
 */
import { CHURN_SPEC } from './churn.js';
import type { Cluster } from './cluster.js';
import type { Daemon } from './daemon.js';
import { admittedRatio, LoadGenerator, percentile, tally, type Hit, type KeySpec, type LoadResult } from './load.js';
import type { Impairments } from './netem.js';
import type { Testbed } from './netns.js';
import type { FaultRow } from './report.js';
import { sleep } from './sh.js';

/** Limiter whose counts are checked: a 600 s window (nothing expires during a test) and a limit never reached. */
export const EXACT = { name: 'exact', limit: 1_000_000_000, windowMs: 600_000 };
/** Limiter whose admission bound is measured: offered about 4× its limit. */
export const BOUND = { name: 'bound', limit: 40, windowMs: 4_000 };
/** `--limiter` specs of every daemon (`churn`: the key-churn fault's, churn.ts). */
export const LIMITER_SPECS = [
  `name=${EXACT.name},limit=${EXACT.limit},window=${EXACT.windowMs / 1000}s`,
  `name=${BOUND.name},limit=${BOUND.limit},window=${BOUND.windowMs / 1000}s`,
  CHURN_SPEC,
];

/** Requests per second over the whole cluster. */
export const RATE = Number(process.env.TALLYMESH_FAULTS_RATE ?? 250);
const EXACT_KEYS = 8;
const BOUND_KEYS = 2;
const WARM_MS = 2_000;
/** How long a healed cluster gets to converge before the check fails. */
const CONVERGE_TIMEOUT_MS = 30_000;
/** Hits a kill -9 may lose: what the node admitted this long before the kill (the gossip interval is 20 ms). */
export const CRASH_WINDOW_MS = 100;

/** What a fault's hooks get. */
export interface FaultContext {
  cluster: Cluster;
  testbed: Testbed;
  impairments: Impairments;
  /** The five daemons of the cluster. */
  members: Daemon[];
  /** Notes for the report row. */
  notes: string[];
  /** Problems hooks found (the test fails on any). */
  failures: string[];
}

/** A fault to run. */
export interface FaultSpec {
  name: string;
  title: string;
  injection: string;
  faultMs: number;
  /** Before load starts (e.g. restart a node under libfaketime). */
  setup?(ctx: FaultContext): Promise<void>;
  inject(ctx: FaultContext): Promise<void>;
  /** While the fault holds (checks of what daemons report). */
  during?(ctx: FaultContext): Promise<void>;
  heal(ctx: FaultContext): Promise<void>;
  /** Keep load running this long after the heal (a paused node's requests must finish; a restarted node takes load). */
  loadThroughHealMs?: number;
  /** Load targets (default: the members). */
  targets?(ctx: FaultContext): Daemon[];
  /** Hits that count toward the truth the members must reach (default: all). */
  truthFilter?(hit: Hit): boolean;
  /** The node a kill -9 hit, and when: its last hits before the kill are the loss allowance. */
  crash?(): { node: string; at: number } | null;
  /** Checks after convergence; returns extra figures for the row. */
  after?(ctx: FaultContext, load: LoadResult): Promise<Record<string, number | string>>;
}

/** Per-key comparison of one poll. */
interface Verdict {
  ok: boolean;
  lost: number;
  overcount: number;
  detail: string;
}

function judge(
  counts: Record<string, Record<string, number | null>>,
  truth: Map<string, number>,
  indeterminate: Map<string, number>,
  allowance: Map<string, number>,
  keys: string[],
): Verdict {
  let ok = true;
  let lost = 0;
  let overcount = 0;
  const detail: string[] = [];
  for (const key of keys) {
    const want = truth.get(key) ?? 0;
    const slack = indeterminate.get(key) ?? 0;
    const may = allowance.get(key) ?? 0;
    const values = Object.entries(counts).map(([node, row]) => [node, row[key]] as const);
    const seen = new Set(values.map(([, v]) => v));
    for (const [node, v] of values) {
      if (v === null) {
        ok = false;
        detail.push(`${node}:${key}=no answer`);
        continue;
      }
      if (v < want - may || v > want + slack) {
        ok = false;
        detail.push(`${node}:${key}=${v} (truth ${want}${slack > 0 ? ` +≤${slack} indeterminate` : ''}${may > 0 ? ` −≤${may} allowed` : ''})`);
      }
    }
    if (seen.size !== 1) ok = false;
    // The figures come from the lowest and highest node: a lost hit is missing everywhere once all agree.
    const numbers = values.map(([, v]) => v).filter((v): v is number => v !== null);
    if (numbers.length > 0) {
      lost += Math.max(0, want - Math.min(...numbers));
      overcount += Math.max(0, Math.max(...numbers) - want - slack);
    }
  }
  return { ok, lost, overcount, detail: detail.slice(0, 6).join('; ') };
}

/** Keys of one fault: fresh names, so no test sees another's hits. */
export function faultKeys(name: string): { exact: string[]; bound: string[]; specs: KeySpec[] } {
  const exact = Array.from({ length: EXACT_KEYS }, (_, i) => `${name}:e${i}`);
  const bound = Array.from({ length: BOUND_KEYS }, (_, i) => `${name}:b${i}`);
  const specs: KeySpec[] = [
    ...exact.map((key) => ({ limiter: EXACT.name, key, weight: 0.7 / EXACT_KEYS })),
    ...bound.map((key) => ({ limiter: BOUND.name, key, weight: 0.3 / BOUND_KEYS })),
  ];
  return { exact, bound, specs };
}

/** Non-live peers as each member sees them, e.g. `n1: n3=suspect`. */
export async function describeViews(ctx: FaultContext, of: Daemon[] = ctx.members): Promise<string> {
  const parts: string[] = [];
  for (const d of of) {
    if (!d.alive || d.paused) continue;
    const view = await ctx.cluster.view(d);
    if (view === null) {
      parts.push(`${d.id}: no answer`);
      continue;
    }
    const odd = view.peers.filter((p) => p.state !== 'live').map((p) => `${p.nodeId}=${p.state}`);
    if (odd.length > 0) parts.push(`${d.id}: ${odd.join(',')}`);
  }
  return parts.length === 0 ? 'every member saw every peer live' : parts.join('; ');
}

/** Bound-limiter requests per key per window, over the limit. */
function offered(result: LoadResult): number {
  const seconds = Math.max(1, (result.stoppedAt - result.startedAt) / 1000);
  const perKeyPerWindow = ((result.sentByLimiter[BOUND.name] ?? 0) / BOUND_KEYS / seconds) * (BOUND.windowMs / 1000);
  return Math.round((perKeyPerWindow / BOUND.limit) * 10) / 10;
}

/** Runs one fault and returns its row (the caller records it, then asserts). */
export async function runFault(spec: FaultSpec, ctx: FaultContext, seed: number): Promise<{ row: FaultRow; failures: string[] }> {
  const { cluster, members } = ctx;
  const failures = ctx.failures;
  await cluster.waitHealthy(members.filter((d) => d.alive));
  await spec.setup?.(ctx);
  const crashesBefore = new Map(cluster.daemons.map((d) => [d.id, d.crashes.length]));
  cluster.takeRssPeak();
  const keys = faultKeys(spec.name);
  const targets = spec.targets?.(ctx) ?? members;
  const load = new LoadGenerator({ targets: targets.map((d) => ({ id: d.id, url: d.url })), ratePerSec: RATE, keys: keys.specs, seed });
  load.start();
  let result: LoadResult;
  let convergeFrom: number;
  try {
    await sleep(WARM_MS);
    await spec.inject(ctx);
    const faultStart = Date.now();
    if (spec.during !== undefined) await spec.during(ctx);
    await sleep(Math.max(0, spec.faultMs - (Date.now() - faultStart)));
    if (spec.loadThroughHealMs === undefined) {
      result = await load.stop();
      convergeFrom = Date.now();
      await spec.heal(ctx);
    } else {
      await spec.heal(ctx);
      await sleep(spec.loadThroughHealMs);
      result = await load.stop();
      convergeFrom = Date.now();
    }
  } catch (err) {
    await load.stop();
    throw err;
  }

  // The truth, from the load generator's own log.
  const filter = spec.truthFilter ?? (() => true);
  const exactHits = result.hits.filter((h) => h.limiter === EXACT.name);
  const truth = tally(exactHits, filter);
  const indeterminate = tally(result.indeterminate.filter((h) => h.limiter === EXACT.name), filter);
  const crash = spec.crash?.() ?? null;
  const allowance =
    crash === null ? new Map<string, number>() : tally(exactHits, (h) => h.node === crash.node && h.t >= crash.at - CRASH_WINDOW_MS && h.t <= crash.at + 50);
  const checkNodes = members.filter((d) => d.alive);

  // Converge: poll until every member agrees with the truth (within the crash allowance).
  let verdict: Verdict = { ok: false, lost: 0, overcount: 0, detail: 'not polled' };
  let convergenceMs = -1;
  for (let round = 0; round < 10_000; round++) {
    const counts = await cluster.counts(checkNodes, EXACT.name, keys.exact);
    verdict = judge(counts, truth, indeterminate, allowance, keys.exact);
    if (verdict.ok) {
      convergenceMs = Date.now() - convergeFrom;
      break;
    }
    if (Date.now() - convergeFrom > CONVERGE_TIMEOUT_MS) break;
    await sleep(100);
  }
  if (verdict.ok) {
    // Quiet: the counts must stay put.
    await sleep(1_000);
    const again = judge(await cluster.counts(checkNodes, EXACT.name, keys.exact), truth, indeterminate, allowance, keys.exact);
    if (!again.ok) {
      failures.push(`counts moved after convergence: ${again.detail}`);
      verdict = again;
    }
  } else failures.push(`not exact ${CONVERGE_TIMEOUT_MS / 1000} s after heal: ${verdict.detail}`);

  const extra = (await spec.after?.(ctx, result)) ?? {};
  const rss = cluster.takeRssPeak();
  let crashed = 0;
  for (const d of cluster.daemons) {
    const n = d.crashes.length - (crashesBefore.get(d.id) ?? 0);
    if (n > 0) {
      crashed += n;
      failures.push(`${d.id} exited on its own: ${JSON.stringify(d.crashes.at(-1))} (log ${d.logPath})`);
    }
  }
  const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
  if (errors > 0) failures.push(`unexpected answers: ${JSON.stringify(result.errors)}`);
  if (verdict.overcount > 0) failures.push(`double counted: ${verdict.overcount}`);
  const maxRss = Math.max(0, ...Object.values(rss));
  const row: FaultRow = {
    name: spec.name,
    title: spec.title,
    injection: spec.injection,
    faultMs: spec.faultMs,
    sent: result.sent,
    admitted: result.admitted,
    denied: result.denied,
    admittedRatio: Math.round(admittedRatio(result.hits.filter((h) => h.limiter === BOUND.name && filter(h)), BOUND.windowMs, BOUND.limit) * 1000) / 1000,
    limit: BOUND.limit,
    windowMs: BOUND.windowMs,
    offeredRatio: offered(result),
    p50Ms: percentile(result.latencies, 50),
    p99Ms: percentile(result.latencies, 99),
    convergenceMs,
    exact: verdict.ok ? 'yes' : 'no',
    lost: verdict.lost,
    lostAllowance: [...allowance.values()].reduce((a, b) => a + b, 0),
    overcount: verdict.overcount,
    indeterminate: result.indeterminate.length,
    unavailable: result.unavailable,
    errors,
    crashed,
    maxRssMb: Math.round(maxRss / 2 ** 20),
    notes: ctx.notes.join(' '),
    ...extra,
  };
  return { row, failures };
}
