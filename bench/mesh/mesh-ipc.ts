/**
 * The IPC protocol between the mesh scenario (parent) and its node processes
 * (`mesh-node.ts`, one forked process per mesh node). The parent sends
 * {@link NodeCommand}s tagged with an id; the node answers each with one
 * {@link NodeReply} carrying the same id, and may push {@link NodeEvent}s at
 * any time (a watched probe key became visible).
 *
 * Every timestamp that crosses this boundary is read from the machine-wide
 * monotonic clock ({@link machineNowMs}), so times taken in different
 * processes can be subtracted without any offset estimation.
 */
import type { LimiterOptions } from '../../src/index.js';

/**
 * Milliseconds on the machine's monotonic clock. `process.hrtime` reads
 * CLOCK_MONOTONIC, one clock per kernel shared by every process, so readings
 * from the parent and all node processes on this machine are directly
 * comparable (unlike `performance.now()`, whose origin is per process).
 */
export function machineNowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** What a node process is asked to do. */
export type NodeCommand =
  | {
      op: 'start';
      nodeId: string;
      peers: string[];
      secret: string;
      gossipIntervalMs: number;
      digestIntervalMs: number;
      suspectAfterMs: number;
      joinTimeoutMs: number;
      limiters: LimiterOptions[];
      /** Wait for `whenReady()` before answering, and time it from the `createMesh` call. */
      measureReady: boolean;
    }
  /** Resolves once the mesh is ready and at least `peers` peers are live. */
  | { op: 'waitLive'; peers: number; timeoutMs: number }
  /** Starts a background load: `perSec` decisions/s round-robin over `keys` keys named `${prefix}${i}`. */
  | { op: 'load'; limiter: string; prefix: string; keys: number; perSec: number; tickMs: number }
  | { op: 'stopLoad' }
  /**
   * One hit on each of `${prefix}${from}` .. `${prefix}${to - 1}`, paced at
   * `perSec` keys/s in slices every 10 ms; answers when all are admitted.
   */
  | { op: 'touch'; limiter: string; prefix: string; from: number; to: number; perSec: number }
  | { op: 'size'; limiter: string }
  /** Poll `key` every millisecond until its count includes a hit, then push a `seen` event. */
  | { op: 'watch'; limiter: string; key: string }
  /** Consume one hit on `key` and answer with the machine time of the admitted decision. */
  | { op: 'fire'; limiter: string; key: string }
  | { op: 'traffic' }
  /** Bytes of one MessagePack-encoded full snapshot of this node's live window of `limiter`. */
  | { op: 'snapshotBytes'; limiter: string }
  /**
   * From machine time `startAt` for `durationMs`, offer `perSec` decisions/s on
   * `key` and log the machine time of every admitted one.
   */
  | { op: 'admitLog'; limiter: string; key: string; startAt: number; durationMs: number; perSec: number; tickMs: number }
  | { op: 'close' };

/** A command with its correlation id, as sent over IPC. */
export type NodeRequest = NodeCommand & { id: number };

/** Answer to `start`. */
export interface StartResult {
  address: string;
  /** With `measureReady`: ms from the `createMesh` call until `whenReady()` resolved. */
  readyMs?: number;
  /** With `measureReady`: keys held per limiter at the moment it became ready. */
  keysAtReady?: Record<string, number>;
}

/** Answer to `traffic`: this node's counters, summed over its peers. */
export interface TrafficResult {
  /** Machine time the counters were read. */
  t: number;
  /** CPU time this node process has used so far (user + system), ms. */
  cpuMs: number;
  /** Longest event-loop delay since the previous `traffic` call, ms. */
  loopDelayMaxMs: number;
  bytesOut: number;
  bytesIn: number;
  framesOut: number;
  livePeers: number;
  /** `nodeId:state` of every peer, for diagnostics. */
  peerStates: string[];
  repairsAnswered: number;
  snapshotChunks: number;
  deltaFrames: number;
  digestsSent: number;
  logOverflows: number;
}

/** Answer to `admitLog`. */
export interface AdmitLogResult {
  offered: number;
  /** Machine time of every admitted decision, ascending. */
  admitted: Float64Array;
}

/** Answer to one command: `result` on success, the error text otherwise. */
export type NodeReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Pushed by a node without a request: a watched key became visible at machine time `t`. */
export interface NodeEvent {
  event: 'seen';
  key: string;
  t: number;
}
