/**
 * The part of a transport that does not care what carries the bytes: the
 * table of authenticated peers, duplicate-link resolution, redial loops with
 * backoff, per-peer stats and the handler calls. The WebSocket transport and
 * the simulated network both wrap one LinkManager, which is what lets a
 * single conformance suite hold them to the same behaviour.
 *
 * @module
 */
import { encodeFrame } from './codec/codec.js';
import { FrameType } from './codec/frame.js';
import type { Frame } from './codec/frame.js';
import { Link } from './link.js';
import type { Conduit, LinkHost } from './link.js';
import type { Scheduler } from './scheduler.js';
import { PROBE_INTERVAL_MS, type DialFailure, type PeerInfo, type PeerStats, type RejectReason, type TransportHandlers } from './transport.js';

/** Redial delays: attempt n waits a uniform random time in [0, min(maxMs, initialMs * 2^n)) ("full jitter"). */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/**
 * The delay before redial attempt `attempt` (0 after a success): capped
 * exponential backoff with full jitter, as in the AWS Architecture Blog's
 * "Exponential Backoff And Jitter" — it spreads a thundering herd of
 * reconnecting nodes best.
 *
 * @example
 * ```ts
 * backoffDelay(3, { initialMs: 100, maxMs: 5000 }, Math.random); // in [0, 800)
 * ```
 */
export function backoffDelay(attempt: number, backoff: BackoffOptions, random: () => number): number {
  const cap = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** What duplicate resolution needs to know about a link; both ends of a link see the same values. */
export interface LinkIdentity {
  dialerId: string;
  dialerNonce: Uint8Array;
  incarnation: string;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Which of two authenticated links to the same peer survives. Deterministic
 * on both ends whatever order they authenticated the links in:
 * 1. a link from a newer incarnation of the peer replaces one from an older
 *    (the old process is gone; its link is only half-open);
 * 2. else the link dialed by the smaller node id wins;
 * 3. else (both dialed by the same node) the larger dialer nonce wins.
 *
 * @example
 * ```ts
 * chooseLink(existing, candidate) === 'candidate' ? swap() : refuse(candidate);
 * ```
 */
export function chooseLink(existing: LinkIdentity, candidate: LinkIdentity): 'existing' | 'candidate' {
  if (existing.incarnation !== candidate.incarnation) return 'candidate';
  if (existing.dialerId !== candidate.dialerId) {
    return candidate.dialerId < existing.dialerId ? 'candidate' : 'existing';
  }
  return compareBytes(candidate.dialerNonce, existing.dialerNonce) > 0 ? 'candidate' : 'existing';
}

/** One attempt to open a connection, handed to the concrete transport. */
export interface DialAttempt {
  readonly address: string;
  /**
   * The connection is open: run the handshake over `conduit`. Returns null
   * when the attempt was abandoned meanwhile; the caller then closes the conduit.
   */
  opened(conduit: Conduit): Link | null;
  /** No connection could be opened (`reason` defaults to `error`). */
  failed(detail: string, reason?: DialFailure): void;
}

/** Options of a {@link LinkManager}. */
export interface LinkManagerOptions {
  nodeId: string;
  incarnation: string;
  secret: string;
  address: () => string;
  scheduler: Scheduler;
  /** Jitter source in [0, 1). */
  random: () => number;
  /** Handshake nonce source. */
  nonce: () => Uint8Array;
  backoff: BackoffOptions;
  maxFrameBytes: number;
  handshakeTimeoutMs: number;
  /** Open a connection to `attempt.address`, then call `opened` or `failed`. */
  dial: (attempt: DialAttempt) => void;
  /**
   * A link proved the secret (before duplicate resolution): the concrete
   * transport lifts what it bounds only until then (pre-auth receive limits,
   * a pending-handshake slot).
   */
  authenticated?: (link: Link) => void;
}

/** A redial loop for one address ({@link LinkManager.connect}). */
interface DialLoop {
  readonly address: string;
  attempt: number;
  /** Bumped by every dial, so late callbacks of an older attempt are ignored. */
  token: number;
  link: Link | null;
  cancelTimer: (() => void) | null;
  /** Waiting until this node id has no link: it is connected through another one. */
  parkedOn: string | null;
}

type Lifecycle = 'idle' | 'running' | 'closed';

/**
 * Links, peers and redial loops of one node.
 *
 * @example
 * ```ts
 * const manager = new LinkManager({ ...identity, scheduler, random, nonce, backoff, maxFrameBytes,
 *   handshakeTimeoutMs, dial: (attempt) => openSocket(attempt) });
 * manager.start(handlers);
 * manager.connect('b.example:7070');
 * ```
 */
export class LinkManager implements LinkHost {
  readonly nodeId: string;
  readonly incarnation: string;
  readonly secret: string;
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly scheduler: Scheduler;
  #options: LinkManagerOptions;
  #handlers: TransportHandlers | null = null;
  #lifecycle: Lifecycle = 'idle';
  #links = new Set<Link>();
  #open = new Map<string, Link>();
  #stats = new Map<string, PeerStats>();
  #loops = new Map<string, DialLoop>();
  /** Links that authenticated (a dialed link closed before that failed its handshake). */
  #authenticated = new WeakSet<Link>();
  /** Stops the round-trip probes. */
  #stopProbes: (() => void) | null = null;

  constructor(options: LinkManagerOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    this.incarnation = options.incarnation;
    this.secret = options.secret;
    this.maxFrameBytes = options.maxFrameBytes;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs;
    this.scheduler = options.scheduler;
  }

  /** True between start() and close(). */
  get running(): boolean {
    return this.#lifecycle === 'running';
  }

  address(): string {
    return this.#options.address();
  }

  nonce(): Uint8Array {
    return this.#options.nonce();
  }

  /** Begin: loops registered before now start dialing. */
  start(handlers: TransportHandlers): void {
    if (this.#lifecycle !== 'idle') throw new Error(`transport ${this.nodeId} was already started`);
    this.#handlers = handlers;
    this.#lifecycle = 'running';
    for (const loop of this.#loops.values()) this.#dial(loop);
    this.#stopProbes = this.scheduler.every(PROBE_INTERVAL_MS, () => {
      for (const link of this.#open.values()) link.probe();
    });
  }

  /** See {@link Transport.connect}. */
  connect(address: string): void {
    if (this.#lifecycle === 'closed' || address === '' || this.#loops.has(address)) return;
    const loop: DialLoop = { address, attempt: 0, token: 0, link: null, cancelTimer: null, parkedOn: null };
    this.#loops.set(address, loop);
    if (this.#lifecycle === 'running') this.#dial(loop);
  }

  /** See {@link Transport.forget}. */
  forget(address: string): void {
    const loop = this.#loops.get(address);
    if (loop === undefined) return;
    loop.cancelTimer?.();
    this.#loops.delete(address);
  }

  /** An inbound connection: run the listener side of the handshake. Null when not accepting. */
  accept(conduit: Conduit): Link | null {
    if (this.#lifecycle !== 'running') return null;
    return this.#adopt(new Link(this, conduit, 'listener'));
  }

  /**
   * Report a connection the concrete transport refused before any link ran
   * on it (e.g. past its cap on unauthenticated connections). `who` is the
   * remote address.
   */
  refuse(who: string, reason: RejectReason, detail: string): void {
    if (this.#lifecycle === 'running') this.#handlers?.onReject(who, reason, detail);
  }

  /** See {@link Transport.send}. */
  send(nodeId: string, frame: Frame): boolean {
    const link = this.#open.get(nodeId);
    // Handshake frames belong to the link itself; an owner sending one would break the peer's state machine.
    if (link === undefined || frame.type === FrameType.HELLO || frame.type === FrameType.AUTH) return false;
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(frame, this.maxFrameBytes);
    } catch {
      return false; // too large or invalid: encodeFrame throws only FrameError, and send never throws
    }
    if (!link.write(bytes, frame.type)) return false;
    const stats = this.#statsOf(nodeId);
    stats.framesOut++;
    stats.bytesOut += bytes.length;
    return true;
  }

  /** See {@link Transport.disconnect}. */
  disconnect(nodeId: string, reason: string): void {
    this.#open.get(nodeId)?.close(reason);
  }

  /** See {@link Transport.peers}. */
  peers(): PeerInfo[] {
    return [...this.#open.values()].map((link) => ({ ...(link.peer as PeerInfo) }));
  }

  /** See {@link Transport.stats}. */
  stats(nodeId: string): PeerStats {
    const stats = this.#stats.get(nodeId);
    const link = this.#open.get(nodeId);
    return {
      bytesIn: stats?.bytesIn ?? 0,
      bytesOut: stats?.bytesOut ?? 0,
      framesIn: stats?.framesIn ?? 0,
      framesOut: stats?.framesOut ?? 0,
      queuedBytes: link?.queuedBytes() ?? 0,
      framesDropped: stats?.framesDropped ?? 0,
    };
  }

  /** See {@link Transport.roundTripMs}. */
  roundTripMs(nodeId: string): number | undefined {
    return this.#open.get(nodeId)?.roundTripMs();
  }

  /**
   * Stop every loop and close every link with `reason`, draining each: what
   * the owner queued last (the final DELTA, the BYE) still goes out before
   * the close, within the concrete transport's close timeout. Idempotent.
   */
  close(reason: string): void {
    if (this.#lifecycle === 'closed') return;
    this.#lifecycle = 'closed';
    this.#stopProbes?.();
    this.#stopProbes = null;
    for (const loop of this.#loops.values()) loop.cancelTimer?.();
    this.#loops.clear();
    for (const link of [...this.#links]) link.close(reason, 'drain');
  }

  /**
   * A draining link's conduit could not send `frames` frames (`bytes` bytes)
   * before its socket closed or its close timeout passed: reported to the
   * owner, naming the peer. Nothing to report for a link that never said who
   * it was (only handshake frames could have waited).
   */
  unsent(link: Link, frames: number, bytes: number): void {
    const nodeId = link.peer?.nodeId;
    if (nodeId !== undefined && frames > 0) this.#handlers?.onUnsent?.(nodeId, frames, bytes);
  }

  // ---- LinkHost ----

  linkAuthenticated(link: Link): void {
    this.#authenticated.add(link);
    this.#options.authenticated?.(link);
    const peer = link.peer as PeerInfo;
    const loop = this.#loopOf(link);
    if (loop !== null) {
      loop.attempt = 0;
      this.#handlers?.onDialResult?.(loop.address, { ok: true, nodeId: peer.nodeId });
    }
    const existing = this.#open.get(peer.nodeId);
    if (existing !== undefined) {
      const winner = chooseLink(this.#identity(existing), this.#identity(link));
      if (winner === 'existing') {
        link.fail('duplicate', `already connected to ${peer.nodeId}`);
        return;
      }
      // The new link takes the peer over; the owner sees down then up, since frames in flight
      // on the old link may be lost and it must resync.
      const reason = existing.peer?.incarnation === peer.incarnation ? 'duplicate' : 'restarted';
      this.#open.set(peer.nodeId, link);
      if (reason === 'duplicate') existing.fail('duplicate', `a preferred link to ${peer.nodeId} replaced this one`);
      else existing.close(reason);
      this.#handlers?.onPeerDown(peer.nodeId, reason);
    }
    this.#open.set(peer.nodeId, link);
    this.#handlers?.onPeerUp({ ...peer });
  }

  linkFrame(link: Link, frame: Frame, size: number): void {
    const nodeId = (link.peer as PeerInfo).nodeId;
    const stats = this.#statsOf(nodeId);
    stats.framesIn++;
    stats.bytesIn += size;
    this.#handlers?.onFrame(nodeId, frame);
  }

  linkRejected(link: Link, reason: RejectReason, detail: string): void {
    this.#handlers?.onReject(link.who, reason, detail);
  }

  linkOverflowed(link: Link, dropped: number): void {
    const nodeId = (link.peer as PeerInfo).nodeId;
    this.#statsOf(nodeId).framesDropped += dropped;
    this.#handlers?.onOverflow(nodeId);
  }

  linkClosed(link: Link, reason: string): void {
    this.#links.delete(link);
    const nodeId = link.peer?.nodeId ?? null;
    if (nodeId !== null && this.#open.get(nodeId) === link) {
      this.#open.delete(nodeId);
      this.#handlers?.onPeerDown(nodeId, reason);
      this.#wakeParked(nodeId);
    }
    const loop = this.#loopOf(link);
    if (loop === null) return;
    loop.link = null;
    if (this.#lifecycle !== 'running') return;
    // Opened but never authenticated: the dial failed in the tallymesh handshake (another secret, version, a timeout).
    // One that reached this node itself is no failure: it is reported as a link to ourselves, and not redialed.
    if (!this.#authenticated.has(link)) {
      const result = reason === 'self' ? { ok: true as const, nodeId: this.nodeId } : { ok: false as const, reason: 'handshake' as const, detail: `handshake failed: ${reason}` };
      this.#handlers?.onDialResult?.(loop.address, result);
    }
    if (reason === 'self') {
      // Dialing ourselves again would only fail the same way.
      this.forget(loop.address);
    } else if (nodeId !== null && this.#open.has(nodeId)) {
      // Lost a duplicate resolution: the peer is reachable through another link; redial once that one drops.
      loop.parkedOn = nodeId;
    } else {
      this.#retry(loop);
    }
  }

  // ---- internals ----

  #adopt(link: Link): Link {
    this.#links.add(link);
    link.start();
    return link;
  }

  #identity(link: Link): { dialerId: string; dialerNonce: Uint8Array; incarnation: string } {
    return {
      dialerId: link.dialerId as string,
      dialerNonce: link.dialerNonce as Uint8Array,
      incarnation: (link.peer as PeerInfo).incarnation,
    };
  }

  #loopOf(link: Link): DialLoop | null {
    if (link.role !== 'dialer') return null;
    const loop = this.#loops.get(link.dialAddress);
    return loop !== undefined && loop.link === link ? loop : null;
  }

  #statsOf(nodeId: string): PeerStats {
    let stats = this.#stats.get(nodeId);
    if (stats === undefined) {
      stats = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, queuedBytes: 0, framesDropped: 0 };
      this.#stats.set(nodeId, stats);
    }
    return stats;
  }

  #dial(loop: DialLoop): void {
    loop.cancelTimer = null;
    loop.parkedOn = null;
    const token = ++loop.token;
    const current = (): boolean =>
      this.#lifecycle === 'running' && this.#loops.get(loop.address) === loop && loop.token === token;
    this.#options.dial({
      address: loop.address,
      opened: (conduit) => {
        if (!current()) return null;
        loop.token++; // this attempt is settled
        loop.link = new Link(this, conduit, 'dialer', loop.address);
        return this.#adopt(loop.link);
      },
      failed: (detail, reason = 'error') => {
        if (current()) {
          loop.token++;
          this.#handlers?.onDialResult?.(loop.address, { ok: false, reason, detail });
          this.#retry(loop);
        }
      },
    });
  }

  #retry(loop: DialLoop): void {
    const delay = backoffDelay(loop.attempt, this.#options.backoff, this.#options.random);
    loop.attempt++;
    loop.cancelTimer = this.scheduler.after(delay, () => this.#dial(loop));
  }

  #wakeParked(nodeId: string): void {
    if (this.#lifecycle !== 'running') return;
    for (const loop of this.#loops.values()) {
      if (loop.parkedOn === nodeId && loop.link === null && loop.cancelTimer === null) {
        loop.parkedOn = null;
        this.#retry(loop);
      }
    }
  }
}
