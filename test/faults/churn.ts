/**
 * The key-churn fault: most keys new. A second load runs beside the usual
 * one: every 100 ms each daemon gets one `POST /v1/consume` batch of
 * {@link NEW_PER_TICK} hits on keys never used before and
 * {@link REPEATS_PER_TICK} hits on keys created in the last second (on any
 * daemon), all on limiter `churn` (a 3 s window), for {@link CHURN_MS} —
 * 500 new keys/s over the five daemons, so most keys expire during the fault.
 *
 * Checked, all against the churn load's own log (send and answer time of
 * every admitted hit):
 * - **held keys**: once a second, each daemon's `/v1/cluster` count of
 *   `churn` keys is at most the keys with a hit within the last
 *   {@link heldLookbackMs} (window, a bucket, the paced sweep's half-window
 *   lap, and timer lag: `docs/operations.md`, Key bound); `keys.total` is
 *   reported beside it;
 * - **exact**: once the newest keys agree everywhere, every key with a hit
 *   that may still be live is read with `?cells=1` on every daemon, and each
 *   bucket still inside the window holds exactly the hits admitted into it
 *   (a hit whose request straddled a bucket boundary may sit in either
 *   bucket; a request with unknown outcome may be counted or not);
 * - **no overflow**: every daemon runs with `--max-keys` {@link MAX_KEYS},
 *   above the held-key bound but below the keys the churn creates, and
 *   `limiters[].overflows` must not move;
 * - RSS, crashes and the usual exact keys: as every fault.
 */
import http from 'node:http';
import type { ClusterView } from './cluster.js';
import type { Daemon } from './daemon.js';
import { getJson, requestJson, RequestFailure } from './http.js';
import { prng } from './load.js';
import type { FaultContext, FaultSpec } from './scenario.js';
import { sleep } from './sh.js';

/** The churned limiter: a 3 s window of 10 buckets (300 ms each), a limit never reached. */
export const CHURN = { name: 'churn', limit: 1_000_000_000, windowMs: 3_000, buckets: 10 };
/** `--limiter` spec of {@link CHURN}. */
export const CHURN_SPEC = `name=${CHURN.name},limit=${CHURN.limit},window=${CHURN.windowMs / 1000}s,buckets=${CHURN.buckets}`;
/**
 * `--max-keys` of every daemon: above what the churn's live keys need on a
 * node (about 2,500 with the sweep's lag), below the 6,000 keys it creates —
 * a node that did not free expired keys would overflow.
 */
export const MAX_KEYS = 4_000;

const BUCKET_MS = CHURN.windowMs / CHURN.buckets;
const TICK_MS = 100;
/** New keys per daemon per tick: 5 daemons × 10 × 10 ticks/s = 500 new keys/s. */
const NEW_PER_TICK = 10;
/** Hits on recent keys per daemon per tick (a key counted on one node, hit again on another). */
const REPEATS_PER_TICK = 3;
const REPEAT_WITHIN_MS = 1_000;
/** How long the churn load runs. */
const CHURN_MS = 12_000;
/** The newest keys must agree on every daemon this soon after the churn stops (they stay fully inside the window about 2.7 s). */
const SETTLE_MS = 2_000;
/** Timer lag the held-key bound allows beyond the documented sweep lap. */
const TIMER_LAG_MS = 500;

/**
 * How far back a key's last hit may lie while a daemon still holds it: it
 * leaves the window at most `W + g` after its last hit, and the paced sweep
 * passes every slot twice per window, so it is freed within `W / 2` more.
 */
export const heldLookbackMs = (): number => CHURN.windowMs + BUCKET_MS + CHURN.windowMs / 2 + TIMER_LAG_MS;

/** One key's log: every admitted hit and every request with unknown outcome, as [sent, answered] ms. */
interface KeyLog {
  firstSent: number;
  lastAnswered: number;
  hits: Array<[number, number]>;
  unknown: Array<[number, number]>;
}

/** A held-keys sample of one daemon. */
interface HeldSample {
  node: string;
  held: number;
  total: number;
  /** Keys with a hit in the last W + g (the load's live keys). */
  live: number;
  /** Keys with a hit within {@link heldLookbackMs}: the bound. */
  bound: number;
}

/** The churn load: batches of mostly-new keys to every daemon, logged per key. */
class ChurnLoad {
  readonly keys = new Map<string, KeyLog>();
  readonly #recent: Array<{ key: string; at: number }> = [];
  readonly #random: () => number;
  readonly #prefix: string;
  #seq = 0;
  #running = false;
  #workers: Promise<void>[] = [];
  #agents: http.Agent[] = [];
  hits = 0;
  denied = 0;
  errors: Record<string, number> = {};

  constructor(prefix: string, seed: number) {
    this.#prefix = prefix;
    this.#random = prng(seed);
  }

  start(targets: Daemon[]): void {
    this.#running = true;
    for (const d of targets) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
      this.#agents.push(agent);
      this.#workers.push(this.#worker(d, agent));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
    for (const a of this.#agents) a.destroy();
  }

  #error(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  async #worker(d: Daemon, agent: http.Agent): Promise<void> {
    let next = Date.now();
    // Bounded: one batch per tick for as long as the run lasts; no catch-up burst after a stall.
    for (let i = 0; this.#running && i < 1_000_000; i++) {
      const now = Date.now();
      const slot = Math.max(next, now);
      next = slot + TICK_MS;
      if (slot > now) await sleep(slot - now);
      if (!this.#running) return;
      await this.#batch(d, agent);
    }
  }

  async #batch(d: Daemon, agent: http.Agent): Promise<void> {
    const t0 = Date.now();
    while (this.#recent.length > 0 && this.#recent[0].at < t0 - REPEAT_WITHIN_MS) this.#recent.shift();
    const keys: string[] = [];
    for (let i = 0; i < REPEATS_PER_TICK && this.#recent.length > 0; i++) {
      keys.push(this.#recent[Math.floor(this.#random() * this.#recent.length)].key);
    }
    for (let i = 0; i < NEW_PER_TICK; i++) {
      const key = `${this.#prefix}:k${this.#seq++}`;
      keys.push(key);
      this.#recent.push({ key, at: t0 });
    }
    const log = (key: string): KeyLog => {
      let l = this.keys.get(key);
      if (l === undefined) this.keys.set(key, (l = { firstSent: t0, lastAnswered: 0, hits: [], unknown: [] }));
      return l;
    };
    try {
      const res = await requestJson(`${d.url}/v1/consume`, {
        method: 'POST',
        body: { requests: keys.map((key) => ({ limiter: CHURN.name, key })) },
        agent,
        timeoutMs: 10_000,
      });
      const t = Date.now();
      const results = (res.body as { results?: Array<{ allowed?: unknown }> } | null)?.results;
      if (res.status !== 200 || !Array.isArray(results) || results.length !== keys.length) {
        this.#error(`http ${res.status}`);
        return;
      }
      results.forEach((r, i) => {
        if (r.allowed === true) {
          const l = log(keys[i]);
          l.hits.push([t0, t]);
          l.lastAnswered = Math.max(l.lastAnswered, t);
          this.hits++;
        } else if (r.allowed === false) this.denied++;
        else this.#error('malformed result');
      });
    } catch (err) {
      if (err instanceof RequestFailure && err.kind === 'refused') {
        this.#error('refused');
        return;
      }
      const t = Date.now();
      for (const key of keys) {
        const l = log(key);
        l.unknown.push([t0, t]);
        l.lastAnswered = Math.max(l.lastAnswered, t);
      }
    }
  }

  /** Keys first sent by `until` with a hit answered after `since`. */
  keysActive(since: number, until: number): string[] {
    const out: string[] = [];
    for (const [key, l] of this.keys) if (l.firstSent <= until && l.lastAnswered > since) out.push(key);
    return out;
  }
}

const bucketOf = (t: number): number => Math.floor(t / BUCKET_MS);

/**
 * Holds one daemon's cells of `key` (read at `readAt`, when the answer came)
 * against the log: every bucket that may still be live must hold exactly the
 * hits admitted into it. Returns what is wrong, or null.
 */
export function judgeCells(
  log: { hits: ReadonlyArray<readonly [number, number]>; unknown: ReadonlyArray<readonly [number, number]> },
  cells: ReadonlyArray<{ bucket: number; count: number }>,
  readAt: number,
): string | null {
  const certain = new Map<number, number>();
  const maybe = new Map<number, number>();
  const add = (m: Map<number, number>, b: number): void => void m.set(b, (m.get(b) ?? 0) + 1);
  let ambiguous = 0;
  for (const [sent, answered] of log.hits) {
    const lo = bucketOf(sent);
    const hi = bucketOf(answered);
    if (lo === hi) add(certain, lo);
    else {
      ambiguous++;
      for (let b = lo; b <= hi; b++) add(maybe, b);
    }
  }
  for (const [sent, answered] of log.unknown) for (let b = bucketOf(sent); b <= bucketOf(answered); b++) add(maybe, b);
  const got = new Map<number, number>();
  for (const c of cells) got.set(c.bucket, (got.get(c.bucket) ?? 0) + c.count);
  // Live at the daemon even when it answered last (one bucket of margin for its hybrid clock).
  const required = bucketOf(readAt) - CHURN.buckets + 1;
  const buckets = new Set([...certain.keys(), ...maybe.keys(), ...got.keys()]);
  const wrong: string[] = [];
  for (const b of buckets) {
    const have = got.get(b);
    if (have === undefined && b < required) continue; // may have left the window
    const lo = certain.get(b) ?? 0;
    const hi = lo + (maybe.get(b) ?? 0);
    if ((have ?? 0) < lo || (have ?? 0) > hi) wrong.push(`bucket ${b}: ${have ?? 0} (want ${lo === hi ? lo : `${lo}..${hi}`})`);
  }
  // Every bucket still required: the straddling hits must be counted once in all.
  if (wrong.length === 0 && log.unknown.length === 0 && [...buckets].every((b) => b >= required)) {
    const total = [...got.values()].reduce((a, n) => a + n, 0);
    if (total !== log.hits.length) wrong.push(`total ${total} (want ${log.hits.length}, ${ambiguous} straddling a bucket boundary)`);
  }
  return wrong.length === 0 ? null : wrong.join(', ');
}

/** Reads `key`'s cells on `d`; null on no answer. */
async function readCells(d: Daemon, key: string): Promise<{ cells: Array<{ bucket: number; count: number }>; at: number } | null> {
  const body = await getJson<{ cells?: Array<{ bucket: number; count: number }> }>(
    `${d.url}/v1/limiters/${CHURN.name}/keys/${encodeURIComponent(key)}?cells=1`,
    5_000,
    d.agent,
  );
  const at = Date.now();
  return body === null || !Array.isArray(body.cells) ? null : { cells: body.cells, at };
}

/** Checks `keys` on `d`, a few requests at a time; returns the mismatches. */
async function checkKeys(d: Daemon, keys: readonly string[], load: ChurnLoad): Promise<string[]> {
  const wrong: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++];
      const read = await readCells(d, key);
      if (read === null) {
        wrong.push(`${d.id}:${key} no answer`);
        continue;
      }
      const verdict = judgeCells(load.keys.get(key)!, read.cells, read.at);
      if (verdict !== null) wrong.push(`${d.id}:${key} ${verdict}`);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return wrong;
}

const churnOf = (v: ClusterView | null): { held: number; overflows: number; total: number } | null => {
  const l = v?.limiters?.find((x) => x.name === CHURN.name);
  if (v === null || l === undefined) return null;
  const overflows = (v.limiters ?? []).reduce((n, x) => n + (x.overflows ?? 0), 0);
  return { held: l.keys, overflows, total: v.keys?.total ?? NaN };
};

/** The key-churn fault. `seed` seeds the choice of repeated keys. */
export function churnFault(seed: number): FaultSpec {
  const name = 'key-churn';
  const load = new ChurnLoad(name, seed);
  const samples: HeldSample[] = [];
  const figures: Record<string, number> = {};
  return {
    name,
    title: `key churn: ${(NEW_PER_TICK * 1000) / TICK_MS} new keys/s per daemon, ${CHURN.windowMs / 1000} s window`,
    injection:
      `a second load beside the usual one: every ${TICK_MS} ms each daemon gets one \`POST /v1/consume\` batch of ${NEW_PER_TICK} never-used keys and ` +
      `${REPEATS_PER_TICK} keys created in the last ${REPEAT_WITHIN_MS / 1000} s, limiter \`${CHURN.name}\` (window ${CHURN.windowMs / 1000} s, ${CHURN.buckets} buckets), ` +
      `for ${CHURN_MS / 1000} s; every daemon runs with \`--max-keys ${MAX_KEYS}\``,
    faultMs: CHURN_MS,
    inject: async () => {},
    during: async (c: FaultContext) => {
      const before = new Map<string, number>();
      for (const d of c.members) {
        const s = churnOf(await c.cluster.view(d));
        if (s === null) c.failures.push(`${d.id} /v1/cluster has no limiter ${CHURN.name}`);
        else before.set(d.id, s.overflows);
      }
      const started = Date.now();
      load.start(c.members);
      // Held keys against the load's live keys, once a second per daemon.
      while (Date.now() - started < CHURN_MS) {
        await sleep(1_000);
        for (const d of c.members) {
          const asked = Date.now();
          const s = churnOf(await c.cluster.view(d));
          const answered = Date.now();
          if (s === null) continue;
          const live = load.keysActive(asked - CHURN.windowMs - BUCKET_MS, answered).length;
          const bound = load.keysActive(asked - heldLookbackMs(), answered).length;
          samples.push({ node: d.id, held: s.held, total: s.total, live, bound });
        }
      }
      await load.stop();
      const stopped = Date.now();

      // The newest keys first: once they agree everywhere, everything older does.
      const newest = [...load.keys.keys()].slice(-50);
      let settled = -1;
      let lastWrong: string[] = [];
      for (let round = 0; round < 1_000 && Date.now() - stopped < SETTLE_MS; round++) {
        lastWrong = (await Promise.all(c.members.map((d) => checkKeys(d, newest, load)))).flat();
        if (lastWrong.length === 0) {
          settled = Date.now() - stopped;
          break;
        }
        await sleep(50);
      }
      if (settled < 0) c.failures.push(`the newest churn keys did not agree within ${SETTLE_MS} ms: ${lastWrong.slice(0, 4).join('; ')}`);
      // Then every key that may still be live, once, on every daemon.
      const checkStart = Date.now();
      const live = load.keysActive(checkStart - CHURN.windowMs - 2 * BUCKET_MS, checkStart);
      const wrong = (await Promise.all(c.members.map((d) => checkKeys(d, live, load)))).flat();
      const checkMs = Date.now() - checkStart;
      if (wrong.length > 0) c.failures.push(`${wrong.length} churn key reads not exact: ${wrong.slice(0, 6).join('; ')}`);

      let overflows = 0;
      for (const d of c.members) {
        const s = churnOf(await c.cluster.view(d));
        if (s !== null) overflows += s.overflows - (before.get(d.id) ?? s.overflows);
      }
      if (overflows > 0) c.failures.push(`${overflows} overflows during key churn (maxKeys ${MAX_KEYS})`);
      const errors = Object.values(load.errors).reduce((a, n) => a + n, 0);
      if (errors > 0) c.failures.push(`churn load: unexpected answers ${JSON.stringify(load.errors)}`);
      if (load.denied > 0) c.failures.push(`churn load: ${load.denied} denials under a limit never reached`);

      const over = samples.filter((s) => s.held > s.bound);
      for (const s of over.slice(0, 4)) c.failures.push(`${s.node} held ${s.held} ${CHURN.name} keys, above the ${s.bound} with a hit in the last ${heldLookbackMs()} ms`);
      const steady = samples.filter((s) => s.live > 0);
      const maxHeld = Math.max(0, ...samples.map((s) => s.held));
      const maxRatio = Math.max(0, ...steady.map((s) => s.held / s.live));
      const maxLive = Math.max(0, ...samples.map((s) => s.live));
      const maxTotal = Math.max(0, ...samples.map((s) => s.total));
      Object.assign(figures, {
        churnKeys: load.keys.size,
        churnHits: load.hits,
        churnMaxLiveKeys: maxLive,
        churnMaxHeldKeys: maxHeld,
        churnMaxHeldOverLive: Math.round(maxRatio * 100) / 100,
        churnMaxKeysTotal: maxTotal,
        churnCheckedKeys: live.length,
        churnSettleMs: settled,
        churnOverflows: overflows,
      });
      c.notes.push(
        `${load.keys.size} churn keys, ${load.hits} hits; held \`${CHURN.name}\` keys per daemon (sampled ${samples.length} times) at most ${maxHeld} ` +
          `against at most ${maxLive} live (a hit in the last ${(CHURN.windowMs + BUCKET_MS) / 1000} s), held/live at most ${maxRatio.toFixed(2)}, ` +
          `never above the keys with a hit in the last ${heldLookbackMs() / 1000} s${over.length > 0 ? ` (**${over.length} samples above**)` : ''}; ` +
          `keys.total at most ${maxTotal} of maxKeys ${MAX_KEYS}; ${overflows} overflows. ` +
          `The newest keys agreed everywhere ${settled < 0 ? 'never' : `${settled} ms`} after the churn stopped; then ${live.length} keys still live, read with \`?cells=1\` on all five daemons in ${checkMs} ms: ` +
          `${wrong.length === 0 ? 'every live bucket exact' : `${wrong.length} mismatches`}.`,
      );
    },
    heal: async () => {},
    after: async () => figures,
  };
}
