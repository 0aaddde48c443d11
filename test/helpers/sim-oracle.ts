/**
 * The simulator's oracle, kept in test/ and apart from the code under test.
 * What every node must hold is computed from the load generator's own log —
 * each admitted hit's virtual time, cost and admitting node, each reset,
 * limit change, crash and leave — and the documented window formula
 * (docs/window-math.md): a hit admitted at virtual time `t` on a node whose
 * clock runs `o` ms ahead lands in bucket `floor((t + o)·B / W)` of that
 * node's HLC wall time, which may lead its own clock by what it adopted from
 * faster peers (at most the fastest clock's lead, and never more than `2δ`).
 * So each hit has a bucket range [lo, hi], exact when clocks agree, and the
 * oracle never reads a bucket id, generation or count from the system under
 * test to decide what is true: it checks what the nodes hold against those
 * ranges, by cumulative sums (hits surely in buckets ≥ b, possibly in
 * buckets ≥ b, and the same for ≤ b).
 *
 * Where the rules leave a real choice the oracle accepts every outcome and
 * says which:
 * - a hit's bucket within its range (clock offset plus the HLC's lead);
 * - a reset hides what its issuer had observed: its own hits, all of them;
 *   another replica's, anything from none to what that replica had admitted
 *   by then (hits in flight may or may not have arrived). The floors a reset
 *   set are read from the issuer when it is issued and checked against the
 *   log at once; later, no node holds a floor above the highest recorded;
 * - a crash loses what no survivor had received: for an incarnation that
 *   ended, a node must keep at least what the survivors held when it ended
 *   (a check that nothing received is lost later), never more than it
 *   admitted;
 * - a node whose clock is past the bound (see `src/sim/honest-clocks.ts`) is
 *   refused by its peers: it must never over-count, but nobody owes it, or
 *   it anybody, convergence;
 * - concurrent limit changes: the nodes must agree on one of the values
 *   issued, and on the latest when it is later than every other by more than
 *   the clocks' spread.
 *
 * Checked at every few steps, not only at the end:
 * - no cell above the log's range, no floor above its count or above any
 *   recorded reset's;
 * - held keys per node ≤ keys asked for within the window, half a window
 *   (the paced sweep's lap), two buckets and the clocks' spread, plus 2;
 * - replica ids a node holds ≤ incarnations started.
 * At the end: every node with an accepted clock holds exactly, per replica
 * still running, the hits the log places in its surely-live buckets; the
 * limit agreed; and the probe: a node that has heard everything, asked for
 * twice the limit at once, admits exactly up to it (under `partition:
 * 'share'` with a cut still open, at most up to it: it admits its share).
 * Under `partition: 'share'`, also the stated partition bound on every
 * window, from the log alone (`sim-share-bound.ts`).
 */
import { bucketOf } from '../../crdt/window-math.js';
import type { SimulationReport, SimulationView, TruthHit } from '../../src/sim/index.js';
import { checkShareBound, tallyShareBound, type ShareBoundFigures } from './sim-share-bound.js';

/** Steps between two rounds of the running checks; each round takes one of {@link KEY_GROUPS} groups of keys. */
const CHECK_EVERY = 4;
const KEY_GROUPS = 8;
/** Held keys a node may keep beyond the live ones (the probe key, one being swept). */
const HELD_SLACK = 2;

interface Range {
  lo: number;
  hi: number;
  cost: number;
}

interface Cell {
  bucket: number;
  count: number;
  floor: number;
}

/** Checks one seeded run; pass {@link SimOracle.inspect} to `runSimulation` and read {@link SimOracle.verdict}. */
export class SimOracle {
  #problems: string[] = [];
  #exact: boolean | null = null;
  #overCounted = false;
  #steps = 0;
  #resetsChecked = 0;
  /** Ended replica → survivor replica → key → bucket → count the survivor held when the replica ended. */
  #survived = new Map<string, Map<string, Map<string, Map<number, number>>>>();
  /** Figures for reports: held keys over live keys at worst. */
  heldRatio = 0;
  /** Under `partition: 'share'`: what the share bound's check covered (test/helpers/sim-share-bound.ts). */
  shareBound: ShareBoundFigures | null = null;
  /** Under `partition: 'share'`: the share bound's problems (also among the verdict's). */
  shareBoundProblems: string[] = [];

  /** The `inspect` hook of `runSimulation`. */
  readonly inspect = (view: SimulationView): void => {
    if (view.phase === 'ending') {
      this.#snapshotSurvivors(view);
      return;
    }
    this.#checkResets(view);
    const round = ++this.#steps;
    if (view.phase === 'end' || round % CHECK_EVERY === 0) {
      const group = view.phase === 'end' ? -1 : (round / CHECK_EVERY) % KEY_GROUPS;
      this.#checkNoOverCount(view, group);
      this.#checkHeldKeys(view);
    }
    if (view.phase === 'end') {
      this.#checkExact(view);
      const limit = this.#checkLimits(view);
      if (limit !== null) this.#checkProbe(view, limit);
      if (view.partition === 'share') this.#checkShareBound(view);
    }
  };

  /** Every problem found, the report's own figures checked against the oracle's; empty when the run held. */
  verdict(report: SimulationReport): string[] {
    const out = [...this.#problems];
    if (this.#exact === null) out.push('the oracle never saw the end of the run');
    else if (report.exact && !this.#exact) out.push(`the report says exact=true, the oracle found exact=false`);
    if (report.overCounted && !this.#overCounted) out.push('the report says over-counted, the oracle found no cell above the truth');
    if (!report.hlcMonotonic) out.push('an HLC went backwards');
    return out;
  }

  /** Checks that failed already: each reports its first failure only. */
  #failed = new Set<string>();

  #fail(problem: string, check?: string): void {
    if (check !== undefined) {
      if (this.#failed.has(check)) return;
      this.#failed.add(check);
    }
    if (this.#problems.length < 8) this.#problems.push(problem);
  }

  /** Bucket range of each hit of `hits` (all one node's), from its virtual time and the node's offset. */
  #ranges(view: SimulationView, hits: readonly TruthHit[]): Range[] {
    const out: Range[] = new Array(hits.length);
    for (let i = 0; i < hits.length; i++) {
      const h = hits[i];
      const [lo, hi] = this.#timeRange(view, h.node, h.at);
      out[i] = { lo: bucketOf(lo, view.windowMs, view.buckets), hi: bucketOf(hi, view.windowMs, view.buckets), cost: h.cost };
    }
    return out;
  }

  /** Bucket time of `node` at virtual time `at`: its own clock, up to what it may have adopted (the fastest clock, at most 2δ ahead) and one borrow. */
  #timeRange(view: SimulationView, node: string, at: number): [number, number] {
    const own = view.offsetsMs.get(node) ?? 0;
    let fastest = own;
    for (const o of view.offsetsMs.values()) if (o > fastest) fastest = o;
    return [at + own, at + own + Math.min(fastest - own, 2 * view.maxClockOffsetMs) + 1];
  }

  /** The lowest bucket surely inside `node`'s window now (later buckets cannot have expired there). */
  #surelyLive(view: SimulationView, node: string): number {
    return bucketOf(this.#timeRange(view, node, view.nowMs)[1], view.windowMs, view.buckets) - view.buckets + 1;
  }

  /**
   * `cells` (one replica's, on one node) against the log's `ranges` of that
   * replica: never more in buckets ≥ b than hits possibly there, nor in
   * buckets ≤ b; with `sureFrom`, at least the hits surely in buckets ≥ b for
   * every b from there. Returns what is wrong, or null.
   */
  #compare(cells: Cell[], ranges: Range[], sureFrom: number | null): string | null {
    cells.sort((x, y) => x.bucket - y.bucket);
    // Suffixes: cells ≥ b against hits with hi ≥ b (ranges are sorted by lo and by hi: one node's clock).
    let held = 0;
    let possible = 0;
    let j = ranges.length - 1;
    for (let i = cells.length - 1; i >= 0; i--) {
      held += cells[i].count;
      for (; j >= 0 && ranges[j].hi >= cells[i].bucket; j--) possible += ranges[j].cost;
      if (held > possible) return `holds ${held} in buckets ≥ ${cells[i].bucket}; the log has ${possible} possibly there`;
    }
    held = 0;
    possible = 0;
    j = 0;
    for (let i = 0; i < cells.length; i++) {
      held += cells[i].count;
      for (; j < ranges.length && ranges[j].lo <= cells[i].bucket; j++) possible += ranges[j].cost;
      if (held > possible) return `holds ${held} in buckets ≤ ${cells[i].bucket}; the log has ${possible} possibly there`;
    }
    if (sureFrom === null) return null;
    // Lower bound: at each threshold b ≥ sureFrom, cells ≥ b hold at least the hits surely ≥ b.
    let sure = 0;
    held = 0;
    let c = cells.length - 1;
    for (let k = ranges.length - 1; k >= 0 && ranges[k].lo >= sureFrom; k--) {
      sure += ranges[k].cost;
      const b = ranges[k].lo;
      if (k > 0 && ranges[k - 1].lo === b) continue;
      for (; c >= 0 && cells[c].bucket >= b; c--) held += cells[c].count;
      if (held < sure) return `holds ${held} in buckets ≥ ${b}; the log has ${sure} surely there`;
    }
    return null;
  }

  #cellsBy(view: SimulationView, node: SimulationView['nodes'][number], key: string): Map<string, Cell[]> {
    const out = new Map<string, Cell[]>();
    for (const c of node.limiter.replica.cellsOf(key)) {
      let list = out.get(c.replica);
      if (list === undefined) out.set(c.replica, (list = []));
      list.push({ bucket: c.bucket, count: c.count, floor: c.floor });
    }
    return out;
  }

  /** Each new reset's floors against the log: all of the issuer's own live hits, never more than any replica admitted. */
  #checkResets(view: SimulationView): void {
    const resets = view.truth.resets();
    for (; this.#resetsChecked < resets.length; this.#resetsChecked++) {
      const r = resets[this.#resetsChecked];
      const issuerNode = r.issuer.split('#')[0];
      const byReplica = new Map<string, Cell[]>();
      for (const f of r.floors) {
        let list = byReplica.get(f.replica);
        if (list === undefined) byReplica.set(f.replica, (list = []));
        list.push({ bucket: f.bucket, count: f.floor, floor: 0 });
      }
      const replicas = new Set([...byReplica.keys(), r.issuer]);
      for (const replica of replicas) {
        const hits = view.truth.hitsOf(r.key, replica).filter((h) => h.at <= r.at);
        const own = replica === r.issuer;
        // The issuer observed every hit of its own: its floors cover all of them still live there.
        const sureFrom = own ? bucketOf(this.#timeRange(view, issuerNode, r.at)[1], view.windowMs, view.buckets) - view.buckets + 1 : null;
        const wrong = this.#compare(byReplica.get(replica) ?? [], this.#ranges(view, hits), sureFrom);
        if (wrong !== null) this.#fail(`a reset of ${r.key} by ${r.issuer} at ${r.at} set floors on ${replica} that ${wrong}`);
      }
    }
  }

  /** Held cells never above the log's range; floors never above count or the highest recorded. `group` −1: every key. */
  #checkNoOverCount(view: SimulationView, group: number): void {
    if (this.#overCounted) return;
    for (const n of view.nodes) {
      for (let i = 0; i < view.keys.length; i++) {
        if (group >= 0 && i % KEY_GROUPS !== group) continue;
        const key = view.keys[i];
        for (const [replica, cells] of this.#cellsBy(view, n, key)) {
          for (const c of cells) {
            const recorded = view.truth.floorOf(key, c.bucket, replica);
            if (c.floor > c.count || c.floor > recorded) {
              this.#overCounted = true;
              this.#fail(`at ${view.elapsedMs} ms ${n.id} hides ${c.floor} of ${c.count} for ${key} bucket ${c.bucket} of ${replica}; resets recorded floor ${recorded} there`);
              return;
            }
          }
          const wrong = this.#compare(cells, this.#ranges(view, view.truth.hitsOf(key, replica)), null);
          if (wrong !== null) {
            this.#overCounted = true;
            this.#fail(`at ${view.elapsedMs} ms ${n.id} over-counts ${key} of ${replica}: it ${wrong}`);
            return;
          }
        }
      }
    }
  }

  /** Held keys track live keys on every node; replica ids stay bounded by the incarnations that exist. */
  #checkHeldKeys(view: SimulationView): void {
    const offsets = [...view.offsetsMs.values()];
    const spread = Math.max(...offsets) - Math.min(...offsets);
    const bucketMs = view.windowMs / view.buckets;
    const horizon = view.windowMs * 1.5 + 2 * bucketMs + spread + 100;
    const live = view.truth.offeredSince(view.nowMs - horizon);
    for (const n of view.nodes) {
      const held = n.limiter.size;
      if (live > 0) this.heldRatio = Math.max(this.heldRatio, held / live);
      if (held > live + HELD_SLACK) this.#fail(`at ${view.elapsedMs} ms ${n.id} holds ${held} keys; ${live} were asked for in the last ${Math.round(horizon)} ms`, 'held keys');
      const replicas = n.limiter.replica.replicaCount;
      if (replicas > view.replicasStarted) this.#fail(`at ${view.elapsedMs} ms ${n.id} holds cells of ${replicas} replica ids; ${view.replicasStarted} incarnations ever started`, 'replica ids');
    }
  }

  /** Before a node ends: what every other node holds of its replica (the floor of what must survive). */
  #snapshotSurvivors(view: SimulationView): void {
    const ending = view.nodes.find((n) => n.id === view.ending);
    if (ending === undefined) return;
    const replica = ending.limiter.replicaId;
    const bySurvivor = new Map<string, Map<string, Map<number, number>>>();
    for (const s of view.nodes) {
      if (s === ending || !view.honest.has(s.id)) continue;
      const byKey = new Map<string, Map<number, number>>();
      for (const key of view.keys) {
        const cells = s.limiter.replica.cellsOf(key).filter((c) => c.replica === replica && c.count > 0);
        if (cells.length > 0) byKey.set(key, new Map(cells.map((c) => [c.bucket, c.count])));
      }
      bySurvivor.set(s.limiter.replicaId, byKey);
    }
    this.#survived.set(replica, bySurvivor);
  }

  /** After heal: exact per running replica (from the log), nothing lost of ended ones, floors as recorded. */
  #checkExact(view: SimulationView): void {
    let exact = true;
    const probeKey = view.probe?.key;
    for (const n of view.nodes) {
      if (!view.honest.has(n.id)) continue;
      const sureFrom = this.#surelyLive(view, n.id);
      const keys = new Set([...view.keys, ...n.limiter.keys()]);
      keys.delete(probeKey as string);
      for (const key of keys) {
        const cells = this.#cellsBy(view, n, key);
        const replicas = new Set([...view.truth.replicasOf(key), ...cells.keys()]);
        for (const replica of replicas) {
          const mine = cells.get(replica) ?? [];
          const node = replica.split('#')[0];
          const ended = view.truth.endOf(replica) !== undefined;
          const owed = !ended && view.honest.has(node);
          const wrong = this.#compare(mine, this.#ranges(view, view.truth.hitsOf(key, replica)), owed ? sureFrom : null);
          if (wrong !== null) {
            exact = false;
            this.#fail(`after heal ${n.id} holds the wrong count of ${key} of ${replica}: it ${wrong}`);
          }
          if (ended) {
            const lost = this.#lostSinceEnd(view, replica, key, mine, sureFrom);
            if (lost !== null) {
              exact = false;
              this.#fail(`after heal ${n.id} lost hits of ${replica} (ended) on ${key}: ${lost}`);
            }
          }
          for (const c of mine) {
            if (c.bucket < sureFrom) continue;
            const want = this.#liveFloor(view, key, c.bucket, replica);
            if (c.floor < want) {
              exact = false;
              this.#fail(`after heal ${n.id} hides ${c.floor} of ${key} bucket ${c.bucket} of ${replica}; a reset by a running node set ${want}`);
            }
          }
        }
      }
    }
    this.#exact = exact;
  }

  /** The highest floor on (key, bucket, replica) set by a reset whose issuer still runs with an accepted clock (its reset cannot have been lost). */
  #liveFloor(view: SimulationView, key: string, bucket: number, replica: string): number {
    let want = 0;
    for (const r of view.truth.resets()) {
      if (r.key !== key || view.truth.endOf(r.issuer) !== undefined || !view.honest.has(r.issuer.split('#')[0])) continue;
      for (const f of r.floors) if (f.bucket === bucket && f.replica === replica && f.floor > want) want = f.floor;
    }
    return want;
  }

  /** An ended replica's cells on a node against what survivors still running held when it ended. */
  #lostSinceEnd(view: SimulationView, replica: string, key: string, mine: Cell[], sureFrom: number): string | null {
    const bySurvivor = this.#survived.get(replica);
    if (bySurvivor === undefined) return null;
    for (const [survivor, byKey] of bySurvivor) {
      if (view.truth.endOf(survivor) !== undefined) continue;
      const held = byKey.get(key);
      if (held === undefined) continue;
      for (const [bucket, count] of held) {
        if (bucket < sureFrom) continue;
        const c = mine.find((x) => x.bucket === bucket);
        if ((c?.count ?? 0) < count) return `bucket ${bucket}: holds ${c?.count ?? 0}, ${survivor} held ${count} when it ended`;
      }
    }
    return null;
  }

  /** The stated partition bound, from the log alone (test/helpers/sim-share-bound.ts); its figures go to the file's tally. */
  #checkShareBound(view: SimulationView): void {
    const { problems, figures } = checkShareBound(view);
    this.shareBound = figures;
    this.shareBoundProblems = problems;
    tallyShareBound(figures);
    for (const p of problems) this.#fail(p, 'share bound');
  }

  /** Honest nodes agree on the limit, one of those issued, and the latest when it is clearly the latest. Returns it. */
  #checkLimits(view: SimulationView): number | null {
    const honest = view.nodes.filter((n) => view.honest.has(n.id));
    if (honest.length === 0) return null;
    const limits = new Set(honest.map((n) => n.limiter.limit));
    if (limits.size !== 1) {
      this.#fail(`after heal the nodes disagree on the limit: ${honest.map((n) => `${n.id} ${n.limiter.limit}`).join(', ')}`);
      return null;
    }
    const agreed = [...limits][0];
    const changes = view.truth.limitChanges();
    if (changes.length === 0) return agreed;
    if (!changes.some((c) => c.limit === agreed) && agreed !== view.truth.limit) {
      this.#fail(`after heal every node has limit ${agreed}, which nobody set`);
    }
    const offsets = [...view.offsetsMs.values()];
    const spread = Math.max(...offsets) - Math.min(...offsets) + 2;
    const latest = changes.reduce((x, y) => (y.at > x.at ? y : x));
    const clearly = changes.every((c) => c === latest || latest.at - c.at > spread);
    // The issuer must still run its incarnation of then: a change made just before a crash may be lost with it.
    const issuer = view.nodes.find((n) => n.id === latest.node);
    const kept = issuer !== undefined && view.honest.has(latest.node) && this.#runningSince(view, issuer, latest.at);
    if (clearly && kept && agreed !== latest.limit) {
      this.#fail(`after heal every node has limit ${agreed}; the latest change (${latest.limit} on ${latest.node} at ${latest.at}) is later than every other by more than the clocks' spread`);
    }
    return agreed;
  }

  /** Whether `node`'s running incarnation was already running at `at` (no crash or restart since). */
  #runningSince(view: SimulationView, node: SimulationView['nodes'][number], at: number): boolean {
    return view.truth.startOf(node.limiter.replicaId) <= at;
  }

  /** The probe: having heard everything, the burst node admitted exactly up to the limit (more only for hits in its edge bucket). */
  #checkProbe(view: SimulationView, limit: number): void {
    const probe = view.probe;
    if (probe === undefined) return;
    let admitted = 0;
    let edge = 0;
    const sureFrom = this.#surelyLive(view, probe.node);
    for (const replica of view.truth.replicasOf(probe.key)) {
      for (const r of this.#ranges(view, view.truth.hitsOf(probe.key, replica))) {
        admitted += r.cost;
        if (r.lo < sureFrom) edge += r.cost;
      }
    }
    // Under `partition: 'share'` a node still cut off from a member (a bridge that never heals), or
    // one that missed the goodbye of a member that left while it was cut off (that member holds a
    // share until forgetAfterMs, docs/accuracy.md), admits only its share: never more than the limit.
    const cutOff = view.nodes.some((a) => view.nodes.some((b) => a !== b && view.isCut(a.id, b.id)));
    const sharing = view.partition === 'share' && (cutOff || view.truth.endedBy('leave').length > 0);
    if ((!sharing && admitted < limit) || admitted > limit + edge) {
      this.#fail(`the probe: ${probe.node}, having heard everything, let ${admitted} hits in on ${probe.key} with limit ${limit}` + (edge > 0 ? ` (${edge} of them possibly in its edge bucket)` : ''));
    }
  }
}
