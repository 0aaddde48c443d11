/**
 * Clock-skew faults: a daemon restarted (gracefully) under libfaketime, its
 * wall clock then moved ahead by writing the timestamp file libfaketime
 * re-reads every second, and healed the same way. Timers run on the
 * monotonic clock, which libfaketime leaves alone here.
 *
 * - +200 ms, inside `maxClockOffsetMs` (500): windows stay aligned, frames
 *   are accepted, counts stay exact.
 * - +5 s, beyond it: peers refuse its frames and must say so in /v1/cluster
 *   (state `skewed`, `rejected['clock-skew']`); then, once it has read a peer
 *   frame at its new clock, the skewed node must blame its own clock
 *   (`node.clockProblem`, and `/readyz` 503 with that reason) while no other
 *   node blames its own; once its clock is healed and its hybrid clock's lead
 *   has run out, its hits must reach everyone and it is ready again.
 */
import { requestJson } from './http.js';
import type { Daemon } from './daemon.js';
import type { FaultContext, FaultSpec } from './scenario.js';
import { pollUntil, sleep } from './sh.js';

/** Restarts `d` with SIGTERM (which must exit 0) under libfaketime at offset +0. */
async function restartUnderFaketime(ctx: FaultContext, d: Daemon): Promise<void> {
  const exit = await d.stop();
  if (exit.code !== 0) ctx.failures.push(`${d.id} exited with ${JSON.stringify(exit)} on SIGTERM (want code 0)`);
  await d.start({ clock: '+0' });
  await ctx.cluster.waitHealthy(ctx.members, 30_000);
}

/** The peers' view of `d`: state, offset and clock-skew rejections, as `n1: skewed +5002 ms (17 rejected)`. */
async function peersOf(ctx: FaultContext, d: Daemon): Promise<Array<{ by: string; state: string; offset: number; rejected: number }>> {
  const out = [];
  for (const other of ctx.members) {
    if (other === d) continue;
    const view = await ctx.cluster.view(other);
    const p = view?.peers.find((x) => x.nodeId === d.id);
    if (p !== undefined) {
      out.push({ by: other.id, state: p.state, offset: p.clockOffsetMs ?? NaN, rejected: p.rejected?.['clock-skew'] ?? 0 });
    }
  }
  return out;
}

const fmtPeers = (ps: Array<{ by: string; state: string; offset: number; rejected: number }>): string =>
  ps.map((p) => `${p.by}: ${p.state} ${p.offset >= 0 ? '+' : ''}${Math.round(p.offset)} ms${p.rejected > 0 ? ` (${p.rejected} clock-skew rejections)` : ''}`).join('; ');

/** How long after the peers saw the step n3 may take to blame its own clock: it needs a peer frame read at its new clock. */
const CLOCK_PROBLEM_WITHIN_MS = 8_000;

/** What the cluster says about the skewed node's clock; `problems` is empty when it is all as it should be. */
interface ClockVerdict {
  own: string | null;
  ready: string;
  problems: string[];
}

/** Numbers of ms vary between two reads of the same condition. */
const sameReason = (a: string, b: string): boolean => a.replace(/-?\d+ ms/g, 'N ms') === b.replace(/-?\d+ ms/g, 'N ms');

/**
 * Reads the skewed node's `/v1/cluster` and `/readyz` and every other
 * member's `/v1/cluster`: `d` must report a clock problem and fail its
 * readiness probe with that reason; the others must report none of their own
 * and see `d` as `skewed`.
 */
async function clockVerdict(ctx: FaultContext, d: Daemon): Promise<ClockVerdict> {
  const problems: string[] = [];
  const view = await ctx.cluster.view(d);
  const own = view?.node?.clockProblem ?? null;
  if (view === null) problems.push(`${d.id} /v1/cluster did not answer`);
  else if (typeof own !== 'string') problems.push(`${d.id} node.clockProblem is ${JSON.stringify(own)}`);
  const r = await requestJson(`${d.url}/readyz`, { timeoutMs: 2_000, agent: d.agent }).catch(() => null);
  const body = r?.body as { ready?: unknown; reason?: unknown } | null | undefined;
  const ready = r === null ? 'no answer' : `${r.status} ${r.text.slice(0, 240)}`;
  if (r === null || r.status !== 503 || body?.ready !== false) problems.push(`${d.id} /readyz answered ${ready}`);
  else if (typeof own === 'string' && (typeof body.reason !== 'string' || !sameReason(body.reason, own))) {
    problems.push(`${d.id} /readyz reason ${JSON.stringify(body.reason)} is not its clock problem`);
  }
  for (const other of ctx.members) {
    if (other === d) continue;
    const v = await ctx.cluster.view(other);
    if (v === null) {
      problems.push(`${other.id} /v1/cluster did not answer`);
      continue;
    }
    if (v.node?.clockProblem !== null) problems.push(`${other.id} blames its own clock: ${JSON.stringify(v.node?.clockProblem)}`);
    const p = v.peers.find((x) => x.nodeId === d.id);
    if (p?.state !== 'skewed') problems.push(`${other.id} sees ${d.id} as ${p?.state ?? 'unknown'}`);
  }
  return { own, ready, problems };
}

/** The two skew faults, as test names and specs. */
export function skewFaults(): Array<{ test: string; fault: (ctx: FaultContext) => FaultSpec }> {
  return [
    {
      test: 'keeps counts exact with one daemon 200 ms ahead (libfaketime)',
      fault: (ctx) => {
        const d = ctx.cluster.byId('n2');
        return {
          name: 'skew-200ms',
          title: 'n2 clock +200 ms (within maxClockOffset 500 ms)',
          injection: 'n2 restarted (SIGTERM, exit 0) under libfaketime (`LD_PRELOAD=libfaketime.so.1 FAKETIME_TIMESTAMP_FILE=…`), then the file set to `+0.2`; healed by setting it to `+0`',
          faultMs: 6_000,
          setup: () => restartUnderFaketime(ctx, d),
          inject: async () => {
            d.setClock('+0.2');
            await sleep(1_500); // libfaketime re-reads the file every second
          },
          during: async (c) => {
            await sleep(2_000);
            const ps = await peersOf(c, d);
            c.notes.push(`Peers saw n2: ${fmtPeers(ps)}.`);
            const skewed = ps.filter((p) => p.state === 'skewed' || p.rejected > 0);
            if (skewed.length > 0) c.failures.push(`a 200 ms skew must be tolerated, but ${fmtPeers(skewed)}`);
          },
          heal: async () => d.setClock('+0'),
        };
      },
    },
    {
      test: 'refuses a daemon 5 s ahead, says so in /v1/cluster (peers: skewed; itself: clockProblem, /readyz 503), and counts its hits once its clock is healed',
      fault: (ctx) => {
        const d = ctx.cluster.byId('n3');
        return {
          name: 'skew-5s',
          title: 'n3 clock +5 s (beyond maxClockOffset), then healed',
          injection: 'n3 restarted (SIGTERM, exit 0) under libfaketime, then its timestamp file set to `+5`; healed by setting it back to `+0` (its hybrid clock keeps its lead until real time catches up)',
          faultMs: 8_000,
          setup: () => restartUnderFaketime(ctx, d),
          inject: async () => d.setClock('+5'),
          during: async (c) => {
            // Peers must notice within the fault: refused frames, state `skewed`.
            const seen = await pollUntil(
              async () => {
                const ps = await peersOf(c, d);
                return ps.length > 0 && ps.every((p) => p.state === 'skewed' || p.rejected > 0) ? ps : null;
              },
              6_000,
              250,
            );
            if (seen === null) {
              c.failures.push(`peers did not report n3 as skewed within 6 s: ${fmtPeers(await peersOf(c, d))}`);
              return;
            }
            c.notes.push(`Peers reported n3 ${seen.ms} ms after the step: ${fmtPeers(seen.value)}.`);
            // Later, once n3 has heard a peer frame at its new clock: n3 blames its own clock
            // (/v1/cluster node.clockProblem, and /readyz 503 with that reason); the others blame n3, not themselves.
            let last = null as ClockVerdict | null; // assigned in the probe
            const blamed = await pollUntil(
              async () => {
                last = await clockVerdict(c, d);
                return last.problems.length === 0 ? last : null;
              },
              CLOCK_PROBLEM_WITHIN_MS,
              250,
            );
            if (blamed === null) {
              c.failures.push(`${CLOCK_PROBLEM_WITHIN_MS / 1000} s after the peers saw it, n3's clock problem was not reported as it should be: ${last?.problems.join('; ') ?? 'not polled'}`);
              c.notes.push(`n3's own /v1/cluster clockProblem: ${JSON.stringify(last?.own ?? null)}; /readyz: ${last?.ready ?? 'no answer'}.`);
              return;
            }
            c.notes.push(
              `${seen.ms + blamed.ms} ms after the step n3 reported \`node.clockProblem\` "${blamed.value.own}" in /v1/cluster and /readyz answered ${blamed.value.ready}; ` +
                `n1, n2, n4 and n5 reported no clock problem of their own and n3 as skewed.`,
            );
          },
          heal: async () => d.setClock('+0'),
          after: async (c) => {
            const ps = await peersOf(c, d);
            c.notes.push(`After heal: ${fmtPeers(ps)}.`);
            // Healed: n3 no longer blames its clock, and is ready again.
            const own = await c.cluster.view(d);
            if (own?.node?.clockProblem !== null) c.failures.push(`n3 still reports a clock problem after the heal: ${JSON.stringify(own?.node?.clockProblem)}`);
            const ready = await requestJson(`${d.url}/readyz`, { timeoutMs: 2_000, agent: d.agent }).catch(() => null);
            if (ready?.status !== 200) c.failures.push(`n3 /readyz after the heal: ${ready === null ? 'no answer' : `${ready.status} ${ready.text.slice(0, 200)}`}`);
            return {};
          },
        };
      },
    },
  ];
}
