/**
 * The readiness policy: what `GET /readyz` says and why. Ready once the mesh
 * finished its initial sync with the peers it reached, and not while this
 * node's own clock runs so far ahead that peers refuse it, nor once shutdown
 * began. When not ready, the reason names the peers involved, so a failing
 * probe explains itself.
 *
 * May import: the mesh's types. Pure: it reads `mesh.cluster()` and nothing else.
 *
 * @module
 */
import type { Mesh } from '../mesh/mesh.js';

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
  peers: Array<{ nodeId: string; state: string; clockOffsetMs: number }>;
}

/**
 * What `/readyz` reports: ready once the mesh finished its initial sync, and
 * not while shutting down; otherwise the reason, naming the peers involved.
 *
 * @param seeds the seed peers from the config (the reason says how many were reached).
 * @param closing true once shutdown began.
 * @example
 * const r = readiness(mesh, config.peers, shuttingDown);
 * writeJson(res, r.ready ? 200 : 503, r);
 */
export function readiness(mesh: Mesh, seeds: readonly string[], closing: boolean): Readiness {
  const cluster = mesh.cluster();
  const peers = cluster.peers.map((p) => ({ nodeId: p.nodeId, state: p.state, clockOffsetMs: p.clockOffsetMs }));
  if (closing) return { ready: false, reason: 'shutting down', peers };
  // A node whose clock runs beyond the bound decides alone: its hits never replicate.
  if (cluster.node.clockProblem !== null) return { ready: false, reason: cluster.node.clockProblem, peers };
  if (cluster.node.ready) return { ready: true, peers };
  const reasons: string[] = [];
  const syncing = cluster.peers.filter((p) => p.state === 'syncing').map((p) => p.nodeId);
  if (syncing.length > 0) reasons.push(`waiting for the initial sync from ${syncing.join(', ')}`);
  const skewed = cluster.peers.filter((p) => p.state === 'skewed').map((p) => `${p.nodeId} (${p.clockOffsetMs} ms ahead)`);
  if (skewed.length > 0) reasons.push(`refusing peers whose clocks run ahead: ${skewed.join(', ')}`);
  const reached = cluster.peers.filter((p) => p.state !== 'down').length;
  if (reached < seeds.length) reasons.push(`reached ${reached} of ${seeds.length} seed peers`);
  return { ready: false, reason: reasons.length > 0 ? reasons.join('; ') : 'waiting for the initial sync', peers };
}
