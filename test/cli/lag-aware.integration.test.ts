/**
 * Lag-aware admission on real daemons started through the CLI
 * (docs/accuracy.md, Lag-aware admission): `lagAware` in `--limiter` and
 * YAML, `--prefill` and its environment variable, and what a running mesh
 * shows of it — each peer's measured round trip and each limiter's hot keys,
 * in `/v1/cluster` and `/metrics` — with a `lagAware=off` limiter beside an
 * on one under the same traffic.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../helpers/prom-parse.js';
import { eventually, runCli, startCli, type CliProcess, type DaemonProcess } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-lag-aware-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, `a-shared-secret-for-lag-aware-${process.pid}`, { mode: 0o600 });
const spawned: CliProcess[] = [];

afterAll(() => {
  for (const p of spawned) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

interface ClusterView {
  peers: Array<{ nodeId: string; state: string; roundTripMs: number | null }>;
  limiters: Array<{ name: string; lagAware: boolean; hotKeys: number }>;
}

const cluster = async (url: string): Promise<ClusterView> => (await (await fetch(`${url}/v1/cluster`)).json()) as ClusterView;

async function consume(url: string, limiter: string, key: string, n: number): Promise<void> {
  const body = JSON.stringify({ requests: Array.from({ length: n }, () => ({ limiter, key })) });
  const res = await fetch(`${url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status).toBe(200);
}

describe('tallymesh start with lag-aware admission', () => {
  it('parses lagAware from --limiter and YAML and --prefill from the flag and the environment, and names a bad value (exit 2)', async () => {
    const flags = await runCli(['start', '--check', '--limiter', 'name=api,limit=5,window=1m,lagAware=off', '--limiter', 'name=b,limit=5,window=1m', '--prefill', '0.5']);
    expect(flags.code).toBe(0);
    const parsed = JSON.parse(flags.stdout) as { prefill: number; limiters: Array<{ lagAware?: boolean }> };
    expect(parsed.prefill).toBe(0.5);
    expect(parsed.limiters[0].lagAware).toBe(false);
    expect(parsed.limiters[1].lagAware).toBeUndefined(); // the library default: on
    const env = await runCli(['start', '--check', '--limiter', 'name=api,limit=5,window=1m'], { TALLYMESH_PREFILL: '0' });
    expect(JSON.parse(env.stdout).prefill).toBe(0);
    const yaml = join(dir, 'ok.yaml');
    writeFileSync(yaml, 'limiters:\n  - { name: api, limit: 5, window: 1m, lagAware: false }\n');
    const file = await runCli(['start', '--check', '--config', yaml]);
    expect(file.code).toBe(0);
    expect(JSON.parse(file.stdout).limiters[0].lagAware).toBe(false);
    const badSwitch = await runCli(['start', '--check', '--limiter', 'name=api,limit=5,window=1m,lagAware=maybe']);
    expect(badSwitch.code).toBe(2);
    expect(badSwitch.stderr).toMatch(/--limiter\[0\]\.lagAware.*on or off/);
    const badPrefill = await runCli(['start', '--check', '--limiter', 'name=api,limit=5,window=1m', '--prefill', '1.5']);
    expect(badPrefill.code).toBe(2);
    expect(badPrefill.stderr).toMatch(/--prefill.*from 0 to 1/);
  });

  it('shows each peer’s measured round trip and the keys peers count too as hot, for lag-aware limiters only', async () => {
    const common = ['--port', '0', '--secret-file', secretFile, '--limiter', 'name=on,limit=100000,window=10s', '--limiter', 'name=off,limit=100000,window=10s,lagAware=off'];
    const a = await startCli(['--id', 'a', ...common]);
    spawned.push(a.proc);
    const b = await startCli(['--id', 'b', ...common, '--peers', a.address]);
    spawned.push(b.proc);
    const nodes: DaemonProcess[] = [a, b];
    // Round trips are probed every second on each link: both sides have one within a few.
    await eventually(async () => {
      for (const n of nodes) {
        const peers = (await cluster(n.url)).peers;
        if (peers.length !== 1 || peers[0].state !== 'live' || peers[0].roundTripMs === null) return false;
      }
      return true;
    }, 20_000, 'a live 2-node mesh with round trips measured');
    for (const n of nodes) {
      const rtt = (await cluster(n.url)).peers[0].roundTripMs as number;
      expect(rtt).toBeGreaterThan(0);
      expect(rtt).toBeLessThan(1_000);
    }
    // b counts two keys on both limiters; a merges them: hot on `on`, never on `off`.
    await consume(b.url, 'on', 'k1', 5);
    await consume(b.url, 'on', 'k2', 5);
    await consume(b.url, 'off', 'k1', 5);
    await eventually(async () => (await cluster(a.url)).limiters.find((l) => l.name === 'on')?.hotKeys === 2, 10_000, 'two hot keys on a');
    const limiters = (await cluster(a.url)).limiters;
    expect(limiters.find((l) => l.name === 'on')).toMatchObject({ lagAware: true, hotKeys: 2 });
    expect(limiters.find((l) => l.name === 'off')).toMatchObject({ lagAware: false, hotKeys: 0 });
    // b's own hits never make its keys hot: only a peer's do.
    expect((await cluster(b.url)).limiters.find((l) => l.name === 'on')?.hotKeys).toBe(0);
    const metrics = parsePrometheusText(await (await fetch(`${a.url}/metrics`)).text());
    expect(sampleValue(metrics, 'tallymesh_limiter_hot_keys', { limiter: 'on' })).toBe(2);
    expect(sampleValue(metrics, 'tallymesh_limiter_hot_keys', { limiter: 'off' })).toBe(0);
    const rttSeconds = sampleValue(metrics, 'tallymesh_peer_round_trip_seconds', { peer: 'b' }) as number;
    expect(rttSeconds).toBeGreaterThan(0);
    expect(rttSeconds).toBeLessThan(1);
  }, 60_000);
});
