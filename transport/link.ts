/**
 * One connection between two nodes, from its first byte to its close,
 * independent of what carries the bytes (a WebSocket or the simulated
 * network). It runs the handshake state machine and hands authenticated
 * frames to its host.
 *
 * Handshake (both directions carry `[version, type, hlc=0, physicalMs=0, body]` frames):
 *
 * ```
 * dialer                          listener
 *   HELLO(id, addr, inc, Nd)  -->
 *                             <--  HELLO(id, addr, inc, Nl)
 *                             <--  AUTH(mac('listener'))
 *   verify; AUTH(mac('dialer')) -->
 *   open                           verify; open
 * ```
 *
 * Any other frame before `open` is refused ('unexpected'); a wrong proof is
 * refused ('auth') and nothing of that connection ever reaches the owner.
 *
 * @module
 */
import { decodeFrame, encodeFrame, FrameError, frameTypeName } from './codec/codec.js';
import { FrameType } from './codec/frame.js';
import type { Frame, FrameTypeCode } from './codec/frame.js';
import { computeMac, verifyMac } from './handshake.js';
import type { HandshakeRole } from './handshake.js';
import type { Scheduler } from './scheduler.js';
import type { PeerInfo, RejectReason } from './transport.js';

/**
 * How a connection closes: `now` drops whatever still waits to be sent (a
 * refusal, a replaced link); `drain` sends it first, accepting nothing new
 * (the node leaving: its final DELTA and BYE are queued last). The
 * transport bounds a drain by its close timeout.
 */
export type CloseMode = 'now' | 'drain';

/** The byte pipe under a link: one WebSocket, or one simulated connection. */
export interface Conduit {
  /** The remote end for logs (`ip:port`, or the sim address), used until the peer's node id is known. */
  readonly remote: string;
  /** Write one encoded frame. Never throws; false when the frame was not accepted. */
  write(bytes: Uint8Array, type: FrameTypeCode): boolean;
  /** Close the connection, telling the other side `reason` (default mode `now`). Idempotent. */
  close(reason: string, mode?: CloseMode): void;
  /** Bytes accepted but not yet handed to the network. */
  queuedBytes(): number;
  /**
   * Sends a round-trip probe that the other end answers by itself (a
   * WebSocket ping, answered with a pong by every compliant peer): no frame of
   * the tallymesh protocol, so peers of any version answer it. Optional: a
   * conduit without it has no {@link roundTripMs}.
   */
  probe?(): void;
  /** Smoothed round-trip time of the probes (ms); NaN until one was answered. */
  readonly roundTripMs?: number;
}

/** Handshake progress of a link (the same names for both roles). */
export type LinkState = 'await-hello' | 'await-auth' | 'open' | 'closed';

/** What a link needs from the transport that owns it. */
export interface LinkHost {
  /** This node's id, sent in HELLO. */
  readonly nodeId: string;
  /** This process's incarnation, sent in HELLO. */
  readonly incarnation: string;
  /** The cluster secret keying the proofs. */
  readonly secret: string;
  /** Bound of one frame, both ways. */
  readonly maxFrameBytes: number;
  /** Deadline for the whole handshake. */
  readonly handshakeTimeoutMs: number;
  /** Arms the handshake deadline. */
  readonly scheduler: Scheduler;
  /** The address this node advertises in its HELLO. */
  address(): string;
  /** A fresh handshake nonce. */
  nonce(): Uint8Array;
  /** Both proofs checked out: the link is open. */
  linkAuthenticated(link: Link): void;
  /** A post-handshake frame of `size` encoded bytes arrived. */
  linkFrame(link: Link, frame: Frame, size: number): void;
  /** The link refused something (reported before it closes). */
  linkRejected(link: Link, reason: RejectReason, detail: string): void;
  /** The conduit dropped `dropped` queued frames of an open link. */
  linkOverflowed(link: Link, dropped: number): void;
  /** The link is closed, from either side; called exactly once. */
  linkClosed(link: Link, reason: string): void;
}

/**
 * Largest frame accepted before authentication. A HELLO at its bounds is
 * under 600 bytes; refusing more spares decoding work to anyone who can
 * merely open a socket. The link checks whole messages; the WebSocket
 * transport also holds its sockets to this bound while frames arrive
 * (`ws/pre-auth-guard.ts`), so such a frame is never buffered either.
 */
export const MAX_HANDSHAKE_FRAME_BYTES = 1_024;

/** Refusals a peer can only tell us by closing; the others this side detects by itself. */
const REMOTE_ONLY_REFUSALS: ReadonlySet<string> = new Set<RejectReason>(['auth', 'version', 'too-large', 'malformed', 'unexpected', 'timeout']);

/**
 * The handshake state machine and frame pump of one connection.
 *
 * @example
 * ```ts
 * const link = new Link(host, conduit, 'dialer', 'b.example:7070');
 * link.start(); // sends HELLO, arms the handshake deadline
 * socket.on('message', (bytes) => link.receive(bytes));
 * socket.on('close', (reason) => link.remoteClosed(reason));
 * ```
 */
export class Link {
  /** Which end of the connection this node is. */
  readonly role: HandshakeRole;
  /** The address dialed ('' for accepted connections). */
  readonly dialAddress: string;
  #host: LinkHost;
  #conduit: Conduit;
  #state: LinkState = 'await-hello';
  #localNonce: Uint8Array;
  #remoteNonce: Uint8Array | null = null;
  #peer: PeerInfo | null = null;
  #cancelDeadline: (() => void) | null = null;

  constructor(host: LinkHost, conduit: Conduit, role: HandshakeRole, dialAddress = '') {
    this.#host = host;
    this.#conduit = conduit;
    this.role = role;
    this.dialAddress = dialAddress;
    this.#localNonce = host.nonce();
  }

  /** Where the handshake is. */
  get state(): LinkState {
    return this.#state;
  }

  /** The remote node as its HELLO described it (null before HELLO). Authenticated only once `open`. */
  get peer(): PeerInfo | null {
    return this.#peer;
  }

  /** Who to name in logs: the node id once known, else the remote address. */
  get who(): string {
    return this.#peer?.nodeId ?? this.#conduit.remote;
  }

  /** Node id of the side that dialed (null before HELLO). */
  get dialerId(): string | null {
    if (this.#peer === null) return null;
    return this.role === 'dialer' ? this.#host.nodeId : this.#peer.nodeId;
  }

  /** The dialer's nonce (null before HELLO): both ends know it, which makes it a shared tiebreak. */
  get dialerNonce(): Uint8Array | null {
    return this.role === 'dialer' ? this.#localNonce : this.#remoteNonce;
  }

  /** Bytes waiting in the conduit. */
  queuedBytes(): number {
    return this.#conduit.queuedBytes();
  }

  /** Sends a round-trip probe when the link is open and its conduit can (see {@link Conduit.probe}). */
  probe(): void {
    if (this.#state === 'open') this.#conduit.probe?.();
  }

  /** Smoothed round-trip time to the peer (ms); undefined until measured, or when the conduit cannot probe. */
  roundTripMs(): number | undefined {
    const rtt = this.#conduit.roundTripMs;
    return rtt === undefined || Number.isNaN(rtt) ? undefined : rtt;
  }

  /** Arm the handshake deadline; a dialer also sends its HELLO. Call once, after the host registered the link. */
  start(): void {
    this.#cancelDeadline = this.#host.scheduler.after(this.#host.handshakeTimeoutMs, () =>
      this.fail('timeout', `handshake not finished after ${this.#host.handshakeTimeoutMs} ms`),
    );
    if (this.role === 'dialer') this.#sendHello();
  }

  /** Bytes of one message from the conduit. Never throws. */
  receive(bytes: Uint8Array): void {
    if (this.#state === 'closed') return;
    if (this.#state !== 'open' && bytes.length > MAX_HANDSHAKE_FRAME_BYTES) {
      this.fail('too-large', `${bytes.length}-byte frame during the handshake (at most ${MAX_HANDSHAKE_FRAME_BYTES})`);
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(bytes, this.#host.maxFrameBytes);
    } catch (err) {
      const error = err instanceof FrameError ? err : new FrameError('malformed', String(err));
      this.fail(error.reason, error.message);
      return;
    }
    if (this.#state === 'open') {
      if (frame.type === FrameType.HELLO || frame.type === FrameType.AUTH) {
        this.fail('unexpected', `${frameTypeName(frame.type)} after the handshake`);
      } else {
        this.#host.linkFrame(this, frame, bytes.length);
      }
    } else if (this.#state === 'await-hello') {
      this.#onHello(frame);
    } else {
      this.#onAuth(frame);
    }
  }

  /** Send an encoded post-handshake frame. False unless open and accepted by the conduit. */
  write(bytes: Uint8Array, type: FrameTypeCode): boolean {
    return this.#state === 'open' && this.#conduit.write(bytes, type);
  }

  /** The conduit dropped `count` queued frames to stay within its bound. */
  overflowed(count: number): void {
    if (this.#state === 'open') this.#host.linkOverflowed(this, count);
  }

  /** Refuse: report `reason`, then close with it. */
  fail(reason: RejectReason, detail: string): void {
    if (this.#state === 'closed') return;
    this.#host.linkRejected(this, reason, detail);
    this.close(reason);
  }

  /** Close from this side, telling the peer `reason`; `drain` sends what is queued first. Idempotent. */
  close(reason: string, mode: CloseMode = 'now'): void {
    if (this.#state === 'closed') return;
    this.#finish();
    this.#conduit.close(reason, mode);
    this.#host.linkClosed(this, reason);
  }

  /** The connection ended from the other side (or the network). Idempotent. */
  remoteClosed(reason: string): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#finish();
    if (!wasOpen && REMOTE_ONLY_REFUSALS.has(reason)) {
      // The peer refused our handshake (a secret mismatch shows up here on the listener side).
      this.#host.linkRejected(
        this,
        reason as RejectReason,
        reason === 'version' ? 'refused by the peer: it speaks another protocol version (nodes of different versions do not mesh; see docs/protocol.md)' : 'refused by the peer',
      );
    }
    this.#host.linkClosed(this, reason);
  }

  #finish(): void {
    this.#state = 'closed';
    this.#cancelDeadline?.();
    this.#cancelDeadline = null;
  }

  #onHello(frame: Frame): void {
    if (frame.type !== FrameType.HELLO) {
      this.fail('unexpected', `${frameTypeName(frame.type)} before HELLO`);
      return;
    }
    const { nodeId, address, incarnation, nonce } = frame.body;
    this.#peer = { nodeId, address, incarnation };
    this.#remoteNonce = nonce;
    if (nodeId === this.#host.nodeId) {
      // Answer first, so the dialer sees for itself that it reached its own node and stops redialing.
      if (this.role === 'listener') this.#sendHello();
      this.fail('self', `${this.#conduit.remote} is this node (${nodeId})`);
      return;
    }
    this.#state = 'await-auth';
    if (this.role === 'listener') {
      this.#sendHello();
      this.#sendAuth();
    }
  }

  #onAuth(frame: Frame): void {
    if (frame.type !== FrameType.AUTH) {
      this.fail('unexpected', `${frameTypeName(frame.type)} before AUTH`);
      return;
    }
    const remoteRole: HandshakeRole = this.role === 'dialer' ? 'listener' : 'dialer';
    if (!verifyMac(this.#host.secret, remoteRole, ...this.#transcript(), frame.body.mac)) {
      this.fail('auth', 'HMAC proof does not match (do the cluster secrets differ?)');
      return;
    }
    if (this.role === 'dialer') {
      this.#sendAuth();
      if (this.#state === 'closed') return;
    }
    this.#state = 'open';
    this.#cancelDeadline?.();
    this.#cancelDeadline = null;
    this.#host.linkAuthenticated(this);
  }

  /** [dialerNonce, listenerNonce, dialerId, listenerId] as both ends see them. */
  #transcript(): [Uint8Array, Uint8Array, string, string] {
    const peer = this.#peer as PeerInfo;
    const remoteNonce = this.#remoteNonce as Uint8Array;
    return this.role === 'dialer'
      ? [this.#localNonce, remoteNonce, this.#host.nodeId, peer.nodeId]
      : [remoteNonce, this.#localNonce, peer.nodeId, this.#host.nodeId];
  }

  #sendHello(): void {
    const frame: Frame = {
      type: FrameType.HELLO,
      hlc: 0, // the HLC belongs to the replicator, above the handshake
      body: {
        nodeId: this.#host.nodeId,
        address: this.#host.address(),
        incarnation: this.#host.incarnation,
        nonce: this.#localNonce,
      },
    };
    this.#writeHandshake(frame);
  }

  #sendAuth(): void {
    const mac = computeMac(this.#host.secret, this.role, ...this.#transcript());
    this.#writeHandshake({ type: FrameType.AUTH, hlc: 0, body: { mac } });
  }

  #writeHandshake(frame: Frame): void {
    try {
      this.#conduit.write(encodeFrame(frame, this.#host.maxFrameBytes), frame.type);
    } catch (err) {
      // Only reachable through a bad advertised address; refuse the connection rather than throw from a socket callback.
      const error = err as FrameError;
      this.fail(error.reason ?? 'malformed', `cannot send ${frameTypeName(frame.type)}: ${error.message}`);
    }
  }
}
