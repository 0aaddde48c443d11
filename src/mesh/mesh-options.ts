/**
 * Options of {@link createMesh}, their defaults and their validation.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Scheduler } from '../../transport/scheduler.js';
import type { Transport } from '../../transport/transport.js';
import { codes } from '../errors.js';
import { DEFAULT_PREFILL, DEFAULT_RATE_SMOOTHING } from '../../crdt/lag-estimate.js';
import { fractionOption, integerOption, isAddress, nameOption } from '../validate.js';
import type { ReplicatorOptions } from './replication-context.js';

/** TLS material for `wss` between peers. PEM strings or Buffers. */
export interface MeshTlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA that signed the peers' certificates; with it, peers must present one (mutual TLS). */
  ca?: string | Buffer;
}

/** Options of `createMesh`. */
export interface MeshOptions {
  /** This node's id: 1–64 of [A-Za-z0-9_.-], unique in the cluster. */
  nodeId: string;
  /** Interface to listen on (default 127.0.0.1). Without a secret only loopback is allowed. */
  host?: string;
  /** Port to listen on (default 7070; 0 picks a free one). */
  port?: number;
  /** `host:port` peers should dial (default: host:port actually bound). */
  advertise?: string;
  /** Seed peers, `host:port` each. One reachable seed is enough. */
  peers?: string[];
  /**
   * Shared cluster secret; peers prove they know it before any state moves.
   * Without one (or `''`) the node uses a random secret of its own, so nobody
   * can join it: a lone node on loopback, which may not list `peers`.
   */
  secret?: string;
  /** Delta flush interval (default 20 ms). */
  gossipIntervalMs?: number;
  /**
   * Anti-entropy digest interval (default 1000 ms). Use one value
   * cluster-wide: a peer's DIGEST and REPAIR requests are budgeted at two per
   * interval of the receiver's, so a peer digesting more often is throttled.
   */
  digestIntervalMs?: number;
  /** Silence after which a peer counts as unreachable (default 1000 ms). */
  suspectAfterMs?: number;
  /**
   * A peer not heard for this long is no longer a member (default 600,000 ms,
   * 10 min): it holds no partition share (`partition: 'share'` limiters) and,
   * when down, its record is forgotten.
   */
  forgetAfterMs?: number;
  /**
   * Lag-aware admission (limiters with `lagAware`, the default): the share,
   * 0–1, of the estimated hits in flight from peers that a hot key's count is
   * pre-filled with (default 0.7; 0 turns the pre-fill off, the quota near
   * the limit stays). docs/accuracy.md, Lag-aware admission.
   */
  prefill?: number;
  /** Lag-aware admission: weight (0.01–1) of the newest gossip interval in the rate averages (default 0.2). */
  rateSmoothing?: number;
  /** How long a joining node waits for seeds before it calls itself ready alone (default 2000 ms). */
  joinTimeoutMs?: number;
  /** Remote clocks further ahead than this are refused (default 500 ms). */
  maxClockOffsetMs?: number;
  /** Largest frame sent or accepted (default 4 MiB). */
  maxFrameBytes?: number;
  /** Per-peer send queue bound (default 8 MiB); past it the peer gets a snapshot instead. */
  maxQueueBytes?: number;
  /** Deadline for a peer connection's handshake (default 3000 ms). */
  handshakeTimeoutMs?: number;
  /**
   * How long `close()` may take to hand peers what is still queued for them
   * (the final deltas and the BYE) before it cuts their connections and
   * reports what was left as an `'unsent'` event (default 5000 ms; 0 cuts at once).
   */
  closeTimeoutMs?: number;
  /** Inbound peer connections not yet authenticated, at most (default 128); past it the oldest of the address holding the most is cut to admit a newcomer. */
  maxPendingHandshakes?: number;
  /** The same, per remote address (an IPv6 /64; default 16). */
  maxPendingHandshakesPerAddress?: number;
  /** Cells a peer's compacted delta log may hold before it is replaced by a snapshot (default 200,000). */
  maxLogCells?: number;
  /** Keys held across this node's limiters before each limiter's `onOverflow` applies (default 1,000,000). */
  maxKeys?: number;
  /** TLS for the peer port (`wss`). */
  tls?: MeshTlsOptions;
  /** Attach to this HTTP(S) server instead of opening one (it must already listen). */
  server?: import('node:http').Server;
  /** Process incarnation (default: fresh per start). Tests only. */
  incarnation?: string;
  /** A transport other than WebSocket, with its scheduler: the simulated network. */
  transport?: Transport;
  scheduler?: Scheduler;
}

/** Options after defaults and validation. */
export interface ResolvedMeshOptions extends ReplicatorOptions {
  nodeId: string;
  host: string;
  port: number;
  advertise: string | undefined;
  peers: string[];
  /** Never empty: a random one (32 bytes from the CSPRNG) when none was given. */
  secret: string;
  joinTimeoutMs: number;
  prefill: number;
  rateSmoothing: number;
  maxClockOffsetMs: number;
  maxFrameBytes: number;
  maxQueueBytes: number;
  /** Undefined: the transport's defaults. */
  handshakeTimeoutMs: number | undefined;
  closeTimeoutMs: number | undefined;
  maxPendingHandshakes: number | undefined;
  maxPendingHandshakesPerAddress: number | undefined;
  maxKeys: number;
  tls: MeshTlsOptions | undefined;
  server: import('node:http').Server | undefined;
}

/**
 * Shortest cluster secret accepted, in characters: by `createMesh` and by the
 * daemon config (which holds its API token to it too).
 *
 * @example
 * if (secret.length < MIN_SECRET_LENGTH) throw new Error('secret too short');
 */
export const MIN_SECRET_LENGTH = 16;

/** True for addresses that never leave the machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Validates a `host:port` peer address. */
export function peerAddress(value: unknown, option = 'peers'): string {
  if (typeof value !== 'string') throw new codes.TALLYMESH_ERR_OPTION_TYPE(option, 'a "host:port" string', typeof value);
  if (!isAddress(value)) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(option, 'addresses of the form host:port', JSON.stringify(value));
  }
  return value;
}

/** Applies defaults and validates every mesh option, naming the one at fault. */
export function resolveMeshOptions(o: MeshOptions): ResolvedMeshOptions {
  if (typeof o !== 'object' || o === null) throw new codes.TALLYMESH_ERR_OPTION_TYPE('options', 'an object', String(o));
  const nodeId = nameOption(o.nodeId, 'nodeId');
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new codes.TALLYMESH_ERR_OPTION_TYPE('host', 'a host name or address', String(host));
  const secret = o.secret ?? '';
  if (typeof secret !== 'string') throw new codes.TALLYMESH_ERR_OPTION_TYPE('secret', 'a string', typeof secret);
  if (secret !== '' && secret.length < MIN_SECRET_LENGTH) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE('secret', `at least ${MIN_SECRET_LENGTH} characters`, `${secret.length} characters`);
  }
  if (secret === '' && o.transport === undefined && !isLoopback(host)) {
    // Without a secret anyone who can reach the port could join and inflate counts.
    throw new codes.TALLYMESH_ERR_OPTION_RANGE('host', 'a loopback address when no secret is set', JSON.stringify(host));
  }
  const peers = o.peers ?? [];
  if (!Array.isArray(peers)) throw new codes.TALLYMESH_ERR_OPTION_TYPE('peers', 'an array of "host:port"', typeof peers);
  // A custom transport (the simulator) has its own address scheme.
  const peerList = o.transport === undefined ? peers.map((p) => peerAddress(p)) : peers.map(String);
  if (secret === '' && o.transport === undefined && peerList.length > 0) {
    // A node without a secret uses a random one (below): no peer could ever accept it.
    throw new codes.TALLYMESH_ERR_OPTION_RANGE('secret', 'set when peers are given (without one a node uses a random secret no peer shares)', 'none');
  }
  const gossipIntervalMs = integerOption('gossipIntervalMs', o.gossipIntervalMs ?? 20, 1, 60_000);
  const suspectAfterMs = integerOption('suspectAfterMs', o.suspectAfterMs ?? 1000, 10, 3_600_000);
  return {
    nodeId,
    host,
    port: integerOption('port', o.port ?? 7070, 0, 65535),
    advertise: o.advertise === undefined ? undefined : peerAddress(o.advertise, 'advertise'),
    peers: peerList,
    // An empty key would make the HMAC proof computable by anyone (a web page included): never run on one.
    secret: secret === '' ? randomBytes(32).toString('base64url') : secret,
    gossipIntervalMs,
    digestIntervalMs: integerOption('digestIntervalMs', o.digestIntervalMs ?? 1000, 10, 3_600_000),
    suspectAfterMs,
    forgetAfterMs: integerOption('forgetAfterMs', o.forgetAfterMs ?? 600_000, 1_000, 30 * 86_400_000),
    joinTimeoutMs: integerOption('joinTimeoutMs', o.joinTimeoutMs ?? 2000, 0, 3_600_000),
    prefill: fractionOption('prefill', o.prefill ?? DEFAULT_PREFILL, 0, 1),
    rateSmoothing: fractionOption('rateSmoothing', o.rateSmoothing ?? DEFAULT_RATE_SMOOTHING, 0.01, 1),
    maxClockOffsetMs: integerOption('maxClockOffsetMs', o.maxClockOffsetMs ?? 500, 1, 3_600_000),
    maxFrameBytes: integerOption('maxFrameBytes', o.maxFrameBytes ?? 4 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    maxQueueBytes: integerOption('maxQueueBytes', o.maxQueueBytes ?? 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    handshakeTimeoutMs: o.handshakeTimeoutMs === undefined ? undefined : integerOption('handshakeTimeoutMs', o.handshakeTimeoutMs, 1, 600_000),
    closeTimeoutMs: o.closeTimeoutMs === undefined ? undefined : integerOption('closeTimeoutMs', o.closeTimeoutMs, 0, 3_600_000),
    maxPendingHandshakes: o.maxPendingHandshakes === undefined ? undefined : integerOption('maxPendingHandshakes', o.maxPendingHandshakes, 1, 1_000_000),
    maxPendingHandshakesPerAddress:
      o.maxPendingHandshakesPerAddress === undefined ? undefined : integerOption('maxPendingHandshakesPerAddress', o.maxPendingHandshakesPerAddress, 1, 1_000_000),
    maxLogCells: integerOption('maxLogCells', o.maxLogCells ?? 200_000, 1, 100_000_000),
    maxKeys: integerOption('maxKeys', o.maxKeys ?? 1_000_000, 1, 1e9),
    snapshotChunkKeys: 4096,
    maxSkewStrikes: 5,
    snapshotQueueBytes: 1024 * 1024,
    tls: o.tls,
    server: o.server,
  };
}
