/**
 * The metrics an operator alerts on when the cluster is not what it was
 * configured to be, on the daemon's registry: failed dials by reason, the
 * seeds by state, TLS handshakes refused on the port, geometry conflicts per
 * limiter, and configuration reloads and limit changes by outcome.
 *
 * `tallymesh_seeds{state="unreachable"}` is what the documented alert reads
 * (docs/operations.md, Metrics): unlike `tallymesh_peers`, it moves on a
 * node that never reached anyone, since a seed that never answered has no
 * peer record at all.
 *
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Mesh } from '../../mesh/mesh.js';
import type { ReplicatorEvent } from '../../mesh/replicator.js';
import { SEED_STATES } from '../../mesh/seed-status.js';

/** How a reload or a runtime limit change ended, as a metric label. */
export type ChangeResult = 'applied' | 'unchanged' | 'invalid' | 'refused';

/**
 * Registers the operator metrics on `registry` and feeds them from `mesh`.
 *
 * @example
 * const ops = new OperatorMetrics(metrics.registry, mesh);
 * server.on('tlsClientError', () => ops.tlsRefused());
 */
export class OperatorMetrics {
  #tls: Counter;
  #reloads: Counter<'result'>;
  #limitChanges: Counter<'source'>;

  constructor(registry: Registry, mesh: Mesh) {
    const registers = [registry];
    const dialFailures = new Counter({
      name: 'tallymesh_dial_failures_total',
      help: 'Dials to peers that did not give an authenticated link, by reason (refused, unreachable, dns, timeout, tls, http, handshake, closed, error).',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'tallymesh_seeds',
      help: 'Seed peers (--peers) by state: connected, unreachable (the last dial failed), connecting (no answer yet), self.',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<string, number>(SEED_STATES.map((s) => [s, 0]));
        for (const s of mesh.cluster().seeds) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    const geometry = new Counter({
      name: 'tallymesh_geometry_conflicts_total',
      help: "Batches refused because the peer gives the limiter another window or bucket count, by limiter (the cluster is split for it).",
      labelNames: ['limiter'],
      registers,
    });
    this.#tls = new Counter({
      name: 'tallymesh_tls_handshakes_refused_total',
      help: 'Inbound TLS handshakes that failed on the port (a peer or client with a certificate from another CA, or none where mTLS requires one).',
      registers,
    });
    this.#reloads = new Counter({
      name: 'tallymesh_config_reloads_total',
      help: 'Configuration reloads (SIGHUP, POST /v1/admin/reload), by result: applied, unchanged, invalid (the file), refused (a change that needs a restart).',
      labelNames: ['result'],
      registers,
    });
    this.#limitChanges = new Counter({
      name: 'tallymesh_limit_changes_total',
      help: 'Limits changed on this node, by source (reload, api).',
      labelNames: ['source'],
      registers,
    });
    mesh.on('dial', (e: Extract<ReplicatorEvent, { type: 'dial' }>) => {
      if (!e.result.ok) dialFailures.inc({ reason: e.result.reason });
    });
    mesh.on('geometry', (e: Extract<ReplicatorEvent, { type: 'geometry' }>) => geometry.inc({ limiter: e.limiter }));
  }

  /** Counts an inbound TLS handshake that failed. */
  tlsRefused(): void {
    this.#tls.inc();
  }

  /** Counts a reload by its result. */
  reload(result: ChangeResult): void {
    this.#reloads.inc({ result });
  }

  /** Counts limits changed, by where the change came from. */
  limitChanged(source: 'reload' | 'api', n = 1): void {
    this.#limitChanges.inc({ source }, n);
  }
}
