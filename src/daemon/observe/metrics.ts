/**
 * The daemon's Prometheus metrics, on a registry of its own (never
 * prom-client's global one: two daemons in one process, or a host
 * application with its own metrics, must not collide).
 *
 * Most figures already exist as plain counters in the mesh — limiter stats,
 * per-peer traffic and rejections — so they are read once per scrape rather
 * than incremented on the hot path: a decision costs no metric update at
 * all. Cumulative sources are turned into Prometheus counters by adding the
 * difference since the previous scrape. Only what the mesh does not keep is
 * counted as it happens: transport rejections, HTTP responses, stream and
 * event-stream drops, browsers refused, and a sampled decision latency.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Mesh, PeerStatus, ShareEvent } from '../../mesh/mesh.js';
import type { RefusalReason } from '../../mesh/port/port-guard.js';
import type { ReplicatorEvent } from '../../mesh/replicator.js';
import type { RespStats } from '../../resp/index.js';
import type { DescriptorResult, RlsStats } from '../../rls/index.js';

/** One request in this many has its latency measured (two clock reads and a histogram update). */
export const LATENCY_SAMPLE_EVERY = 8;

/** Where a browser was refused: the HTTP API, or an upgrade to the stream, the mesh or another path. */
export type BrowserEndpoint = 'http' | 'stream' | 'mesh' | 'other';

/** Which front door a measured request came through. */
export type DecisionApi = 'http' | 'http-batch' | 'stream' | 'resp' | 'rls';

const PEER_STATES: ReadonlyArray<PeerStatus['state']> = ['syncing', 'live', 'suspect', 'skewed', 'down'];

/**
 * Reasons the transport reports through 'reject' events. Every other reason
 * (clock-skew, unknown-limiter, geometry) is only kept in the per-peer
 * counts, which are read at scrape; splitting by origin counts each once.
 */
const TRANSPORT_REASONS = new Set([
  'auth', 'version', 'too-large', 'malformed', 'unexpected', 'duplicate', 'self', 'timeout',
  'too-many-handshakes', 'too-many-handshakes-per-address', 'handshake-evicted',
]);

/** What the daemon reports at scrape time besides the mesh. */
export interface MetricsSources {
  /** Node-wide key bound. */
  maxKeys: number;
  /** Ready to serve: initial sync done and not shutting down. */
  ready: () => boolean;
  /** Connected clients of /v1/stream and /v1/events. */
  clients: () => { stream: number; events: number };
  /** The RESP port's counters, when it runs. */
  resp?: () => RespStats | undefined;
  /** The RLS port's counters and its descriptors' results, when it runs. */
  rls?: () => (RlsStats & { results: Map<DescriptorResult, number> }) | undefined;
}

/**
 * The daemon's metrics. See docs/http-api.md for the list.
 *
 * @example
 * const metrics = new DaemonMetrics(mesh, { maxKeys: 1_000_000, ready: () => mesh.ready, clients: () => ({ stream: 0, events: 0 }) });
 * res.setHeader('content-type', metrics.contentType);
 * res.end(await metrics.render());
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  #mesh: Mesh;
  #sources: MetricsSources;
  /** Cumulative values seen at the previous scrape, by series. */
  #seen = new Map<string, number>();
  #sampleCountdown = LATENCY_SAMPLE_EVERY;

  #decisions: Counter<'limiter' | 'result'>;
  #overflows: Counter<'limiter' | 'policy'>;
  #latency: Histogram<'api'>;
  #gossipBytes: Counter<'peer' | 'direction'>;
  #gossipFrames: Counter<'peer' | 'direction'>;
  #rejected: Counter<'reason'>;
  #peers: Gauge<'state'>;
  #clockOffset: Gauge<'peer'>;
  #replicationLag: Gauge<'peer'>;
  #liveKeys: Gauge<'limiter'>;
  #hotKeys: Gauge<'limiter'>;
  #roundTrip: Gauge<'peer'>;
  #shareActive: Gauge<'limiter'>;
  #shareWeight: Gauge<'limiter'>;
  #admittedRatio: Gauge<'limiter'>;
  #heldKeys: Gauge;
  #ready: Gauge;
  #httpResponses: Counter<'route' | 'status'>;
  #apiClients: Gauge<'api'>;
  #streamsClosed: Counter<'reason'>;
  #eventsDropped: Counter<'reason'>;
  #browserRefused: Counter<'reason' | 'endpoint'>;
  #rlsConnections: Gauge;
  #rlsRefused: Counter;
  #rlsRequests: Counter<'code'>;
  #rlsDescriptors: Counter<'result'>;
  #rlsHealthChecks: Counter;
  #respConnections: Gauge;
  #respCommands: Counter<'command'>;
  #respErrors: Counter<'code'>;
  #respClosed: Counter<'reason'>;
  #replication: Counter<'event'>;

  constructor(mesh: Mesh, sources: MetricsSources) {
    this.#mesh = mesh;
    this.#sources = sources;
    const registers = [this.registry];
    this.#decisions = new Counter({ name: 'tallymesh_decisions_total', help: 'Decisions taken, by limiter and result.', labelNames: ['limiter', 'result'], registers });
    this.#overflows = new Counter({
      name: 'tallymesh_overflows_total',
      help: 'Decisions for new keys taken past the node key bound, by limiter and the onOverflow policy that took them (allow: admitted uncounted; deny: denied).',
      labelNames: ['limiter', 'policy'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'tallymesh_decision_latency_seconds',
      help: `Server time to answer one consume request, batch or stream frame, from body parsed to response written; 1 in ${LATENCY_SAMPLE_EVERY} measured.`,
      labelNames: ['api'],
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.#gossipBytes = new Counter({ name: 'tallymesh_gossip_bytes_total', help: 'Peer protocol bytes, by peer and direction.', labelNames: ['peer', 'direction'], registers });
    this.#gossipFrames = new Counter({ name: 'tallymesh_gossip_frames_total', help: 'Peer protocol frames, by peer and direction.', labelNames: ['peer', 'direction'], registers });
    this.#rejected = new Counter({ name: 'tallymesh_frames_rejected_total', help: 'Peer connections and frames refused, by reason.', labelNames: ['reason'], registers });
    this.#peers = new Gauge({ name: 'tallymesh_peers', help: 'Known peers, by link state.', labelNames: ['state'], registers });
    this.#clockOffset = new Gauge({ name: 'tallymesh_peer_clock_offset_seconds', help: 'Peer HLC wall time minus local time at receipt (includes one-way latency).', labelNames: ['peer'], registers });
    this.#replicationLag = new Gauge({ name: 'tallymesh_peer_replication_lag_seconds', help: 'Smoothed delay from a change on the peer to its arrival here.', labelNames: ['peer'], registers });
    this.#shareActive = new Gauge({ name: 'tallymesh_limiter_share_active', help: "1 while a partition: 'share' limiter admits only its share (contact with a member lost, or lag past maxLagMs).", labelNames: ['limiter'], registers });
    this.#shareWeight = new Gauge({ name: 'tallymesh_limiter_share_weight', help: 'The share a limiter admits within (1 / members), 0 when none.', labelNames: ['limiter'], registers });
    this.#admittedRatio = new Gauge({
      name: 'tallymesh_limiter_admitted_ratio',
      help: 'Estimated over-admission: the largest window count of any key read in the last window (peers merged) ÷ the limit.',
      labelNames: ['limiter'],
      registers,
    });
    const shares = new Counter({ name: 'tallymesh_limiter_shares_total', help: 'Shares begun, by limiter and cause (contact: a member lost; lag: replication lag past maxLagMs).', labelNames: ['limiter', 'cause'], registers });
    mesh.on('share', (e: ShareEvent) => {
      if (e.active) shares.inc({ limiter: e.limiter, cause: e.cause });
    });
    this.#hotKeys = new Gauge({ name: 'tallymesh_limiter_hot_keys', help: 'Keys peers count too that lag-aware admission decides on its estimates (at most 1024 per limiter).', labelNames: ['limiter'], registers });
    this.#roundTrip = new Gauge({ name: 'tallymesh_peer_round_trip_seconds', help: 'Smoothed round trip to the peer, measured by WebSocket ping probes every second.', labelNames: ['peer'], registers });
    this.#liveKeys = new Gauge({ name: 'tallymesh_live_keys', help: 'Keys with live state, by limiter.', labelNames: ['limiter'], registers });
    this.#heldKeys = new Gauge({ name: 'tallymesh_held_keys', help: 'Keys this node holds over all limiters (counted, merged from peers, or reset): what maxKeys bounds.', registers });
    new Gauge({ name: 'tallymesh_max_keys', help: 'Node-wide key bound (maxKeys).', registers }).set(sources.maxKeys);
    this.#ready = new Gauge({ name: 'tallymesh_ready', help: '1 once the initial sync is done and until shutdown begins.', registers });
    this.#httpResponses = new Counter({ name: 'tallymesh_http_responses_total', help: 'HTTP API responses, by route and status.', labelNames: ['route', 'status'], registers });
    this.#apiClients = new Gauge({ name: 'tallymesh_api_clients', help: 'Connected /v1/stream and /v1/events clients.', labelNames: ['api'], registers });
    this.#streamsClosed = new Counter({ name: 'tallymesh_stream_rejected_total', help: '/v1/stream connections closed (a bad frame, idle, a dead peer) or refused at upgrade, by reason.', labelNames: ['reason'], registers });
    this.#eventsDropped = new Counter({ name: 'tallymesh_events_dropped_total', help: 'Events not delivered: denials past the per-second cap, and slow clients cut off.', labelNames: ['reason'], registers });
    this.#browserRefused = new Counter({
      name: 'tallymesh_browser_refused_total',
      help: 'Requests and WebSocket upgrades refused as a browser\'s: a Host not allowed (host), an upgrade with Origin or Sec-Fetch-Site (origin), a cross-origin write (cross-site); by endpoint (http, stream, mesh, other).',
      labelNames: ['reason', 'endpoint'],
      registers,
    });
    this.#rlsConnections = new Gauge({ name: 'tallymesh_rls_connections', help: 'Open connections on the RLS (Envoy rate limit service, gRPC) port.', registers });
    this.#rlsRefused = new Counter({ name: 'tallymesh_rls_refused_connections_total', help: 'RLS connections closed at accept: the port was at its connection bound or shutting down.', registers });
    this.#rlsRequests = new Counter({
      name: 'tallymesh_rls_requests_total',
      help: 'ShouldRateLimit calls, by outcome: the overall code (OK, OVER_LIMIT) or the gRPC status of a refused call (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAUTHENTICATED, UNAVAILABLE, INTERNAL).',
      labelNames: ['code'],
      registers,
    });
    this.#rlsDescriptors = new Counter({
      name: 'tallymesh_rls_descriptors_total',
      help: 'RLS descriptors decided, by result (ok, over_limit, shadow_over_limit, unlimited, no_match, unknown_domain).',
      labelNames: ['result'],
      registers,
    });
    this.#rlsHealthChecks = new Counter({ name: 'tallymesh_rls_health_checks_total', help: 'gRPC health checks answered on the RLS port.', registers });
    this.#respConnections = new Gauge({ name: 'tallymesh_resp_connections', help: 'Open connections on the RESP (Redis protocol) port.', registers });
    this.#respCommands = new Counter({ name: 'tallymesh_resp_commands_total', help: 'RESP commands run, by command (lower-case; unknown for any other).', labelNames: ['command'], registers });
    this.#respErrors = new Counter({ name: 'tallymesh_resp_errors_total', help: 'RESP error replies and protocol errors, by registry code.', labelNames: ['code'], registers });
    this.#respClosed = new Counter({
      name: 'tallymesh_resp_closed_total',
      help: 'RESP connections closed by the daemon, by reason (quit, protocol, http, too-many-connections, shutdown).',
      labelNames: ['reason'],
      registers,
    });
    this.#replication = new Counter({
      name: 'tallymesh_replication_events_total',
      help: 'Replication counters of /v1/cluster (replication), by event: DELTA frames, snapshot chunks, digests, repairs, SYNCs, cells merged, skew rejections, log overflows, frames unsent at shutdown.',
      labelNames: ['event'],
      registers,
    });
    collectDefaultMetrics({ register: this.registry });
    // Refusals of the replicator (throttled requests, bad registers) are reported too, but counted from the per-peer counts at scrape.
    mesh.on('reject', (e: Extract<ReplicatorEvent, { type: 'reject' }>) => {
      if (TRANSPORT_REASONS.has(e.reason)) this.#rejected.inc({ reason: e.reason });
    });
  }

  /** Prometheus text exposition content type. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Starts a latency measurement for every {@link LATENCY_SAMPLE_EVERY}th
   * request: returns a start time, or -1 when this request is not sampled.
   */
  sampleStart(): number {
    if (--this.#sampleCountdown > 0) return -1;
    this.#sampleCountdown = LATENCY_SAMPLE_EVERY;
    return performance.now();
  }

  /** Ends a measurement begun by {@link sampleStart} (ignores -1). */
  observeLatency(api: DecisionApi, start: number): void {
    if (start >= 0) this.#latency.observe({ api }, (performance.now() - start) / 1000);
  }

  /** Counts an HTTP API response. */
  httpResponse(route: string, status: number): void {
    this.#httpResponses.inc({ route, status: String(status) });
  }

  /** Counts a stream connection closed or refused for `reason`. */
  streamRejected(reason: string): void {
    this.#streamsClosed.inc({ reason });
  }

  /** Counts a request (`endpoint` 'http') or upgrade refused by the browser guard. */
  browserRefused(reason: RefusalReason, endpoint: BrowserEndpoint): void {
    this.#browserRefused.inc({ reason, endpoint });
  }

  /** Counts events not delivered. */
  eventsDropped(reason: 'sampled' | 'slow-client', n = 1): void {
    this.#eventsDropped.inc({ reason }, n);
  }

  /** Reads the mesh once and renders every metric in the text format. */
  async render(): Promise<string> {
    this.#refresh();
    return this.registry.metrics();
  }

  #refresh(): void {
    const cluster = this.#mesh.cluster();
    for (const l of this.#mesh.limiters) {
      this.#advance(this.#decisions, `allowed:${l.name}`, { limiter: l.name, result: 'allowed' }, l.stats.allowed);
      this.#advance(this.#decisions, `denied:${l.name}`, { limiter: l.name, result: 'denied' }, l.stats.denied);
      this.#advance(this.#overflows, `overflows:${l.name}`, { limiter: l.name, policy: l.overflowPolicy }, l.stats.overflows);
    }
    this.#liveKeys.reset();
    this.#hotKeys.reset();
    let held = 0;
    for (const l of cluster.limiters) {
      this.#liveKeys.set({ limiter: l.name }, l.keys);
      this.#admittedRatio.set({ limiter: l.name }, l.admittedRatio);
      this.#hotKeys.set({ limiter: l.name }, l.hotKeys);
      if (l.partition === 'share') {
        this.#shareActive.set({ limiter: l.name }, l.share === null ? 0 : 1);
        this.#shareWeight.set({ limiter: l.name }, l.share === null ? 0 : l.share.weight);
      }
      held += l.keys;
    }
    this.#heldKeys.set(held);
    for (const [name, n] of Object.entries(cluster.replication)) {
      if (name === 'repairsAnswered') continue; // the deprecated sum of two others
      const event = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      this.#replication.inc({ event }, 0); // every event present from the first scrape, so alerts can use rate()
      this.#advance(this.#replication, `replication:${event}`, { event }, n);
    }

    // Per-peer gauges are rebuilt so a forgotten peer's series disappear.
    this.#peers.reset();
    this.#clockOffset.reset();
    this.#replicationLag.reset();
    this.#roundTrip.reset();
    const byState = new Map<string, number>(PEER_STATES.map((s) => [s, 0]));
    for (const p of cluster.peers) {
      byState.set(p.state, (byState.get(p.state) ?? 0) + 1);
      this.#clockOffset.set({ peer: p.nodeId }, p.clockOffsetMs / 1000);
      this.#replicationLag.set({ peer: p.nodeId }, p.replicationLagMs / 1000);
      if (p.roundTripMs !== null) this.#roundTrip.set({ peer: p.nodeId }, p.roundTripMs / 1000);
      const peer = p.nodeId;
      this.#advance(this.#gossipBytes, `bytes-in:${peer}`, { peer, direction: 'in' }, p.bytesIn);
      this.#advance(this.#gossipBytes, `bytes-out:${peer}`, { peer, direction: 'out' }, p.bytesOut);
      this.#advance(this.#gossipFrames, `frames-in:${peer}`, { peer, direction: 'in' }, p.framesIn);
      this.#advance(this.#gossipFrames, `frames-out:${peer}`, { peer, direction: 'out' }, p.framesOut);
      for (const [reason, n] of Object.entries(p.rejected)) {
        if (!TRANSPORT_REASONS.has(reason)) this.#advance(this.#rejected, `rejected:${peer}:${reason}`, { reason }, n);
      }
    }
    for (const [state, n] of byState) this.#peers.set({ state }, n);
    this.#ready.set(this.#sources.ready() ? 1 : 0);
    const clients = this.#sources.clients();
    this.#apiClients.set({ api: 'stream' }, clients.stream);
    this.#apiClients.set({ api: 'events' }, clients.events);
    const resp = this.#sources.resp?.();
    if (resp !== undefined) {
      this.#respConnections.set(resp.connections);
      for (const [command, n] of resp.commands) this.#advance(this.#respCommands, `resp-command:${command}`, { command }, n);
      for (const [code, n] of resp.errors) this.#advance(this.#respErrors, `resp-error:${code}`, { code }, n);
      for (const [reason, n] of resp.closed) this.#advance(this.#respClosed, `resp-closed:${reason}`, { reason }, n);
    }
    const rls = this.#sources.rls?.();
    if (rls !== undefined) {
      this.#rlsConnections.set(rls.connections);
      this.#advance(this.#rlsRefused, 'rls-refused', {}, rls.refusedConnections);
      this.#advance(this.#rlsHealthChecks, 'rls-health', {}, rls.healthChecks);
      for (const [code, n] of rls.requests) this.#advance(this.#rlsRequests, `rls-request:${code}`, { code }, n);
      for (const [result, n] of rls.results) this.#advance(this.#rlsDescriptors, `rls-descriptor:${result}`, { result }, n);
    }
  }

  /** Adds to `counter` what the cumulative `current` of `series` (a unique name) grew by since the last scrape. */
  #advance<T extends string>(counter: Counter<T>, series: string, labels: Record<T, string>, current: number): void {
    const last = this.#seen.get(series) ?? 0;
    // A source that went backwards restarted from zero: all of it is new.
    const delta = current >= last ? current - last : current;
    if (delta > 0) counter.inc(labels as Partial<Record<T, string>>, delta);
    this.#seen.set(series, current);
  }
}
