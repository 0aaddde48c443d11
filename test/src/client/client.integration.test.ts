/**
 * `tallymesh/client` against real daemons started through the CLI (built
 * dist/, as users run it): pipelined consume on one daemon, the bearer
 * token, a daemon that accepts the stream and never answers, failover with
 * a daemon killed mid-run (kill -9) while calls flow, and reconnect after a
 * daemon restarts. Every call must settle within its timeout, whatever the
 * socket does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createClient, isTallymeshError, type ClientDecision, type TallymeshClient } from '../../../src/client/index.js';
import { startCliCluster, type CliCluster } from '../../cli/cli-cluster.js';
import { eventually, startCli, type DaemonProcess } from '../../cli/cli-process.js';
import { freePort } from '../../helpers/free-port.js';

/** Slack over a call's timeout for timers and a busy 2-core box. */
const SLACK_MS = 250;

const daemons: DaemonProcess[] = [];
const clients: TallymeshClient[] = [];
let cluster: CliCluster | undefined;
const dir = mkdtempSync(join(tmpdir(), 'tallymesh-client-'));

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const d of daemons.splice(0)) d.proc.kill();
  cluster?.stop();
  cluster = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function daemon(args: string[]): Promise<DaemonProcess> {
  const d = await startCli(['--port', '0', '--log-level', 'warn', ...args]);
  daemons.push(d);
  return d;
}

function client(options: Parameters<typeof createClient>[0]): TallymeshClient {
  const c = createClient(options);
  clients.push(c);
  return c;
}

/** A consume call with the time it took to settle, and what it settled with. */
interface Settled {
  ms: number;
  decision?: ClientDecision;
  error?: unknown;
}

function timed(c: TallymeshClient, limiter: string, key: string): Promise<Settled> {
  const t0 = performance.now();
  return c.consume(limiter, key).then(
    (decision) => ({ ms: performance.now() - t0, decision }),
    (error: unknown) => ({ ms: performance.now() - t0, error }),
  );
}


describe('tallymesh/client against one daemon', () => {
  it('pipelines 10,000 calls in flight and enforces the limit exactly', async () => {
    const d = await daemon(['--limiter', 'name=api,limit=1000,window=60s']);
    const c = client({ urls: d.url, timeoutMs: 10_000 });
    const t0 = performance.now();
    const decisions = await Promise.all(Array.from({ length: 10_000 }, () => c.consume('api', 'user:1')));
    const ms = performance.now() - t0;
    expect(decisions.filter((x) => x.allowed)).toHaveLength(1000);
    expect(decisions.every((x) => x.source === 'daemon')).toBe(true);
    // Answered in order: the first 1,000 calls were admitted, counting down.
    expect(decisions[0]).toMatchObject({ allowed: true, limit: 1000, remaining: 999 });
    expect(decisions[999]).toMatchObject({ allowed: true, remaining: 0 });
    expect(decisions[1000]?.allowed).toBe(false);
    expect(decisions[1000]?.retryAfterMs).toBeGreaterThan(0);
    // One connection carried it all.
    expect(c.status()).toMatchObject({ state: 'open', connections: 1, failures: 0, inFlight: 0 });
    console.log(`client: 10,000 calls in flight on one daemon, one key, settled in ${ms.toFixed(0)} ms (${Math.round(10_000 / (ms / 1000))} calls/s)`);
    // Peek counts nothing; an unknown limiter is the daemon's registry error.
    expect(await c.peek('api', 'user:1')).toMatchObject({ allowed: false, remaining: 0, source: 'daemon' });
    await expect(c.consume('nope', 'x')).rejects.toMatchObject({ code: 'TALLYMESH_ERR_LIMITER_UNKNOWN', message: 'No limiter named "nope"' });
    await expect(c.consume('api', 'x', 0)).rejects.toMatchObject({ code: 'TALLYMESH_ERR_COST_INVALID' });
    await expect(c.consume('api', '')).rejects.toMatchObject({ code: 'TALLYMESH_ERR_KEY_INVALID' });
    await c.close();
    await expect(c.consume('api', 'x')).rejects.toMatchObject({ code: 'TALLYMESH_ERR_CLIENT_CLOSED' });
  });

  it('sends the bearer token; without it every call settles by its timeout with the 401 as cause', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'a-client-test-token-0123456789', { mode: 0o600 });
    const d = await daemon(['--limiter', 'name=api,limit=5,window=60s', '--api-token-file', tokenFile]);
    const good = client({ urls: d.url, token: 'a-client-test-token-0123456789', timeoutMs: 2_000 });
    expect(await good.consume('api', 'k')).toMatchObject({ allowed: true, remaining: 4, source: 'daemon' });
    expect(await good.peek('api', 'k')).toMatchObject({ allowed: true, remaining: 4, source: 'daemon' });

    const bad = client({ urls: d.url, token: 'not-the-token-but-long-enough', timeoutMs: 300 });
    const r = await timed(bad, 'api', 'k');
    expect(r.ms).toBeLessThanOrEqual(300 + SLACK_MS);
    expect(isTallymeshError(r.error, 'TALLYMESH_ERR_CLIENT_TIMEOUT')).toBe(true);
    expect((r.error as Error).cause).toMatchObject({ code: 'TALLYMESH_ERR_HTTP_UNAUTHORIZED' });
    await expect(bad.peek('api', 'k')).rejects.toMatchObject({ code: 'TALLYMESH_ERR_HTTP_UNAUTHORIZED' });
    // Nothing was counted for the refused client.
    expect(await good.peek('api', 'k')).toMatchObject({ remaining: 4 });
  });
});

describe('tallymesh/client against a daemon that accepts the stream and never answers', () => {
  let silent: WebSocketServer | undefined;
  afterEach(async () => {
    for (const ws of silent?.clients ?? []) ws.terminate();
    await new Promise((r) => (silent === undefined ? r(undefined) : silent.close(r)));
    silent = undefined;
  });

  async function startSilent(): Promise<string> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    silent = wss;
    await new Promise((r) => wss.once('listening', r));
    return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  }

  it.each([
    ['error', (s: Settled) => expect(isTallymeshError(s.error, 'TALLYMESH_ERR_CLIENT_TIMEOUT')).toBe(true)],
    ['closed', (s: Settled) => expect(s.decision).toEqual({ allowed: false, limit: 0, remaining: 0, resetMs: 0, retryAfterMs: 0, source: 'fail-closed' })],
    ['open', (s: Settled) => expect(s.decision).toMatchObject({ allowed: true, source: 'fail-open' })],
  ] as const)('times every call out with failMode %s', async (failMode, check) => {
    const url = await startSilent();
    const c = client({ urls: url, timeoutMs: 300, failMode });
    const settled = await Promise.all(Array.from({ length: 500 }, (_, i) => timed(c, 'api', `k${i}`)));
    for (const s of settled) check(s);
    const longest = Math.max(...settled.map((s) => s.ms));
    expect(longest).toBeGreaterThanOrEqual(290);
    expect(longest).toBeLessThanOrEqual(300 + SLACK_MS);
    // The stuck connection was cut, and counted as a failure.
    await eventually(() => c.status().failures >= 1, 5_000, 'the stuck stream cut');
    expect(c.status().lastProblem?.message).toMatch(/did not answer within 300 ms/);
  });

  it('fails over from the silent server to a daemon that answers', async () => {
    const url = await startSilent();
    const d = await daemon(['--limiter', 'name=api,limit=100,window=60s']);
    const c = client({ urls: [url, d.url], timeoutMs: 300, failMode: 'closed' });
    const first = await timed(c, 'api', 'k');
    expect(first.decision?.source).toBe('fail-closed');
    expect(first.ms).toBeLessThanOrEqual(300 + SLACK_MS);
    await eventually(async () => (await c.consume('api', 'k')).source === 'daemon', 5_000, 'a decision from the daemon');
    expect(c.status().url).toBe(`${d.url.replace(/^http/, 'ws')}/v1/stream`);
  });
});

describe('tallymesh/client failover between daemons', () => {
  it('settles every call within its timeout while the daemon it uses is killed (kill -9) mid-run', async () => {
    cluster = await startCliCluster(['a', 'b'], ['--limiter', 'name=api,limit=1000000,window=60s', '--gossip-interval', '20ms', '--log-level', 'warn']);
    const [a, b] = cluster.nodes;
    const TIMEOUT = 1_000;
    const c = client({ urls: [a.url, b.url], timeoutMs: TIMEOUT, failMode: 'closed' });
    expect((await c.consume('api', 'warm')).source).toBe('daemon');
    expect(c.status().url).toContain(new URL(a.url).host);

    // Calls flow: 100 every 5 ms, on 50 keys, for 3 s; a is killed after 1 s.
    const calls: Array<Promise<Settled & { at: number }>> = [];
    const start = performance.now();
    let killedAt = 0;
    while (performance.now() - start < 3_000) {
      const at = performance.now() - start;
      if (killedAt === 0 && at >= 1_000) {
        a.proc.child.kill('SIGKILL');
        killedAt = at;
      }
      for (let i = 0; i < 100; i++) calls.push(timed(c, 'api', `k${i % 50}`).then((s) => ({ ...s, at })));
      await new Promise((r) => setTimeout(r, 5));
    }
    const settled = await Promise.all(calls);
    const longest = Math.max(...settled.map((s) => s.ms));
    const bySource = { daemon: 0, 'fail-closed': 0, errors: 0 };
    for (const s of settled) {
      if (s.decision === undefined) bySource.errors++;
      else bySource[s.decision.source as 'daemon' | 'fail-closed']++;
    }
    console.log(`client failover: ${settled.length} calls, a killed at ${killedAt.toFixed(0)} ms; longest settle ${longest.toFixed(0)} ms (timeout ${TIMEOUT}); ${JSON.stringify(bySource)}`);
    // None hangs, none fails: each is decided by a daemon or by failMode within its timeout.
    expect(longest).toBeLessThanOrEqual(TIMEOUT + SLACK_MS);
    expect(bySource.errors).toBe(0);
    // The run went on on b: calls made well after the kill were decided by a daemon.
    const late = settled.filter((s) => s.at > killedAt + 500);
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((s) => s.decision?.source === 'daemon')).toBe(true);
    expect(c.status().url).toContain(new URL(b.url).host);
    expect(c.status().failures).toBeGreaterThanOrEqual(1);
  });

  it('settles every call within its timeout while the daemon it uses freezes (SIGSTOP: no RST, the socket stays up), then goes on on the other', async () => {
    cluster = await startCliCluster(['a', 'b'], ['--limiter', 'name=api,limit=1000000,window=60s', '--gossip-interval', '20ms', '--log-level', 'warn']);
    const [a, b] = cluster.nodes;
    const TIMEOUT = 500;
    const c = client({ urls: [a.url, b.url], timeoutMs: TIMEOUT, failMode: 'closed' });
    expect((await c.consume('api', 'warm')).source).toBe('daemon');
    const calls: Array<Promise<Settled & { at: number }>> = [];
    const start = performance.now();
    let frozenAt = 0;
    try {
      while (performance.now() - start < 2_500) {
        const at = performance.now() - start;
        if (frozenAt === 0 && at >= 500) {
          a.proc.child.kill('SIGSTOP');
          frozenAt = at;
        }
        for (let i = 0; i < 100; i++) calls.push(timed(c, 'api', `k${i % 50}`).then((s) => ({ ...s, at })));
        await new Promise((r) => setTimeout(r, 5));
      }
      const settled = await Promise.all(calls);
      const longest = Math.max(...settled.map((s) => s.ms));
      const failClosed = settled.filter((s) => s.decision?.source === 'fail-closed').length;
      console.log(`client freeze: ${settled.length} calls, a frozen at ${frozenAt.toFixed(0)} ms; longest settle ${longest.toFixed(0)} ms (timeout ${TIMEOUT}); ${failClosed} fail-closed`);
      expect(longest).toBeLessThanOrEqual(TIMEOUT + SLACK_MS);
      expect(settled.every((s) => s.decision !== undefined)).toBe(true);
      // Calls sent to the frozen daemon settled by failMode; the stuck stream was cut and b took over.
      expect(failClosed).toBeGreaterThan(0);
      const late = settled.filter((s) => s.at > frozenAt + TIMEOUT + 500);
      expect(late.length).toBeGreaterThan(0);
      expect(late.every((s) => s.decision?.source === 'daemon')).toBe(true);
      expect(c.status().url).toContain(new URL(b.url).host);
    } finally {
      a.proc.child.kill('SIGCONT');
    }
  });

  it('reconnects after the daemon restarts on the same port', async () => {
    const port = await freePort();
    const args = ['--port', String(port), '--limiter', 'name=api,limit=100,window=60s', '--log-level', 'warn'];
    let d = await startCli(args);
    daemons.push(d);
    const c = client({ urls: d.url, timeoutMs: 300, failMode: 'open', backoff: { initialMs: 20, maxMs: 200 } });
    expect(await c.consume('api', 'k')).toMatchObject({ source: 'daemon', remaining: 99 });
    d.proc.child.kill('SIGKILL');
    await d.proc.exited;
    // Down: calls settle by failMode within their timeout.
    const down = await timed(c, 'api', 'k');
    expect(down.decision?.source).toBe('fail-open');
    expect(down.ms).toBeLessThanOrEqual(300 + SLACK_MS);
    d = await startCli(args);
    daemons.push(d);
    // Up again: the client redials by itself (a fresh daemon: its count starts over).
    await eventually(async () => (await c.consume('api', 'k')).source === 'daemon', 10_000, 'a decision from the restarted daemon');
    expect(c.status()).toMatchObject({ state: 'open', connections: 2 });
  });
});
