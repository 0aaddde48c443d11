/**
 * The daemon's structured log: one pino JSON line per event that matters —
 * config loaded, listening, peer state changes, clock-skew rejections,
 * refused connections, readiness, limiter overflow, shutdown. Every line
 * carries the node id; lines about a key carry its limiter, bucket id and a
 * keyed hash of the key, never the key itself (keys are user ids, IPs, API
 * keys: personal data that logs must not collect).
 *
 * Floods are folded: a skewed peer, a refused-connection storm or a full
 * limiter produce at most one line per subject per {@link LOG_THROTTLE_MS},
 * with a `suppressed` count of the lines held back.
 *
 * @module
 */
import { createHmac } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { DaemonConfig } from './config/daemon-config.js';
import type { Limiter } from '../limiter/limiter.js';
import type { Mesh } from '../mesh/mesh.js';
import type { ReplicatorEvent } from '../mesh/replicator.js';
import { Throttle } from './log-sampler.js';

/** Interval of the per-subject log throttle (skew per peer, rejections per reason, overflow per limiter). */
export const LOG_THROTTLE_MS = 10_000;

/** Hex digits kept of a key hash: 64 bits, enough to tell keys apart in a log search. */
const KEY_HASH_HEX = 16;

/**
 * The daemon's root logger: the caller's logger, or a new pino logger at
 * `level` writing to stdout; either way bound to the node id.
 *
 * @example
 * const logger = createDaemonLogger('a', 'info');
 * logger.info({ event: 'listening' }, 'listening');   // {"level":30,"nodeId":"a","event":"listening",...}
 */
export function createDaemonLogger(nodeId: string, level: DaemonConfig['logLevel'], given?: Logger): Logger {
  return (given ?? pino({ name: 'tallymesh', level })).child({ nodeId });
}

/**
 * A function hashing rate-limit keys for logs and events: HMAC-SHA-256 keyed
 * with the cluster secret, truncated to 64 bits. Keyed, so that someone
 * holding the logs cannot confirm a guessed key (an IP address, an e-mail)
 * without the secret; the same on every node of a cluster, so lines about
 * one key correlate across nodes. Without a secret (loopback development)
 * the key is a fixed label and the hash is only a pseudonym.
 *
 * @example
 * const hashKey = keyHasher(secret);
 * hashKey('user:42');   // '3f0c5d9e1b2a7c44'
 */
export function keyHasher(secret: string): (key: string) => string {
  const hmacKey = secret === '' ? 'tallymesh-key-hash' : secret;
  return (key) => createHmac('sha256', hmacKey).update(key, 'utf8').digest('hex').slice(0, KEY_HASH_HEX);
}

/** What the startup line shows of the config: everything but the secret and the API token. */
export function configSummary(config: DaemonConfig): Record<string, unknown> {
  return {
    id: config.id,
    host: config.host,
    port: config.port,
    advertise: config.advertise,
    peers: config.peers,
    limiters: config.limiters.map((l) => ({ name: l.name, limit: l.limit, windowMs: l.windowMs, onOverflow: l.onOverflow ?? 'allow' })),
    maxKeys: config.maxKeys,
    secret: config.secret === '' ? 'none' : 'set',
    apiToken: config.apiToken === '' ? 'none' : 'set',
    tls: config.tls !== undefined,
  };
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
  #throttle: Throttle;

  constructor(logger: Logger, hashKey: (key: string) => string, now: () => number = Date.now) {
    this.logger = logger;
    this.#hashKey = hashKey;
    this.#throttle = new Throttle(LOG_THROTTLE_MS, now);
  }

  /** Logs the mesh's membership, skew, rejection and readiness events. */
  watch(mesh: Mesh): void {
    mesh.on('peer', (e: Extract<ReplicatorEvent, { type: 'peer' }>) => {
      // 'live' and 'down' are what an operator pages on; the rest are transitions worth seeing at info too.
      const level = e.state === 'down' || e.state === 'skewed' ? 'warn' : 'info';
      this.logger[level]({ event: 'peer', peer: e.nodeId, address: e.address, state: e.state, reason: e.reason }, `peer ${e.nodeId} ${e.state}`);
    });
    mesh.on('skew', (e: Extract<ReplicatorEvent, { type: 'skew' }>) => {
      const suppressed = this.#throttle.take(`skew:${e.nodeId}`);
      if (suppressed === null) return;
      this.logger.warn(
        { event: 'skew', peer: e.nodeId, offsetMs: e.offsetMs, suppressed },
        `refused a frame from ${e.nodeId}: its clock runs ${e.offsetMs} ms ahead`,
      );
    });
    mesh.on('reject', (e: Extract<ReplicatorEvent, { type: 'reject' }>) => {
      // Throttled by reason, not by remote: an unauthenticated remote is an address:port that changes per attempt.
      const suppressed = this.#throttle.take(`reject:${e.reason}`);
      if (suppressed === null) return;
      this.logger.warn({ event: 'reject', who: e.who, reason: e.reason, detail: e.detail, suppressed }, `refused ${e.who}: ${e.reason}`);
    });
    // A node without seeds is ready before anyone can listen: say so now.
    const ready = (): void => this.logger.info({ event: 'ready' }, 'ready: initial sync done');
    if (mesh.ready) ready();
    else mesh.once('ready', ready);
  }

  /** Logs that `limiter` met a new key past the node's key bound (at most once per limiter per interval). */
  overflow(limiter: Limiter, key: string, maxKeys: number): void {
    const suppressed = this.#throttle.take(`overflow:${limiter.name}`);
    if (suppressed === null) return;
    this.logger.warn(
      {
        event: 'overflow',
        limiter: limiter.name,
        bucket: limiter.currentBucket(),
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
