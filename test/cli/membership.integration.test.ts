/**
 * Honest membership (issue 13, item 1), through the CLI with real processes:
 * a node whose seeds are dead or present a certificate from another CA says
 * so — in its log, `/v1/cluster`, `/readyz`, `tallymesh status` and the
 * metrics the documented alert reads — and expected events (a duplicate link
 * losing its resolution, a peer's graceful goodbye) are not WARN lines.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { firingSeries } from '../helpers/prom-alert.js';
import { parsePrometheusText, sampleValue } from '../helpers/prom-parse.js';
import { HAS_OPENSSL, httpsGet, selfSignedCert, type ClientTls } from '../helpers/tls.js';
import { startCliCluster } from './cli-cluster.js';
import { eventually, runCli, type CliProcess } from './cli-process.js';
import { cliScratch } from './cli-scratch.js';

const LIMITER = 'name=api,limit=5,window=60s';
const scratch = cliScratch('membership');
afterEach(() => scratch.cleanup());
const start = (args: string[]) => scratch.start(args);

function secretFile(dir: string): string {
  const file = join(dir, 'secret');
  writeFileSync(file, `membership-secret-${process.pid}-0123456789`, { mode: 0o600 });
  return file;
}

/** The alert docs/operations.md recommends for membership (the first expression of its "Worth an alert" line). */
function documentedAlert(): string {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const m = /Worth an alert, for a few minutes: `([^`]+)`/.exec(doc);
  if (m === null) throw new Error('docs/operations.md no longer states the membership alert');
  return m[1];
}

const logLines = (proc: CliProcess): Array<Record<string, unknown>> => proc.jsonLines();

describe('a node whose seeds are dead', () => {
  it('logs the failed dials, becomes ready alone and names the seeds everywhere an operator looks', async () => {
    const dir = scratch.dir();
    const seeds = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const d = await start(['--id', 'alone', '--port', '0', '--secret-file', secretFile(dir), '--join-timeout', '300ms', '--peers', seeds.join(','), '--limiter', LIMITER]);

    // The log: per dead seed (sampled per address), naming the reason; INFO while the node waits for its seeds
    // (nodes started together need not listen yet), WARN once it serves without them.
    const failed = (s: string, level: number) => logLines(d.proc).find((l) => l.event === 'dial-failed' && l.address === s && l.level === level);
    await eventually(() => seeds.every((s) => failed(s, 30) !== undefined), 10_000, 'an info dial-failed line per seed');
    await eventually(() => seeds.every((s) => failed(s, 40) !== undefined), 15_000, 'a warn dial-failed line per seed');
    for (const s of seeds) {
      const line = failed(s, 40) as Record<string, unknown>;
      expect(line).toMatchObject({ seed: true, reason: 'refused' });
      expect(line.msg).toContain(`cannot reach seed ${s} (refused)`);
    }

    // Ready alone (a limiter that refuses everything because its peers are away is worse), but /readyz says what is missing.
    let readyz: { ready: boolean; degraded?: string[]; seeds?: Array<{ address: string; state: string; lastError: { reason: string } | null }> } | undefined;
    await eventually(async () => {
      const res = await fetch(`${d.url}/readyz`);
      readyz = (await res.json()) as typeof readyz;
      return res.status === 200;
    }, 10_000, '/readyz 200');
    const degraded = (readyz?.degraded ?? []).join('\n');
    for (const s of seeds) expect(degraded).toContain(s);
    expect(degraded).toContain('2 of 2 seed peers not reached');
    expect(readyz?.seeds?.map((s) => [s.address, s.state, s.lastError?.reason])).toEqual(seeds.map((s) => [s, 'unreachable', 'refused']));
    // The WARN line at the moment it turned ready names them too.
    const readyLine = logLines(d.proc).find((l) => l.event === 'ready') as Record<string, unknown>;
    expect(readyLine.level).toBe(40);
    for (const s of seeds) expect(String(readyLine.msg)).toContain(s);

    // /v1/cluster: the seeds with their state and last error.
    const cluster = (await (await fetch(`${d.url}/v1/cluster`)).json()) as { seeds: Array<{ address: string; state: string; failures: number; lastError: { reason: string; detail: string } }> };
    expect(cluster.seeds.map((s) => s.address)).toEqual(seeds);
    for (const s of cluster.seeds) {
      expect(s.state).toBe('unreachable');
      expect(s.failures).toBeGreaterThanOrEqual(1);
      expect(s.lastError.detail).toContain('ECONNREFUSED');
    }

    // The metrics, and the documented alert over them.
    const families = parsePrometheusText(await (await fetch(`${d.url}/metrics`)).text());
    expect(sampleValue(families, 'tallymesh_seeds', { state: 'unreachable' })).toBe(2);
    expect(sampleValue(families, 'tallymesh_seeds', { state: 'connected' })).toBe(0);
    expect(sampleValue(families, 'tallymesh_dial_failures_total', { reason: 'refused' })).toBeGreaterThanOrEqual(2);
    expect(firingSeries(documentedAlert(), families)).toContain('tallymesh_seeds{"state":"unreachable"}');

    // tallymesh status: not "0 of 0 peers reachable" and nothing else.
    const status = await runCli(['status', '--url', d.url]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('0 of 2 seeds reached');
    for (const s of seeds) expect(status.stdout).toMatch(new RegExp(`${s.replace(/\./g, '\\.')}\\s+unreachable`));
  }, 40_000);
});

describe('a healthy cluster', () => {
  it('keeps the alert quiet, logs no WARN at start, and logs a graceful goodbye at info', async () => {
    const cluster = await startCliCluster(['m1', 'm2', 'm3'], ['--limiter', LIMITER, '--join-timeout', '500ms', '--drain-ms', '0']);
    scratch.defer(cluster.stop);
    const [a, b, c] = cluster.nodes;
    for (const n of cluster.nodes) {
      const families = parsePrometheusText(await (await fetch(`${n.url}/metrics`)).text());
      expect(firingSeries(documentedAlert(), families)).toEqual([]);
    }
    // Three nodes dialing each other resolve duplicate links: expected, so nothing at WARN.
    for (const n of [a, b, c]) {
      const warns = logLines(n.proc).filter((l) => (l.level as number) >= 40);
      expect(warns.map((l) => `${String(l.msg)} (${String(l.reason)})`)).toEqual([]);
    }
    b.proc.child.kill('SIGTERM');
    expect((await b.proc.wait()).code).toBe(0);
    await eventually(() => logLines(a.proc).some((l) => l.event === 'peer' && l.peer === 'm2' && l.state === 'down'), 10_000, 'm1 sees m2 down');
    const down = logLines(a.proc).find((l) => l.event === 'peer' && l.peer === 'm2' && l.state === 'down') as Record<string, unknown>;
    expect(down).toMatchObject({ level: 30 });
    expect(String(down.reason)).toMatch(/^left: /);
  }, 60_000);
});

/** GET JSON over HTTPS with a client certificate (the nodes require mTLS). */
async function httpsJson(url: string, tls: ClientTls): Promise<{ status: number; body: any }> {
  const { status, text } = await httpsGet(url, tls);
  return { status, body: JSON.parse(text) };
}

const httpsText = async (url: string, tls: ClientTls): Promise<string> => (await httpsGet(url, tls)).text;

describe.skipIf(!HAS_OPENSSL)('a peer with a certificate from another CA', () => {
  it('is named on both sides: a failed TLS dial on one, a refused TLS handshake on the other', async () => {
    const dir = scratch.dir();
    const secret = secretFile(dir);
    const [dirA, dirB] = [join(dir, 'a'), join(dir, 'b')];
    mkdirSync(dirA);
    mkdirSync(dirB);
    // Two self-signed certificates: each node's CA is its own, so neither trusts the other.
    const certA = selfSignedCert(dirA);
    const certB = selfSignedCert(dirB);
    const tlsArgs = (c: { certFile: string; keyFile: string }) => ['--tls-cert', c.certFile, '--tls-key', c.keyFile, '--tls-ca', c.certFile];
    const a = await start(['--id', 'ca-a', '--port', '0', '--secret-file', secret, '--join-timeout', '300ms', '--limiter', LIMITER, ...tlsArgs(certA)]);
    const b = await start(['--id', 'ca-b', '--port', '0', '--secret-file', secret, '--join-timeout', '300ms', '--peers', a.address, '--limiter', LIMITER, ...tlsArgs(certB)]);
    const asB = { cert: readFileSync(certB.certFile, 'utf8'), key: readFileSync(certB.keyFile, 'utf8'), ca: readFileSync(certB.certFile, 'utf8') };
    const asA = { cert: readFileSync(certA.certFile, 'utf8'), key: readFileSync(certA.keyFile, 'utf8'), ca: readFileSync(certA.certFile, 'utf8') };

    // The dialing side: a failed dial with reason tls, in the log, /v1/cluster and the metric.
    await eventually(() => logLines(b.proc).some((l) => l.event === 'dial-failed' && l.address === a.address && l.level === 40), 15_000, 'ca-b warns of its failed dial');
    const line = logLines(b.proc).find((l) => l.event === 'dial-failed' && l.level === 40) as Record<string, unknown>;
    expect(line).toMatchObject({ reason: 'tls', seed: true });
    const view = await httpsJson(`${b.url}/v1/cluster`, asB);
    expect(view.body.seeds).toMatchObject([{ address: a.address, state: 'unreachable', lastError: { reason: 'tls' } }]);
    let readyz: { status: number; body: any } | undefined;
    await eventually(async () => (readyz = await httpsJson(`${b.url}/readyz`, asB)).status === 200, 10_000, 'ca-b ready alone');
    expect(readyz?.body.degraded.join('\n')).toContain(`${a.address} (tls:`);
    expect(sampleValue(parsePrometheusText(await httpsText(`${b.url}/metrics`, asB)), 'tallymesh_dial_failures_total', { reason: 'tls' })).toBeGreaterThanOrEqual(1);

    // The listening side: the handshake it refused, logged and counted.
    await eventually(() => logLines(a.proc).some((l) => l.event === 'tls-refused'), 10_000, 'ca-a logs the refused handshake');
    expect(logLines(a.proc).find((l) => l.event === 'tls-refused')).toMatchObject({ level: 40 });
    expect(sampleValue(parsePrometheusText(await httpsText(`${a.url}/metrics`, asA)), 'tallymesh_tls_handshakes_refused_total')).toBeGreaterThanOrEqual(1);
    expect((await httpsJson(`${a.url}/v1/cluster`, asA)).body.peers).toEqual([]);
  }, 40_000);
});

describe('two nodes that disagree on a limiter\'s window', () => {
  it('name the limiter and the peer in the log, the metric, /readyz and /v1/cluster', async () => {
    const dir = scratch.dir();
    const secret = secretFile(dir);
    const a = await start(['--id', 'geo-a', '--port', '0', '--secret-file', secret, '--join-timeout', '300ms', '--limiter', 'name=api,limit=5,window=60s', '--limiter', 'name=ok,limit=5,window=60s']);
    const b = await start(['--id', 'geo-b', '--port', '0', '--secret-file', secret, '--join-timeout', '300ms', '--peers', a.address, '--limiter', 'name=api,limit=5,window=30s', '--limiter', 'name=ok,limit=5,window=60s']);
    await eventually(async () => (await fetch(`${b.url}/readyz`)).status === 200, 10_000, 'geo-b ready');
    // Hits on both limiters at geo-a: the agreeing one replicates, the other is refused at geo-b.
    for (const limiter of ['api', 'ok']) {
      await fetch(`${a.url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limiter, key: 'k' }) });
    }
    await eventually(() => logLines(b.proc).some((l) => l.event === 'geometry-conflict'), 10_000, 'a geometry-conflict line on geo-b');
    const line = logLines(b.proc).find((l) => l.event === 'geometry-conflict') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 40, limiter: 'api', peer: 'geo-a', local: { windowMs: 30_000, buckets: 30 }, remote: { windowMs: 60_000, buckets: 60 } });
    expect(logLines(b.proc).filter((l) => l.event === 'geometry-conflict' && l.limiter !== 'api')).toEqual([]);
    const families = parsePrometheusText(await (await fetch(`${b.url}/metrics`)).text());
    expect(sampleValue(families, 'tallymesh_geometry_conflicts_total', { limiter: 'api' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(families, 'tallymesh_geometry_conflicts_total', { limiter: 'ok' })).toBeUndefined();
    const readyz = (await (await fetch(`${b.url}/readyz`)).json()) as { ready: boolean; degraded: string[] };
    expect(readyz.ready).toBe(true);
    expect(readyz.degraded).toContain('limiter api: peer geo-a uses window 60000 ms in 60 buckets, this node 30000 ms in 30: their counts for it are refused both ways');
    const view = (await (await fetch(`${b.url}/v1/cluster`)).json()) as { geometryConflicts: Array<{ limiter: string; peer: string }> };
    expect(view.geometryConflicts.map((c) => [c.limiter, c.peer])).toEqual([['api', 'geo-a']]);
    // The agreeing limiter still replicates.
    await eventually(async () => {
      const peek = (await (await fetch(`${b.url}/v1/limiters/ok/keys/k`)).json()) as { remaining: number };
      return peek.remaining === 4;
    }, 10_000, 'limiter ok replicated to geo-b');
  }, 40_000);
});
