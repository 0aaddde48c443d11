/**
 * Clock-skew faults: a daemon restarted (gracefully) under libfaketime, its
 * wall clock then moved ahead by writing the timestamp file libfaketime
 * re-reads every second, and healed the same way. Timers run on the
 * monotonic clock, which libfaketime leaves alone here.
 *
 * - +200 ms, inside `maxClockOffsetMs` (500): windows stay aligned, frames
 *   are accepted, counts stay exact.
 * - +5 s, beyond it: peers refuse its frames and must say so in /v1/cluster
 *   (state `skewed`, `rejected['clock-skew']`); once its clock is healed and
 *   its hybrid clock's lead has run out, its hits must reach everyone.
 */
import { getJson, requestJson } from './http.js';
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
      test: 'refuses a daemon 5 s ahead, says so in /v1/cluster, and counts its hits once its clock is healed',
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
            const ready = await requestJson(`${d.url}/readyz`, { timeoutMs: 2_000, agent: d.agent }).catch(() => null);
            c.notes.push(`n3's own /readyz: ${ready === null ? 'no answer' : `${ready.status} ${JSON.stringify(ready.body).slice(0, 200)}`}.`);
            const own = await getJson<{ node?: unknown }>(`${d.url}/v1/cluster`, 2_000, d.agent);
            if (own === null) c.failures.push('n3 /v1/cluster did not answer while skewed');
          },
          heal: async () => d.setClock('+0'),
          after: async (c) => {
            const ps = await peersOf(c, d);
            c.notes.push(`After heal: ${fmtPeers(ps)}.`);
            return {};
          },
        };
      },
    },
  ];
}
