/**
 * A reset during a partition: {n1} | {n2,n3,n4,n5}. A hot key of limiter
 * `exact` takes load on every node; 1 s into the partition it is reset on
 * n1 (the minority) while the majority keeps admitting it; the hot load
 * stops at the heal; then every node's count of the key is held against
 * the load generator's log.
 *
 * The rule the check uses is the design's (design.md, "Resets" and "Exact
 * after heal"): **a reset hides exactly the hits its issuer had observed**.
 * n1 had observed every hit admitted before the cut (give or take the
 * gossip interval before it) and its own hits before the reset; the
 * majority's hits during the partition and n1's after the reset stay
 * visible. The generation rule the daemon followed before issue 10
 * (defect 8) hid the majority's hits too; its prediction is still recorded
 * in the row beside the observed-remove one and what every node counted.
 */
import { EXACT, type FaultContext, type FaultSpec } from './scenario.js';
import { requestJson } from './http.js';
import { LoadGenerator, type Hit, type LoadResult } from './load.js';
import { pollUntil, sleep } from './sh.js';

const NAME = 'reset-partition';
const HOT = `${NAME}:hot`;
const MINORITY = [1];
const MAJORITY = [2, 3, 4, 5];
/** Hot-key requests per second over the five nodes. */
const HOT_RATE = 50;
/** Hits answered this long before the cut may not have reached n1 (a few gossip intervals). */
const IN_FLIGHT_MS = 200;
const RESET_AFTER_MS = 1_000;

/** Where the hits of the hot key fall, by the load generator's clock. */
export interface ResetTimeline {
  cutStart: number;
  cutEnd: number;
  resetSent: number;
  resetDone: number;
}

/** A count range: what a rule lets every node show for the key after the heal. */
export interface CountRange {
  lo: number;
  hi: number;
}

/**
 * What each reset rule lets every node count after the heal, from the log
 * alone. `minority` is the resetting node's id.
 *
 * - observed-remove (design.md): the hits n1 had not observed — the
 *   majority's from the cut on, n1's own after the reset;
 * - generation (docs/window-math.md today): the hits counted by a replica
 *   after it learned of the reset — n1's after the reset (the majority
 *   learns only at the heal, when the hot load has stopped).
 *
 * Hits whose side of an event the log cannot tell (sent before and answered
 * after it, or answered within {@link IN_FLIGHT_MS} before the cut) and
 * requests with unknown outcome widen the upper end.
 */
export function resetTruth(hits: readonly Hit[], unknown: readonly Hit[], minority: string, tl: ResetTimeline): { observedRemove: CountRange; generation: CountRange } {
  const or = { lo: 0, hi: 0 };
  const gen = { lo: 0, hi: 0 };
  for (const h of hits) {
    const sent = h.sent ?? h.t;
    if (h.node === minority) {
      if (sent > tl.resetDone) {
        or.lo++;
        gen.lo++;
      } else if (h.t >= tl.resetSent) {
        or.hi++;
        gen.hi++;
      }
    } else if (sent >= tl.cutEnd) or.lo++;
    else if (h.t >= tl.cutStart - IN_FLIGHT_MS) or.hi++;
  }
  for (const h of unknown) {
    if (h.node === minority ? h.t >= tl.resetSent : h.t >= tl.cutStart - IN_FLIGHT_MS) or.hi++;
    if (h.node === minority && h.t >= tl.resetSent) gen.hi++;
  }
  return { observedRemove: { lo: or.lo, hi: or.lo + or.hi }, generation: { lo: gen.lo, hi: gen.lo + gen.hi } };
}

const within = (v: number, r: CountRange): boolean => v >= r.lo && v <= r.hi;
const fmt = (r: CountRange): string => (r.lo === r.hi ? String(r.lo) : `${r.lo}..${r.hi}`);

/** The reset-during-partition fault. */
export function resetPartitionFault(ctx: FaultContext, seed: number): FaultSpec {
  const n1 = ctx.cluster.byId(`n${MINORITY[0]}`);
  const hot = new LoadGenerator({
    targets: ctx.members.map((d) => ({ id: d.id, url: d.url })),
    ratePerSec: HOT_RATE,
    keys: [{ limiter: EXACT.name, key: HOT, weight: 1 }],
    seed,
  });
  const tl: ResetTimeline = { cutStart: 0, cutEnd: 0, resetSent: 0, resetDone: 0 };
  let result: LoadResult | null = null;
  return {
    name: NAME,
    title: 'reset on n1 during {n1} | {n2,n3,n4,n5}, the majority still admitting the key',
    injection:
      `hot key \`${HOT}\` at ${HOT_RATE} requests/s over all five; \`ip route add prohibit\` between {n1} and {n2..n5}; ` +
      `${RESET_AFTER_MS / 1000} s later \`DELETE /v1/limiters/${EXACT.name}/keys/${HOT}\` on n1; the hot load stops at the heal`,
    faultMs: 6_000,
    setup: async () => hot.start(),
    inject: async (c) => {
      tl.cutStart = Date.now();
      c.testbed.partition(MINORITY, MAJORITY);
      tl.cutEnd = Date.now();
      await sleep(RESET_AFTER_MS);
      tl.resetSent = Date.now();
      const r = await requestJson(`${n1.url}/v1/limiters/${EXACT.name}/keys/${encodeURIComponent(HOT)}`, { method: 'DELETE', timeoutMs: 5_000, agent: n1.agent }).catch(
        (err: unknown) => ({ status: 0, text: String(err) }),
      );
      tl.resetDone = Date.now();
      if (r.status !== 204) c.failures.push(`reset on n1 answered ${r.status} ${r.text.slice(0, 200)}`);
    },
    heal: async (c) => {
      result = await hot.stop();
      c.testbed.heal();
    },
    after: async (c): Promise<Record<string, number>> => {
      if (result === null) return {};
      const { observedRemove, generation } = resetTruth(result.hits, result.indeterminate, n1.id, tl);
      // Settle: every node shows one value, unchanged over a second.
      let counts: Record<string, number | null> = {};
      let previous = '';
      const settled = await pollUntil(
        async () => {
          const all = await c.cluster.counts(c.members, EXACT.name, [HOT]);
          counts = Object.fromEntries(Object.entries(all).map(([id, row]) => [id, row[HOT]]));
          const values = new Set(Object.values(counts));
          // Sorted: counts() fills its record in answer order, which varies from poll to poll.
          const now = JSON.stringify(Object.entries(counts).sort(([x], [y]) => (x < y ? -1 : 1)));
          const stable = values.size === 1 && !values.has(null) && now === previous;
          previous = now;
          return stable ? true : null;
        },
        30_000,
        1_000,
      );
      const side = (pred: (h: Hit) => boolean): number => result!.hits.filter(pred).length;
      const isN1 = (h: Hit): boolean => h.node === n1.id;
      const before = { n1: side((h) => isN1(h) && h.t < tl.cutStart), majority: side((h) => !isN1(h) && h.t < tl.cutStart) };
      const n1BeforeReset = side((h) => isN1(h) && h.t >= tl.cutStart && h.t < tl.resetSent);
      const n1AfterReset = side((h) => isN1(h) && (h.sent ?? h.t) > tl.resetDone);
      const majorityDuring = side((h) => !isN1(h) && (h.sent ?? h.t) >= tl.cutEnd);
      const shown = Object.entries(counts).map(([id, v]) => `${id} ${v ?? 'no answer'}`).join(', ');
      const values = Object.values(counts).filter((v): v is number => v !== null);
      const orOk = settled !== null && values.length === c.members.length && values.every((v) => within(v, observedRemove));
      const genOk = settled !== null && values.length === c.members.length && values.every((v) => within(v, generation));
      c.notes.push(
        `Hot key hits before the cut: n1 ${before.n1}, majority ${before.majority}; during the partition: n1 ${n1BeforeReset} before the reset and ${n1AfterReset} after it, ` +
          `the majority ${majorityDuring}. After the heal${settled === null ? ' (never settled within 30 s)' : ` (settled in ${settled.ms} ms)`}: ${shown}. ` +
          `Observed-remove (design.md) wants ${fmt(observedRemove)}${orOk ? ' (met)' : ' (**not met**)'}; the generation rule (docs/window-math.md) predicts ${fmt(generation)}${genOk ? ' (what happened)' : ''}.`,
      );
      if (!orOk) c.failures.push(`hot key after the heal: ${shown}; a reset must hide only what n1 had observed: want ${fmt(observedRemove)}`);
      return {
        hotN1BeforeCut: before.n1,
        hotMajorityBeforeCut: before.majority,
        hotN1BeforeReset: n1BeforeReset,
        hotN1AfterReset: n1AfterReset,
        hotMajorityDuringPartition: majorityDuring,
        hotCountMin: values.length > 0 ? Math.min(...values) : -1,
        hotCountMax: values.length > 0 ? Math.max(...values) : -1,
        hotObservedRemoveLo: observedRemove.lo,
        hotObservedRemoveHi: observedRemove.hi,
        hotGenerationLo: generation.lo,
        hotGenerationHi: generation.hi,
      };
    },
  };
}
