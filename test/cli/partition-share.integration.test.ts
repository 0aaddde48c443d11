/**
 * `partition=share` on real daemons started through the CLI (docs/accuracy.md):
 * set by `--limiter` on two nodes and by the YAML file on the third; a node
 * frozen with SIGSTOP (its links stay open, it falls silent, as behind a
 * partition) puts its peers' share limiters on their share — loud as an SSE
 * event, a log line, metrics and `/v1/cluster` — and each admits a third of
 * the budget; SIGCONT heals, and the full count is back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../helpers/prom-parse.js';
import { SseClient } from '../helpers/sse.js';
import { eventually, runCli, startCli, type CliProcess, type DaemonProcess } from './cli-process.js';

const LIMIT = 30;
const SPEC = `name=api,limit=${LIMIT},window=60s,partition=share,maxLag=2s,slo=1.05`;
const dir = mkdtempSync(join(tmpdir(), 'tallymesh-partition-share-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, `a-shared-secret-for-partition-share-${process.pid}`, { mode: 0o600 });
const spawned: CliProcess[] = [];

afterAll(() => {
  for (const p of spawned) {
    if (p.running) p.child.kill('SIGCONT');
    p.kill();
  }
  rmSync(dir, { recursive: true, force: true });
});

interface LimiterView {
  name: string;
  partition: string;
  share: null | { weight: number; members: number; cause: string; reason: string };
}

async function limiterOf(url: string): Promise<LimiterView> {
  const body = (await (await fetch(`${url}/v1/cluster`)).json()) as { limiters: LimiterView[] };
  return body.limiters.find((l) => l.name === 'api')!;
}

async function consume(url: string, key: string): Promise<boolean> {
  const res = await fetch(`${url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limiter: 'api', key }) });
  return ((await res.json()) as { allowed: boolean }).allowed;
}

async function admitted(url: string, key: string, tries: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < tries; i++) if (await consume(url, key)) n++;
  return n;
}

describe('tallymesh start with partition=share', () => {
  it('parses partition and maxLag from --limiter and YAML, and names a bad value (exit 2)', async () => {
    const flag = await runCli(['start', '--check', '--limiter', SPEC]);
    expect(flag.code).toBe(0);
    expect(JSON.parse(flag.stdout).limiters[0]).toMatchObject({ name: 'api', partition: 'share', maxLagMs: 2_000, sloRatio: 1.05 });
    const badSlo = await runCli(['start', '--check', '--limiter', 'name=api,limit=5,window=1m,slo=0.5']);
    expect(badSlo.code).toBe(2);
    expect(badSlo.stderr).toContain('--limiter[0].slo');
    const yaml = join(dir, 'ok.yaml');
    writeFileSync(yaml, `limiters:\n  - { name: api, limit: ${LIMIT}, window: 60s, partition: share, maxLag: 150ms }\n`);
    const file = await runCli(['start', '--check', '--config', yaml]);
    expect(file.code).toBe(0);
    expect(JSON.parse(file.stdout).limiters[0]).toMatchObject({ partition: 'share', maxLagMs: 150 });
    const badFlag = await runCli(['start', '--check', '--limiter', 'name=api,limit=5,window=1m,partition=shared']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/--limiter\[0\]\.partition.*local, share/);
    const badYaml = join(dir, 'bad.yaml');
    writeFileSync(badYaml, `limiters:\n  - { name: api, limit: 5, window: 1m, maxLag: soon }\n`);
    const bad = await runCli(['start', '--check', '--config', badYaml]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('limiters[0].maxLag');
  });

  it('admits only a third of the budget on each node while a member is frozen, says so everywhere, and decides on the full count after the heal', async () => {
    const yaml = join(dir, 'b.yaml');
    writeFileSync(yaml, `limiters:\n  - { name: api, limit: ${LIMIT}, window: 60s, partition: share, maxLag: 2s }\n`);
    const common = ['--port', '0', '--secret-file', secretFile, '--suspect-after', '500ms'];
    const a = await startCli(['--id', 'a', ...common, '--limiter', SPEC]);
    spawned.push(a.proc);
    const b = await startCli(['--id', 'b', ...common, '--config', yaml, '--peers', a.address]);
    spawned.push(b.proc);
    const c = await startCli(['--id', 'c', ...common, '--limiter', SPEC, '--peers', `${a.address},${b.address}`]);
    spawned.push(c.proc);
    const nodes: DaemonProcess[] = [a, b, c];
    await eventually(async () => {
      for (const n of nodes) {
        const peers = ((await (await fetch(`${n.url}/v1/cluster`)).json()) as { peers: Array<{ state: string }> }).peers;
        if (peers.length !== 2 || peers.some((p) => p.state !== 'live')) return false;
      }
      return true;
    }, 20_000, 'a live 3-node mesh');
    for (const n of nodes) expect(await limiterOf(n.url)).toMatchObject({ partition: 'share', share: null });

    const events = await SseClient.open(`${a.url}/v1/events`);
    try {
      c.proc.child.kill('SIGSTOP');
      const began = await events.next((e) => e.event === 'share' && JSON.parse(e.data).active === true, 15_000);
      expect(JSON.parse(began.data)).toMatchObject({ limiter: 'api', active: true, cause: 'contact', members: 3, maxLagMs: 2_000 });
      expect(JSON.parse(began.data).reason).toMatch(/^lost contact with c \((suspect|down)\)$/);
      expect(await limiterOf(a.url)).toMatchObject({ share: { members: 3, cause: 'contact' } });
      await eventually(async () => (await limiterOf(b.url)).share !== null, 10_000, 'b on its share');

      const status = await runCli(['status', '--url', a.url]);
      expect(status.stdout).toMatch(/^api\s.*share 1\/3: lost contact with c/m);

      // A fresh key: nothing spent before the loss, so a's share is a third of the limit.
      expect(await admitted(a.url, 'fresh', LIMIT)).toBe(LIMIT / 3);

      const metrics = parsePrometheusText(await (await fetch(`${a.url}/metrics`)).text());
      expect(sampleValue(metrics, 'tallymesh_limiter_share_active', { limiter: 'api' })).toBe(1);
      expect(sampleValue(metrics, 'tallymesh_limiter_share_weight', { limiter: 'api' })).toBeCloseTo(1 / 3, 12);
      expect(sampleValue(metrics, 'tallymesh_limiter_shares_total', { limiter: 'api', cause: 'contact' })).toBe(1);
      const logged = a.proc.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.event === 'partition-share');
      expect(logged[0]).toMatchObject({ limiter: 'api', active: true, cause: 'contact', members: 3 });

      c.proc.child.kill('SIGCONT');
      const ended = await events.next((e) => e.event === 'share' && JSON.parse(e.data).active === false, 15_000);
      expect(JSON.parse(ended.data)).toMatchObject({ limiter: 'api', cause: 'healed' });
      expect(await limiterOf(a.url)).toMatchObject({ share: null });
      // The full count again: the 10 admitted during the share are counted, 20 are left.
      expect(await admitted(a.url, 'fresh', LIMIT)).toBe(LIMIT - LIMIT / 3);
      const after = parsePrometheusText(await (await fetch(`${a.url}/metrics`)).text());
      expect(sampleValue(after, 'tallymesh_limiter_share_active', { limiter: 'api' })).toBe(0);
      // The key is at its limit now, and no more: the accuracy estimate says 1 (within the SLO, so no slo event).
      await eventually(async () => sampleValue(parsePrometheusText(await (await fetch(`${a.url}/metrics`)).text()), 'tallymesh_limiter_admitted_ratio', { limiter: 'api' }) === 1, 10_000, 'admitted ratio 1');
      expect(events.events.filter((e) => e.event === 'slo')).toEqual([]);
    } finally {
      events.close();
    }
  }, 90_000);
});
