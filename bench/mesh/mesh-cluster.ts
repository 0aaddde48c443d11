/**
 * Parent side of the mesh scenario: forks one process per mesh node
 * (`mesh-node.js`), talks to each over IPC, and guarantees that no node
 * outlives the run — every child is killed on close, on error, on the
 * parent's exit and on SIGINT/SIGTERM.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LimiterOptions } from '../../src/index.js';
import type { NodeCommand, NodeEvent, NodeReply, StartResult, TrafficResult } from './mesh-ipc.js';

const NODE_SCRIPT = fileURLToPath(new URL('./mesh-node.js', import.meta.url));
const DEFAULT_CALL_TIMEOUT_MS = 60_000;
const CLOSE_GRACE_MS = 3_000;

/** Every node process this run started and that has not exited yet. */
const running = new Set<ChildProcess>();

function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
// Last resort: 'exit' handlers run synchronously, and kill() is synchronous.
process.on('exit', killAll);

/**
 * Kills every node process when the parent is interrupted, then exits the way
 * the signal would have. Returns the function that removes the handlers.
 */
export function killChildrenOnSignals(): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = (): void => {
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once(signal, handler);
    return () => process.off(signal, handler);
  });
  return () => handlers.forEach((off) => off());
}

/** One mesh node process and its IPC channel. */
export class NodeProcess {
  readonly nodeId: string;
  address = '';
  #child: ChildProcess;
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #seenWaiters = new Map<string, (t: number) => void>();
  #seenEarly = new Map<string, number>();
  #exited: Promise<void>;

  constructor(nodeId: string) {
    this.nodeId = nodeId;
    // No inherited flags (TALLYMESH_BENCH_NODE_FLAGS adds some, e.g. "--cpu-prof --cpu-prof-dir=prof"
    // to profile the nodes); 'advanced' serialization carries typed arrays.
    this.#child = fork(NODE_SCRIPT, [nodeId], {
      execArgv: process.env.TALLYMESH_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    running.add(this.#child);
    this.#child.on('message', (msg: NodeReply | NodeEvent) => this.#onMessage(msg));
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        running.delete(this.#child);
        for (const [, p] of this.#pending) {
          clearTimeout(p.timer);
          p.reject(new Error(`node ${nodeId} exited (${signal ?? code})`));
        }
        this.#pending.clear();
        resolve();
      });
    });
    this.#child.once('error', (err) => {
      for (const [, p] of this.#pending) p.reject(err);
    });
  }

  /** Sends one command and resolves with the node's answer. */
  call<R>(cmd: NodeCommand, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<R> {
    const id = this.#nextId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`node ${this.nodeId}: '${cmd.op}' got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      if (!this.#child.connected) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new Error(`node ${this.nodeId} is not running`));
        return;
      }
      this.#child.send({ ...cmd, id });
    });
  }

  /** Resolves with the machine time at which this node first counted `key` (after a `watch`). */
  seen(key: string, timeoutMs: number): Promise<number> {
    const early = this.#seenEarly.get(key);
    if (early !== undefined) {
      this.#seenEarly.delete(key);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#seenWaiters.delete(key);
        reject(new Error(`node ${this.nodeId} never counted ${key} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#seenWaiters.set(key, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }

  traffic(): Promise<TrafficResult> {
    return this.call<TrafficResult>({ op: 'traffic' });
  }

  /** Asks the node to close its mesh and exit; kills it if it does not within a grace period. */
  async close(): Promise<void> {
    if (!running.has(this.#child)) return;
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), CLOSE_GRACE_MS);
    this.call({ op: 'close' }, CLOSE_GRACE_MS).catch(() => this.#child.kill('SIGKILL'));
    await this.#exited;
    clearTimeout(timer);
  }

  #onMessage(msg: NodeReply | NodeEvent): void {
    if ('event' in msg) {
      const waiter = this.#seenWaiters.get(msg.key);
      if (waiter === undefined) this.#seenEarly.set(msg.key, msg.t);
      else {
        this.#seenWaiters.delete(msg.key);
        waiter(msg.t);
      }
      return;
    }
    const p = this.#pending.get(msg.id);
    if (p === undefined) return;
    this.#pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`node ${this.nodeId}: ${msg.error}`));
  }
}

/** Settings every node of one cluster shares. */
export interface ClusterOptions {
  nodes: number;
  gossipIntervalMs: number;
  digestIntervalMs: number;
  suspectAfterMs: number;
  joinTimeoutMs: number;
  secret: string;
  limiters: LimiterOptions[];
}

/** A mesh of node processes on loopback. */
export class MeshCluster {
  readonly nodes: NodeProcess[] = [];
  readonly options: ClusterOptions;

  private constructor(options: ClusterOptions) {
    this.options = options;
  }

  /**
   * Starts `nodes` processes: the first alone, the others through it as their
   * only seed (membership finds the rest), then waits until every node is
   * ready with every other node live.
   */
  static async start(options: ClusterOptions): Promise<MeshCluster> {
    const cluster = new MeshCluster(options);
    try {
      const { node: seed } = await cluster.addNode('n0', []);
      await Promise.all(Array.from({ length: options.nodes - 1 }, (_, i) => cluster.addNode(`n${i + 1}`, [seed.address])));
      await cluster.waitLive();
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  /** Forks one more node and starts its mesh; with `measureReady`, also times its readiness. */
  async addNode(nodeId: string, peers: string[], measureReady = false): Promise<{ node: NodeProcess; start: StartResult }> {
    const node = new NodeProcess(nodeId);
    this.nodes.push(node);
    const { nodes: _n, ...shared } = this.options;
    const start = await node.call<StartResult>({ op: 'start', nodeId, peers, measureReady, ...shared });
    node.address = start.address;
    return { node, start };
  }

  /** Waits until every node is ready and sees every other node live. */
  async waitLive(timeoutMs = 20_000): Promise<void> {
    const peers = this.nodes.length - 1;
    await Promise.all(this.nodes.map((n) => n.call({ op: 'waitLive', peers, timeoutMs }, timeoutMs + 5_000)));
  }

  /** Sends the same command to every node, or the command `cmd(i)` to node i. */
  all<R>(cmd: NodeCommand | ((i: number) => NodeCommand), timeoutMs?: number): Promise<R[]> {
    return Promise.all(this.nodes.map((n, i) => n.call<R>(typeof cmd === 'function' ? cmd(i) : cmd, timeoutMs)));
  }

  /** Closes every node (each gets a grace period, then SIGKILL). Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }
}
