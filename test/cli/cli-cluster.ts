/**
 * A cluster of real daemons started through the CLI, for tests that need
 * several (issue 9's bounds): one shared secret file, common flags, each node
 * listing the ones before it as peers, and a wait until every node sees every
 * other as live.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startCli, type CliProcess, type DaemonProcess } from './cli-process.js';

/** A running CLI cluster. */
export interface CliCluster {
  nodes: DaemonProcess[];
  /** Kills every daemon and removes the secret file. */
  stop(): void;
}

/** What `/v1/cluster` says, as far as these tests read it. */
export interface ClusterView {
  keys: { total: number };
  peers: Array<{ state: string }>;
  limiters: Array<{ overflows: number }>;
}

/** Starts `ids.length` daemons with `args` and a shared secret; resolves once the mesh is live. */
export async function startCliCluster(ids: string[], args: string[], timeoutMs = 15_000): Promise<CliCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tallymesh-cli-cluster-'));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `a-shared-secret-for-${ids.join('-')}-${process.pid}`, { mode: 0o600 });
  const spawned: CliProcess[] = [];
  const stop = (): void => {
    for (const p of spawned) p.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nodes: DaemonProcess[] = [];
    for (const id of ids) {
      const peers = nodes.map((n) => n.address);
      const d = await startCli(['--id', id, '--port', '0', '--secret-file', secretFile, ...args, ...(peers.length > 0 ? ['--peers', peers.join(',')] : [])]);
      spawned.push(d.proc);
      nodes.push(d);
    }
    await eventually(async () => {
      for (const n of nodes) {
        const peers = (await clusterView(n.url)).peers;
        if (peers.length !== nodes.length - 1 || peers.some((p) => p.state !== 'live')) return false;
      }
      return true;
    }, timeoutMs, `a live ${nodes.length}-node mesh`);
    return { nodes, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/** `GET /v1/cluster` of one node. */
export async function clusterView(url: string): Promise<ClusterView> {
  return (await fetch(`${url}/v1/cluster`)).json() as Promise<ClusterView>;
}

/** One `POST /v1/consume` of limiter `limiter`; true when admitted. */
export async function consumeOnce(url: string, limiter: string, key: string): Promise<boolean> {
  const res = await fetch(`${url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limiter, key }) });
  return ((await res.json()) as { allowed: boolean }).allowed;
}
