/**
 * The one network seam of tallymesh. The replicator talks to peers only
 * through a {@link Transport}; the WebSocket transport and the simulated
 * network both implement it, and one conformance suite runs against both.
 *
 * @module
 */
import type { Frame } from './codec/frame.js';

/** How often each open link is probed for its round-trip time (ms). */
export const PROBE_INTERVAL_MS = 1000;

/** An authenticated peer. */
export interface PeerInfo {
  nodeId: string;
  /** `host:port` the peer accepts mesh connections on ('' when it accepts none). */
  address: string;
  /** The peer's process incarnation (changes on every restart). */
  incarnation: string;
}

/** Why a frame or a connection was refused. Used as a metric label. */
export type RejectReason =
  | 'auth' // HMAC proof missing or wrong
  | 'version' // unknown protocol version
  | 'too-large' // frame above maxFrameBytes
  | 'malformed' // not MessagePack, or a body of the wrong shape
  | 'unexpected' // a frame that is not allowed in the current handshake state
  | 'duplicate' // a second connection from a node already connected
  | 'self' // the node connected to itself
  | 'timeout' // the handshake did not finish within its deadline
  | 'too-many-handshakes' // an upgrade past the cap on unauthenticated connections
  | 'too-many-handshakes-per-address' // an upgrade past the cap on unauthenticated connections from one address
  | 'handshake-evicted'; // an unauthenticated connection cut to make room for a newcomer while the cap was full

/**
 * Why a dial did not give an authenticated link. Used as a metric label.
 * `refused`: nothing listens there; `unreachable`: no route or host down;
 * `dns`: the name does not resolve; `timeout`: no answer in time; `tls`: the
 * TLS handshake failed (a certificate from another CA, a name or IP not in
 * its SANs, an expired one, or our client certificate refused); `http`: the
 * server answered the upgrade with an HTTP status (not a tallymesh port, or
 * busy); `handshake`: the link opened but the tallymesh handshake failed
 * (another secret, another protocol version); `closed`: the connection
 * closed before opening, for no reason given; `error`: anything else.
 */
export type DialFailure = 'refused' | 'unreachable' | 'dns' | 'timeout' | 'tls' | 'http' | 'handshake' | 'closed' | 'error';

/** How a dial ended: authenticated as `nodeId`, or failed for `reason`. */
export type DialResult = { ok: true; nodeId: string } | { ok: false; reason: DialFailure; detail: string };

/** Per-peer traffic counters. */
export interface PeerStats {
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  /** Bytes currently waiting in this peer's send queue. */
  queuedBytes: number;
  /** Frames dropped from this peer's send queue because it was over its byte bound. */
  framesDropped: number;
}

/** Callbacks a transport delivers to its owner. None of them may throw. */
export interface TransportHandlers {
  /** A peer finished the handshake; frames may now flow both ways. */
  onPeerUp(peer: PeerInfo): void;
  /** An authenticated peer went away (socket closed, kicked, or closed by us). */
  onPeerDown(nodeId: string, reason: string): void;
  /** A post-handshake frame from an authenticated peer. */
  onFrame(nodeId: string, frame: Frame): void;
  /**
   * The peer's send queue passed its byte bound and delta frames were dropped:
   * the owner must send that peer a snapshot.
   */
  onOverflow(nodeId: string): void;
  /** A connection or frame was refused. `who` is a node id when known, else the remote address. */
  onReject(who: string, reason: RejectReason, detail: string): void;
  /**
   * Closing, the link to `nodeId` could not send `frames` queued frames
   * (`bytes` bytes) before the peer went away or the close timeout passed.
   * Only a transport with backpressure calls it (the simulated wire has none).
   */
  onUnsent?(nodeId: string, frames: number, bytes: number): void;
  /**
   * A dial to `address` (from {@link Transport.connect}) ended: authenticated,
   * or failed before a link was up (each failed attempt is reported; the
   * transport redials with backoff).
   */
  onDialResult?(address: string, result: DialResult): void;
}

/**
 * Moves frames between authenticated nodes.
 *
 * Guarantees: frames from one peer arrive in send order while a connection
 * lasts (the simulated network may reorder on purpose); nothing reaches
 * `onFrame` before both sides proved the shared secret; `send` never blocks
 * and never throws.
 */
export interface Transport {
  /** This node's id. */
  readonly nodeId: string;
  /** Start listening/delivering. Handlers are fixed for the transport's life. */
  start(handlers: TransportHandlers): Promise<void>;
  /** The `host:port` peers should dial to reach this node ('' when not listening). */
  address(): string;
  /**
   * Keep a link to `address` up: dial now and redial with capped exponential
   * backoff and jitter after every loss, until {@link Transport.forget} or close.
   * Idempotent.
   */
  connect(address: string): void;
  /** Stop redialing `address` (an open link stays until it drops). */
  forget(address: string): void;
  /**
   * Queue a frame for an authenticated peer. Returns false when the peer is
   * not connected or the frame was refused (too large). Never throws.
   */
  send(nodeId: string, frame: Frame): boolean;
  /** Close the link to a peer with a reason (it may reconnect later). */
  disconnect(nodeId: string, reason: string): void;
  /** Authenticated peers, now. */
  peers(): PeerInfo[];
  /** Traffic counters for a peer (zeros for an unknown peer). */
  stats(nodeId: string): PeerStats;
  /**
   * Smoothed round-trip time to an authenticated peer in ms, measured by
   * probes the peer answers by itself, every {@link PROBE_INTERVAL_MS}
   * (undefined: not linked, not measured yet, or a transport that cannot
   * probe). What lag-aware admission takes a one-way delay from
   * (docs/accuracy.md).
   */
  roundTripMs?(nodeId: string): number | undefined;
  /**
   * Close every link and stop listening. Idempotent. Frames already queued
   * (the owner's final DELTA and BYE) are sent before each link closes, for
   * at most the transport's close timeout; what could not be sent by then is
   * reported through {@link TransportHandlers.onUnsent}.
   */
  close(): Promise<void>;
}
