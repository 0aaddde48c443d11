/**
 * The real {@link Transport}: WebSocket links on the node's HTTP(S) server,
 * at path {@link MESH_PATH}.
 *
 * The handshake, duplicate resolution, redialing and stats live in the
 * shared {@link LinkManager}; this file owns sockets: accepting upgrades,
 * dialing `ws://` or `wss://`, keepalive pings and an orderly close.
 *
 * Until a link authenticates, what its socket may cost is bounded: inbound
 * upgrades past {@link DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS}
 * unauthenticated connections from one address are refused with 503, and
 * past {@link DEFAULT_MAX_PENDING_HANDSHAKES} in all the oldest socket of the
 * address holding the most is cut to admit the newcomer
 * (`handshake-evicted`; a newcomer from that address gets 503 instead), so a
 * flood cannot keep an honest peer out ({@link PendingHandshakes}); every
 * socket, inbound or dialed, is held to the handshake frame size by a
 * {@link PreAuthGuard} (ws's own `maxPayload` is the full frame bound, fixed
 * per server); and a socket not open by the handshake deadline plus a short
 * grace for the close frame is cut.
 *
 * Closing drains: every open link sends what its queue holds (the final
 * DELTA and BYE come last), waits for its socket writes to complete, then
 * sends the close frame; a link not closed within `closeTimeoutMs` is cut,
 * and the frames it still held are reported (`onUnsent`) instead of being
 * silently dropped.
 *
 * @module
 */
import type http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Frame } from '../codec/frame.js';
import { createNonce } from '../handshake.js';
import { MAX_HANDSHAKE_FRAME_BYTES } from '../link.js';
import type { Link } from '../link.js';
import { LinkManager } from '../link-manager.js';
import type { DialAttempt } from '../link-manager.js';
import { integerOptionOr, optionError, resolveLinkOptions } from '../options.js';
import { realScheduler, type Scheduler } from '../scheduler.js';
import type { PeerInfo, PeerStats, Transport, TransportHandlers } from '../transport.js';
import { formatAddress } from '../../src/validate.js';
import { PendingHandshakes } from './pending-handshakes.js';
import { PreAuthGuard } from './pre-auth-guard.js';
import { dialFailure } from './dial-failure.js';
import { WsConduit } from './ws-conduit.js';

/** URL path of the peer WebSocket. */
export const MESH_PATH = '/v1/mesh';
/** Default bound of each peer's send queue. */
export const DEFAULT_MAX_QUEUE_BYTES = 8 * 1024 * 1024;
/** Default keepalive ping interval; a peer silent for two intervals is dropped. */
export const DEFAULT_KEEPALIVE_MS = 15_000;
/**
 * Default cap on inbound connections that have not authenticated yet. Each
 * holds at most 4 KiB of frames plus one socket read, and an
 * honest peer holds a slot for about two round trips, so even a large
 * cluster reconnecting at once stays far below it. Past it, the heaviest
 * holder's oldest socket makes room (see {@link PendingHandshakes}).
 */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 128;
/**
 * Default cap on unauthenticated inbound connections from one address (an
 * IPv6 /64): an honest node has one or two handshakes in flight, so this
 * leaves room for several nodes behind one address.
 */
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS = 16;
/** Raw bytes a socket may send before AUTH: a HELLO and an AUTH at their bound, with room for control frames. */
const MAX_PRE_AUTH_BYTES = 4 * MAX_HANDSHAKE_FRAME_BYTES;
/** Grace for a close frame to be answered: added to the handshake deadline before an unauthenticated socket is cut. */
const CLOSE_GRACE_MS = 1_000;
/**
 * Default bound of close(): how long links may take to send what they hold
 * and have their close frames answered before they are cut.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
/** What a refused upgrade gets: a status a dialer's log can show, and the connection closed. */
const BUSY_RESPONSE = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** TLS settings for dialing peers over `wss://` (the listening side is the https.Server's business). */
export interface WsTlsOptions {
  /** CA certificate(s) that peers' certificates must chain to (default: the system store). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate, for peers that require mTLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

/** Options of {@link createWsTransport}. */
export interface WsTransportOptions {
  nodeId: string;
  /** Changes on every process start. */
  incarnation: string;
  /** Cluster secret; '' only for loopback development (both sides must then use ''). */
  secret: string;
  /** The server whose `upgrade` events on {@link MESH_PATH} this transport takes; other paths are left alone. */
  server: http.Server | https.Server;
  /** `host:port` peers should dial (a function is read at each handshake). Default: the server's bound address. */
  advertise?: string | (() => string);
  /** Bound of one frame on send and receive (also ws `maxPayload`). Default 4 MiB. */
  maxFrameBytes?: number;
  /** Bound of each peer's send queue. Default 8 MiB. */
  maxQueueBytes?: number;
  /** Redial backoff. Default { initialMs: 100, maxMs: 5000 }, full jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Dial `wss://` with these settings; without it, dial `ws://`. */
  tls?: WsTlsOptions;
  /** Default {@link realScheduler}. */
  scheduler?: Scheduler;
  /** Default 3000 (`DEFAULT_HANDSHAKE_TIMEOUT_MS` of `transport/options.ts`). */
  handshakeTimeoutMs?: number;
  /** Cap on inbound connections that have not authenticated; past it the heaviest address's oldest one is cut to admit a newcomer. Default 128. */
  maxPendingHandshakes?: number;
  /** Cap on unauthenticated inbound connections from one address (IPv6: one /64). Default 16. */
  maxPendingHandshakesPerAddress?: number;
  /** Ping interval; 0 disables keepalive. Default 15000. */
  keepaliveMs?: number;
  /**
   * How long close() may drain: queued frames go out and close frames are
   * answered within it; then remaining sockets are cut and what they held is
   * reported through `onUnsent`. 0 cuts at once. Default 5000.
   */
  closeTimeoutMs?: number;
}

function boundAddress(server: http.Server | https.Server): string {
  const bound = server.address() as AddressInfo | string | null;
  if (bound === null || typeof bound === 'string') return '';
  return formatAddress(bound.address, bound.port);
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
}

/** Answers an upgrade with 503 and closes the connection, like ws's own refusals. */
function refuseUpgrade(socket: Duplex): void {
  socket.on('error', () => {}); // a reset while answering changes nothing
  socket.once('finish', () => socket.destroy());
  socket.end(BUSY_RESPONSE);
}

/** An inbound socket's pending-handshake slot: give it back, or (the node is full) be cut to make room. */
interface PendingSlot {
  release: () => void;
  evict: (detail: string) => void;
}

function whenClosed(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

class WsTransport implements Transport {
  readonly nodeId: string;
  #server: http.Server | https.Server;
  #wss: WebSocketServer;
  #manager: LinkManager;
  #advertise: () => string;
  #scheme: 'ws' | 'wss';
  #tls: WsTlsOptions;
  #maxFrameBytes: number;
  #maxQueueBytes: number;
  #keepaliveMs: number;
  #closeTimeoutMs: number;
  #scheduler: Scheduler;
  #sockets = new Set<WebSocket>();
  #conduits = new Set<WsConduit>();
  #pending: PendingHandshakes;
  /** Per link not yet open: lifts its pre-auth bounds (called on AUTH, or when the socket closes). */
  #preAuth = new Map<Link, () => void>();
  #stopKeepalive: (() => void) | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: WsTransportOptions) {
    const link = resolveLinkOptions(options);
    if (options.server === null || typeof options.server !== 'object' || typeof options.server.on !== 'function') {
      throw optionError(TypeError, 'server', 'an http.Server or https.Server', options.server);
    }
    const advertise = options.advertise;
    if (advertise !== undefined && typeof advertise !== 'string' && typeof advertise !== 'function') {
      throw optionError(TypeError, 'advertise', 'a host:port string or a function returning one', advertise);
    }
    this.nodeId = link.nodeId;
    this.#server = options.server;
    this.#advertise =
      advertise === undefined ? () => boundAddress(this.#server) : typeof advertise === 'string' ? () => advertise : advertise;
    this.#scheme = options.tls === undefined ? 'ws' : 'wss';
    this.#tls = options.tls ?? {};
    this.#maxFrameBytes = link.maxFrameBytes;
    this.#maxQueueBytes = integerOptionOr('maxQueueBytes', options.maxQueueBytes, DEFAULT_MAX_QUEUE_BYTES, link.maxFrameBytes);
    this.#keepaliveMs = integerOptionOr('keepaliveMs', options.keepaliveMs, DEFAULT_KEEPALIVE_MS, 0);
    this.#closeTimeoutMs = integerOptionOr('closeTimeoutMs', options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, 0);
    this.#scheduler = options.scheduler ?? realScheduler;
    this.#pending = new PendingHandshakes(
      integerOptionOr('maxPendingHandshakes', options.maxPendingHandshakes, DEFAULT_MAX_PENDING_HANDSHAKES, 1),
      integerOptionOr('maxPendingHandshakesPerAddress', options.maxPendingHandshakesPerAddress, DEFAULT_MAX_PENDING_HANDSHAKES_PER_ADDRESS, 1),
    );
    // Synchronous 'message' events are what PreAuthGuard relies on (ws's default, stated so it cannot drift).
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: link.maxFrameBytes, perMessageDeflate: false, allowSynchronousEvents: true });
    this.#manager = new LinkManager({
      ...link,
      address: () => (this.#manager.running ? this.#advertise() : ''),
      scheduler: this.#scheduler,
      random: Math.random,
      nonce: createNonce,
      dial: (attempt) => this.#dial(attempt),
      authenticated: (l) => this.#preAuth.get(l)?.(),
    });
  }

  async start(handlers: TransportHandlers): Promise<void> {
    this.#manager.start(handlers);
    this.#server.on('upgrade', this.#onUpgrade);
    if (this.#keepaliveMs > 0) {
      this.#stopKeepalive = this.#scheduler.every(this.#keepaliveMs, () => {
        for (const conduit of this.#conduits) conduit.heartbeat();
      });
    }
  }

  address(): string {
    return this.#manager.address();
  }

  connect(address: string): void {
    this.#manager.connect(address);
  }

  forget(address: string): void {
    this.#manager.forget(address);
  }

  send(nodeId: string, frame: Frame): boolean {
    return this.#manager.send(nodeId, frame);
  }

  disconnect(nodeId: string, reason: string): void {
    this.#manager.disconnect(nodeId, reason);
  }

  peers(): PeerInfo[] {
    return this.#manager.peers();
  }

  stats(nodeId: string): PeerStats {
    return this.#manager.stats(nodeId);
  }

  roundTripMs(nodeId: string): number | undefined {
    return this.#manager.roundTripMs(nodeId);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#server.off('upgrade', this.#onUpgrade);
    this.#stopKeepalive?.();
    const conduits = [...this.#conduits];
    // Every link drains: queued frames, then (once written) the close frame. Nothing new is accepted.
    this.#manager.close('shutdown');
    const sockets = [...this.#sockets];
    for (const socket of sockets) if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#closeTimeoutMs);
    });
    await Promise.race([Promise.all(sockets.map(whenClosed)), deadline]);
    clearTimeout(timer);
    // Past the deadline, a peer that did not read what we held (or answer the close frame) is cut off,
    // so nothing holds the process open; the frames left behind are counted and reported, not lost silently.
    for (const conduit of conduits) conduit.abandon();
    for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
    await Promise.all(sockets.map(whenClosed));
    this.#wss.close();
  }

  #onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathOf(req.url) !== MESH_PATH) return; // another listener's route
    if (!this.#manager.running) {
      socket.destroy();
      return;
    }
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    // Until the link exists, making room means cutting the raw socket; #adopt replaces this with failing the link.
    const slot: PendingSlot = {
      release: () => {},
      evict: (detail) => {
        this.#manager.refuse(remote, 'handshake-evicted', detail);
        socket.destroy();
      },
    };
    const admission = this.#pending.admit(req.socket.remoteAddress ?? '', (detail) => slot.evict(detail));
    if (!admission.admitted) {
      this.#manager.refuse(remote, admission.reason, admission.detail);
      refuseUpgrade(socket);
      return;
    }
    slot.release = admission.release;
    // Taken before the upgrade, so a request ws refuses (bad headers) gives its slot back too.
    socket.once('close', admission.release);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#adopt(ws, remote, (conduit) => this.#manager.accept(conduit), socket, slot);
    });
  };

  /**
   * Adopts an open WebSocket. `raw` is the socket under it (the guard reads
   * it); `slot` is its pending-handshake slot, if inbound.
   */
  #adopt(
    socket: WebSocket,
    remote: string,
    attach: (conduit: WsConduit) => Link | null,
    raw: Duplex | undefined,
    slot: PendingSlot = { release: () => {}, evict: () => {} },
  ): void {
    const conduit: WsConduit = new WsConduit(socket, remote, this.#maxQueueBytes, ({ frames, bytes }) => {
      if (conduit.link !== null) this.#manager.unsent(conduit.link, frames, bytes);
    });
    this.#sockets.add(socket);
    this.#conduits.add(conduit);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#conduits.delete(conduit);
    });
    const link = attach(conduit);
    if (link === null) {
      conduit.close('shutdown');
      return;
    }
    conduit.bind(link);
    this.#boundPreAuth(link, socket, raw, slot);
  }

  /** Holds `link`'s socket to the pre-auth bounds until the link opens or the socket closes. */
  #boundPreAuth(link: Link, socket: WebSocket, raw: Duplex | undefined, slot: PendingSlot): void {
    // ws has attached its reader to `raw` by now, so the guard sees each read after ws parsed it.
    const guard =
      raw === undefined
        ? null
        : new PreAuthGuard(
            raw,
            { maxMessageBytes: MAX_HANDSHAKE_FRAME_BYTES, maxBytes: MAX_PRE_AUTH_BYTES },
            () => link.state === 'open',
            (detail) => {
              link.fail('too-large', detail);
              // Not the closing handshake: the receiver may be holding a partial frame; free it now.
              socket.terminate();
            },
          );
    // A socket still not open after the deadline (say, one ignoring our close frame) is cut, so a slot is never held longer.
    const cancelCut = this.#scheduler.after(this.#manager.handshakeTimeoutMs + CLOSE_GRACE_MS, () => {
      if (link.state !== 'open') socket.terminate();
    });
    // Made room for a newcomer: reported and counted as 'handshake-evicted', and cut at once (its slot is already gone).
    slot.evict = (detail) => {
      link.fail('handshake-evicted', detail);
      socket.terminate();
    };
    const lift = (): void => {
      this.#preAuth.delete(link);
      guard?.release();
      cancelCut();
      slot.release();
    };
    this.#preAuth.set(link, lift);
    socket.once('close', lift);
  }

  #dial(attempt: DialAttempt): void {
    let socket: WebSocket;
    try {
      socket = new WebSocket(`${this.#scheme}://${attempt.address}${MESH_PATH}`, {
        maxPayload: this.#maxFrameBytes,
        perMessageDeflate: false,
        allowSynchronousEvents: true, // see PreAuthGuard
        handshakeTimeout: this.#manager.handshakeTimeoutMs,
        ...(this.#scheme === 'wss' ? this.#tls : {}),
      });
    } catch (err) {
      attempt.failed(`cannot dial ${attempt.address}: ${(err as Error).message}`, 'error');
      return;
    }
    let opened = false;
    let raw: Duplex | undefined;
    let lastError: Error | undefined;
    this.#sockets.add(socket);
    // Errors before 'open' (refused, TLS, HTTP status) are all followed by 'close', handled below with the error's reason.
    socket.on('error', (err) => {
      lastError ??= err;
    });
    // The listener is held to the same pre-auth bounds as dialers: a host at a peer's address is not yet a peer.
    socket.once('upgrade', (response) => {
      raw = response.socket;
    });
    socket.once('open', () => {
      opened = true;
      this.#sockets.delete(socket); // #adopt tracks it from here
      this.#adopt(socket, attempt.address, (conduit) => attempt.opened(conduit), raw);
    });
    socket.once('close', (code) => {
      if (opened) return;
      this.#sockets.delete(socket);
      const failure = dialFailure(lastError, code);
      attempt.failed(failure.detail, failure.reason);
    });
  }
}

/**
 * Create the WebSocket transport on `options.server`. Nothing listens or
 * dials until `start()`.
 *
 * @example
 * ```ts
 * const server = http.createServer();
 * server.listen(7070, '127.0.0.1');
 * const transport = createWsTransport({ nodeId: 'a', incarnation: randomUUID(), secret, server });
 * await transport.start(handlers);
 * transport.connect('127.0.0.1:7071');
 * ```
 */
export function createWsTransport(options: WsTransportOptions): Transport {
  return new WsTransport(options);
}
