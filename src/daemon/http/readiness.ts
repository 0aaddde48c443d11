/**
 * The readiness policy: what `GET /readyz` says and why. Ready once the mesh
 * finished its initial sync with the peers it reached, and not while this
 * node's own clock runs so far ahead that peers refuse it, nor once shutdown
 * began. When not ready, the reason names the peers involved, so a failing
 * probe explains itself.
 *
 * A node at its key bound serves in a degraded mode — new keys get their
 * limiter's `onOverflow` policy instead of being counted — and says so under
 * `degraded`, but stays ready: a flood of new keys reaches every node at
 * once, and failing the probe would take the whole cluster out of service.
 *
 * May import: the mesh's types. Pure: it reads `mesh.cluster()` and what it is given.
 *
 * @module
 */
import type { Mesh } from '../../mesh/mesh.js';
import type { RecentOverflow } from '../observe/overflow-watch.js';
import { missingSeeds, seedsNotReached, type SeedReport } from '../../mesh/seed-status.js';

/**
 * The `/readyz` answer (sent with 200 when ready, else 503).
 *
 * @example
 * // {"ready":false,"reason":"waiting for the initial sync from b","peers":[{"nodeId":"b","state":"syncing","clockOffsetMs":3}]}
 * const r: Readiness = await (await fetch(`${url}/readyz`)).json();
 */
export interface Readiness {
  ready: boolean;
  /** Why not ready (absent when ready). */
  reason?: string;
  /** Why the node serves in a degraded mode, which does not fail the probe (absent when it does not). */
  degraded?: string[];
  peers: Array<{ nodeId: string; state: string; clockOffsetMs: number }>;
  /** The seed peers, their state and last dial error (absent without seeds). */
  seeds?: Array<Pick<SeedReport, 'address' | 'state' | 'lastError'>>;
}

/** The node's key bound and its recent overflows, for the `degraded` reasons. */
export interface KeyLoad {
  /** Node-wide key bound (`maxKeys`). */
  maxKeys: number;
  /** Limiters that overflowed recently (`OverflowWatch.recent()`). */
  overflows: readonly RecentOverflow[];
  /** Limiters whose window or buckets a peer contradicts, one sentence each (`GeometryWatch.describe()`). */
  conflicts?: readonly string[];
  /** While draining: the reason `/readyz` gives (`draining: …`), instead of "shutting down". */
  draining?: string;
}

/**
 * The degraded-mode reasons: each limiter that overflowed recently, and the
 * bound itself while the node holds that many keys.
 */
function degradedReasons(held: number, load: KeyLoad): string[] {
  const reasons: string[] = [];
  for (const o of load.overflows) {
    const decided = o.policy === 'allow' ? 'admitted uncounted' : 'denied';
    const times = o.count === 1 ? 'once' : `${o.count} times`;
    reasons.push(
      `limiter ${o.limiter} overflowed ${times} in the last ${Math.max(1, Math.ceil(o.sinceMs / 1000))} s (last ${Math.round(o.lastMs / 1000)} s ago): new keys past maxKeys are ${decided}`,
    );
  }
  if (held >= load.maxKeys) reasons.push(`holding ${held} keys, at the node's bound of ${load.maxKeys} (maxKeys): new keys meet their limiter's overflow policy`);
  return reasons;
}

/**
 * What `/readyz` reports: ready once the mesh finished its initial sync, and
 * not while shutting down; otherwise the reason, naming the peers involved.
 *
 * @param seeds the seed peers from the config (the reason says how many were reached).
 * @param closing true once shutdown began.
 * @param load the key bound and recent overflows: listed under `degraded` when ready.
 * @example
 * const r = readiness(mesh, config.peers, shuttingDown);
 * writeJson(res, r.ready ? 200 : 503, r);
 */
export function readiness(mesh: Mesh, seeds: readonly string[], closing: boolean, load?: KeyLoad): Readiness {
  const cluster = mesh.cluster();
  const peers = cluster.peers.map((p) => ({ nodeId: p.nodeId, state: p.state, clockOffsetMs: p.clockOffsetMs }));
  const seedList = cluster.seeds.length === 0 ? {} : { seeds: cluster.seeds.map((s) => ({ address: s.address, state: s.state, lastError: s.lastError })) };
  if (closing) return { ready: false, reason: load?.draining ?? 'shutting down', peers, ...seedList };
  // A node whose clock runs beyond the bound decides alone: its hits never replicate.
  if (cluster.node.clockProblem !== null) return { ready: false, reason: cluster.node.clockProblem, peers, ...seedList };
  if (cluster.node.ready) {
    const held = load === undefined ? 0 : cluster.limiters.reduce((n, l) => n + l.keys, 0);
    const degraded = load === undefined ? [] : degradedReasons(held, load);
    // Ready without its seeds: it limits alone (better than refusing everything), and says which seeds it misses.
    const missing = seedsNotReached(cluster.seeds);
    if (missing !== null) degraded.push(`${missing}: this node limits alone for what they would have counted`);
    if (load?.conflicts !== undefined) degraded.push(...load.conflicts);
    return degraded.length > 0 ? { ready: true, degraded, peers, ...seedList } : { ready: true, peers, ...seedList };
  }
  const reasons: string[] = [];
  const syncing = cluster.peers.filter((p) => p.state === 'syncing').map((p) => p.nodeId);
  if (syncing.length > 0) reasons.push(`waiting for the initial sync from ${syncing.join(', ')}`);
  const skewed = cluster.peers.filter((p) => p.state === 'skewed').map((p) => `${p.nodeId} (${p.clockOffsetMs} ms ahead)`);
  if (skewed.length > 0) reasons.push(`refusing peers whose clocks run ahead: ${skewed.join(', ')}`);
  const reached = cluster.peers.filter((p) => p.state !== 'down').length;
  if (reached < seeds.length) {
    const missing = missingSeeds(cluster.seeds);
    reasons.push(`reached ${reached} of ${seeds.length} seed peers${missing.length === 0 ? '' : `; not reached: ${missing.join('; ')}`}`);
  }
  return { ready: false, reason: reasons.length > 0 ? reasons.join('; ') : 'waiting for the initial sync', peers, ...seedList };
}
