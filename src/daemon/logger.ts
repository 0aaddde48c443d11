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
import type { LogLevel } from './config/daemon-config.js';
import type { Limiter } from '../limiter/limiter.js';
import type { Mesh, ShareEvent, SloEvent } from '../mesh/mesh.js';
import type { Refusal } from '../mesh/port/port-guard.js';
import type { ReplicatorEvent } from '../mesh/replicator.js';
import { LogSampler } from './log-sampler.js';

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

  /** Logs the mesh's membership, skew, rejection, partition share and readiness events. */
  watch(mesh: Mesh): void {
    mesh.on('peer', (e: Extract<ReplicatorEvent, { type: 'peer' }>) => {
      // 'live' and 'down' are what an operator pages on; the rest are transitions worth seeing at info too.
      const level = e.state === 'down' || e.state === 'skewed' ? 'warn' : 'info';
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
      this.logger.warn({ event: 'reject', who: e.who, reason: e.reason, detail: e.detail, suppressed }, msg);
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
    const ready = (): void => this.logger.info({ event: 'ready' }, 'ready: initial sync done');
    if (mesh.ready) ready();
    else mesh.once('ready', ready);
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
