/**
 * The daemon's structured log: one pino JSON line per event that matters —
 * config loaded, listening, peer state changes, clock-skew rejections,
 * refused connections, browsers refused, readiness, limiter overflow, shutdown. Every line
 * carries the node id; lines about a key carry its limiter, bucket id and a
 * keyed hash of the key (`key-hash.ts`), never the key itself. The config
 * line carries the config as `redactConfig` shows it.
 *
 * Floods are folded: a skewed peer, a refused-connection storm or a full
 * limiter produce at most one line per subject per {@link LOG_SAMPLE_INTERVAL_MS},
 * with a `suppressed` count of the lines held back.
 *
 * @module
 */
import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/daemon-config.js';
import type { Limiter } from '../../limiter/limiter.js';
import type { Mesh, ShareEvent, SloEvent } from '../../mesh/mesh.js';
import type { Refusal } from '../../mesh/port/port-guard.js';
import type { ReplicatorEvent } from '../../mesh/replicator.js';
import { LogSampler } from './log-sampler.js';
import { seedsNotReached } from '../../mesh/seed-status.js';

/** Rejections that are part of normal operation, logged at debug: a duplicate link losing its resolution. */
const EXPECTED_REJECTIONS = new Set(['duplicate']);

/** Interval of the per-subject log sampler (skew per peer, rejections per reason, overflow per limiter). */
export const LOG_SAMPLE_INTERVAL_MS = 10_000;

/**
 * The daemon's root logger: the caller's logger, or a new pino logger at
 * `level` writing to stdout; either way bound to the node id.
 *
 * @example
 * const logger = createDaemonLogger('a', 'info');
 * logger.info({ event: 'listening' }, 'listening');   // {"level":30,"nodeId":"a","event":"listening",...}
 */
export function createDaemonLogger(nodeId: string, level: LogLevel, given?: Logger): Logger {
  return (given ?? pino({ name: 'tallymesh', level })).child({ nodeId });
}

/**
 * Writes the daemon's event lines. One instance per daemon.
 *
 * @example
 * const log = new DaemonLog(logger, keyHasher(config.secret));
 * log.watch(mesh);
 * log.overflow(limiter, key);
 */
export class DaemonLog {
  readonly logger: Logger;
  #hashKey: (key: string) => string;
  #sampler: LogSampler;

  constructor(logger: Logger, hashKey: (key: string) => string, now: () => number = Date.now) {
    this.logger = logger;
    this.#hashKey = hashKey;
    this.#sampler = new LogSampler(LOG_SAMPLE_INTERVAL_MS, now);
  }

  /**
   * Logs the mesh's membership, dial, skew, rejection, geometry, partition
   * share and readiness events. `seeds` are the configured seed addresses: a failed dial to one
   * is a WARN once the node is ready (before, an INFO: nodes started
   * together need not listen yet), to an address learned from peers an INFO.
   */
  watch(mesh: Mesh, seeds: readonly string[] = []): void {
    mesh.on('peer', (e: Extract<ReplicatorEvent, { type: 'peer' }>) => {
      // A peer going down unannounced is what an operator pages on. Expected: one that said goodbye (BYE: "left: …", info),
      // and a link replaced by a preferred one to the same peer (duplicate resolution: down, then up at once; debug).
      const expected = e.reason.startsWith('left:') || e.reason === 'duplicate';
      const level = e.state === 'down' && e.reason === 'duplicate' ? 'debug' : (e.state === 'down' && !expected) || e.state === 'skewed' ? 'warn' : 'info';
      this.logger[level]({ event: 'peer', peer: e.nodeId, address: e.address, state: e.state, reason: e.reason }, `peer ${e.nodeId} ${e.state}`);
    });
    mesh.on('skew', (e: Extract<ReplicatorEvent, { type: 'skew' }>) => {
      const suppressed = this.#sampler.take(`skew:${e.nodeId}`);
      if (suppressed === null) return;
      this.logger.warn(
        { event: 'skew', peer: e.nodeId, offsetMs: e.offsetMs, suppressed },
        `refused a frame from ${e.nodeId}: its clock runs ${e.offsetMs} ms ahead`,
      );
    });
    mesh.on('reject', (e: Extract<ReplicatorEvent, { type: 'reject' }>) => {
      // Sampled by reason, not by remote: an unauthenticated remote is an address:port that changes per attempt.
      const suppressed = this.#sampler.take(`reject:${e.reason}`);
      if (suppressed === null) return;
      // A version mismatch is an operator's to fix (a rolling upgrade splits the mesh): say it in the line itself.
      const msg = e.reason === 'version' ? `refused ${e.who}: protocol version mismatch: ${e.detail}` : `refused ${e.who}: ${e.reason}`;
      // Two nodes dialing each other at once is normal: one link wins, the other is refused as a duplicate.
      const level = EXPECTED_REJECTIONS.has(e.reason) ? 'debug' : 'warn';
      this.logger[level]({ event: 'reject', who: e.who, reason: e.reason, detail: e.detail, suppressed }, msg);
    });
    mesh.on('dial', (e: Extract<ReplicatorEvent, { type: 'dial' }>) => {
      if (e.result.ok) {
        this.logger.debug({ event: 'dial', address: e.address, peer: e.result.nodeId }, `dialed ${e.address}: ${e.result.nodeId}`);
        return;
      }
      // A seed missing once the node is ready (it waited the join timeout) is a WARN; before, nodes started together
      // may simply not listen yet (info). One line per seed per interval and phase (a dead seed is redialed with
      // backoff, up to every few seconds, for ever); addresses learned from peers share one subject, as a peer may
      // name up to a thousand of them.
      const seed = seeds.includes(e.address);
      const level = seed && mesh.ready ? 'warn' : 'info';
      const suppressed = this.#sampler.take(seed ? `dial:${e.address}:${level}` : 'dial:learned');
      if (suppressed === null) return;
      this.logger[level](
        { event: 'dial-failed', address: e.address, seed, reason: e.result.reason, detail: e.result.detail, suppressed },
        `cannot reach ${seed ? 'seed ' : ''}${e.address} (${e.result.reason}): ${e.result.detail}`,
      );
    });
    mesh.on('geometry', (e: Extract<ReplicatorEvent, { type: 'geometry' }>) => {
      const suppressed = this.#sampler.take(`geometry:${e.limiter}:${e.nodeId}`);
      if (suppressed === null) return;
      this.logger.warn(
        { event: 'geometry-conflict', limiter: e.limiter, peer: e.nodeId, local: e.local, remote: e.remote, suppressed },
        `limiter ${e.limiter}: peer ${e.nodeId} uses window ${e.remote.windowMs} ms in ${e.remote.buckets} buckets, this node ${e.local.windowMs} ms in ${e.local.buckets}: their counts for it are refused both ways (give every node the same window and buckets)`,
      );
    });
    mesh.on('share', (e: ShareEvent) => {
      const fields = { event: 'partition-share', limiter: e.limiter, active: e.active, cause: e.cause, reason: e.reason, members: e.members, lagMs: e.lagMs, maxLagMs: e.maxLagMs };
      if (e.active) this.logger.warn(fields, `limiter ${e.limiter} admits only its share (1/${e.members}): ${e.reason}`);
      else this.logger.info(fields, `limiter ${e.limiter} decides on the full count again: ${e.reason}`);
    });
    mesh.on('slo', (e: SloEvent) => {
      const fields = { event: 'accuracy-slo', limiter: e.limiter, active: e.active, ratio: e.ratio, sloRatio: e.sloRatio };
      if (e.active) this.logger.warn(fields, `limiter ${e.limiter} admitted ${e.ratio} × its limit in a window, past its SLO of ${e.sloRatio}`);
      else this.logger.info(fields, `limiter ${e.limiter} back within its SLO of ${e.sloRatio} (${e.ratio})`);
    });
    // A node without seeds is ready before anyone can listen: say so now.
    const ready = (): void => {
      // Ready alone is better than refusing all traffic, but it is not the cluster the operator asked for: say which seeds are missing.
      const missing = seedsNotReached(mesh.cluster().seeds);
      if (missing === null) this.logger.info({ event: 'ready' }, 'ready: initial sync done');
      else this.logger.warn({ event: 'ready', seedsNotReached: missing }, `ready without every seed: ${missing}`);
    };
    if (mesh.ready) ready();
    else mesh.once('ready', ready);
  }

  /** Logs an inbound TLS handshake the port refused (at most once per interval; the metric counts each). */
  tlsRefused(err: Error & { code?: string }, remote: string | undefined): void {
    const suppressed = this.#sampler.take('tls-refused');
    if (suppressed === null) return;
    this.logger.warn(
      { event: 'tls-refused', remote, code: err.code, detail: err.message, suppressed },
      `refused a TLS handshake from ${remote ?? 'an unknown address'}: ${err.message}`,
    );
  }

  /** Logs a request or upgrade the browser guard refused (at most once per reason per interval; the metric counts each). */
  browserRefused(endpoint: string, refusal: Refusal, remote: string | undefined): void {
    const suppressed = this.#sampler.take(`browser:${refusal.reason}`);
    if (suppressed === null) return;
    this.logger.warn(
      { event: 'browser-refused', reason: refusal.reason, endpoint, remote, code: refusal.error.code, detail: refusal.error.message, suppressed },
      `refused a browser request on ${endpoint} (${refusal.reason})`,
    );
  }

  /** Logs that `limiter` met a new key past the node's key bound (at most once per limiter per interval). */
  overflow(limiter: Limiter, key: string, maxKeys: number): void {
    const suppressed = this.#sampler.take(`overflow:${limiter.name}`);
    if (suppressed === null) return;
    this.logger.warn(
      {
        event: 'overflow',
        limiter: limiter.name,
        bucket: limiter.replica.currentBucket(),
        keyHash: this.#hashKey(key),
        policy: limiter.overflowPolicy,
        keys: limiter.size,
        maxKeys,
        suppressed,
      },
      `limiter ${limiter.name} is full: new keys are ${limiter.overflowPolicy === 'allow' ? 'admitted uncounted' : 'denied'}`,
    );
  }
}
