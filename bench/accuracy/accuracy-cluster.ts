/**
 * Real daemons for the accuracy scenario, started through the CLI
 * (`tallymesh start`, daemon-processes.ts): a shared secret file, each node
 * listing the ones before it as peers, on loopback or, for partitions, one
 * per network namespace; resolves once every node sees every other live.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonProcess, type DaemonProcess } from '../daemon/daemon-processes.js';

/** A running cluster. */
export interface AccuracyCluster {
  urls: string[];
  stop(): Promise<void>;
}

/** Where node `i` (0-based) runs: its listen address, and the command it runs under (a namespace). */
export interface Placement {
  host: string;
  prefix?: readonly string[];
}

const LIVE_TIMEOUT_MS = 30_000;

async function allLive(urls: readonly string[]): Promise<boolean> {
  for (const url of urls) {
    const body = (await (await fetch(`${url}/v1/cluster`)).json()) as { peers: Array<{ state: string }> };
    if (body.peers.length !== urls.length - 1 || body.peers.some((p) => p.state !== 'live')) return false;
  }
  return true;
}

/** Starts `placements.length` daemons serving limiter `spec`. */
export async function startAccuracyCluster(spec: string, placements: readonly Placement[], extraArgs: readonly string[] = []): Promise<AccuracyCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tallymesh-accuracy-'));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `accuracy-bench-secret-${process.pid}-${Date.now()}`, { mode: 0o600 });
  const daemons: DaemonProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(daemons.map((d) => d.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [i, p] of placements.entries()) {
      const peers = daemons.map((d) => new URL(d.url).host);
      const args = ['--host', p.host, '--secret-file', secretFile, ...extraArgs, ...(peers.length > 0 ? ['--peers', peers.join(',')] : [])];
      daemons.push(await startDaemonProcess(`n${i + 1}`, spec, { startArgs: args, prefix: p.prefix }));
    }
    const urls = daemons.map((d) => d.url.replace(/\/+$/, ''));
    const deadline = Date.now() + LIVE_TIMEOUT_MS;
    while (!(await allLive(urls))) {
      if (Date.now() > deadline) throw new Error(`the ${urls.length}-node mesh was not live within ${LIVE_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { urls, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
