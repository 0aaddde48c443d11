import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, eventually, runCli, startCli, type DaemonProcess } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-cli-'));
const secretFile = join(dir, 'secret');
const tokenFile = join(dir, 'token');
const TOKEN = 'api-token-for-the-cli-tests';
writeFileSync(secretFile, 'a-shared-secret-for-the-cli-tests\n', { mode: 0o600 });
writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const spawned: CliProcess[] = [];
afterAll(() => {
  for (const p of spawned) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function getJson(url: string, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

describe('tallymesh --help and --version', () => {
  it('prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it.each([[], ['start'], ['demo'], ['consume'], ['status'], ['simulate']])('prints help with examples for %j', async (...cmd) => {
    const r = await runCli([...cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: tallymesh ${cmd.length === 0 ? '' : cmd[0]}`.trim());
    expect(r.stdout).toContain('Examples:');
  });

  it('exits 2 on an unknown option or command', async () => {
    expect((await runCli(['start', '--prot', '1'])).code).toBe(2);
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('tallymesh start: configuration errors', () => {
  let blocker: Server;
  let busyPort: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    busyPort = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  // The port is taken: a CLI that bound before validating would fail with "in use" and exit 1.
  it('exits 2 naming the flag, before binding anything', async () => {
    const r = await runCli(['start', '--port', String(busyPort), '--limiter', 'name=api,limit=100,window=soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--limiter[0].window: must be a duration like 60s');
    expect(r.stdout).not.toContain('listening');
  });

  it('exits 2 naming the field of the YAML file', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, `port: ${busyPort}\nlimiters:\n  - { name: api, limit: 100, window: 60s }\n  - { name: login, limit: 5, window: 5 minutes }\n`);
    const r = await runCli(['start', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('limiters[1].window: must be a duration like 60s');
    expect(r.stdout).not.toContain('listening');
  });

  it('exits 2 naming the environment variable', async () => {
    const r = await runCli(['start', '--limiter', 'name=api,limit=100,window=60s'], { TALLYMESH_MAX_KEYS: 'lots', TALLYMESH_PORT: String(busyPort) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TALLYMESH_MAX_KEYS: must be an integer, got "lots"');
  });

  it('refuses a non-loopback host without a secret', async () => {
    const r = await runCli(['start', '--host', '0.0.0.0', '--port', '0', '--limiter', 'name=api,limit=100,window=60s']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--host: binding 0.0.0.0 needs a cluster secret');
    expect(r.stdout).not.toContain('listening');
  });

  it('exits 1 when the port is in use', async () => {
    const r = await runCli(['start', '--port', String(busyPort), '--limiter', 'name=api,limit=100,window=60s', '--log-level', 'silent']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('in use');
  });

  it('prints the resolved configuration with secrets redacted under --check', async () => {
    const r = await runCli(['start', '--check', '--secret-file', secretFile, '--host', '0.0.0.0', '--limiter', 'name=api,limit=100,window=1m'], {
      TALLYMESH_PORT: '7171',
    });
    expect(r.code).toBe(0);
    const config = JSON.parse(r.stdout);
    expect(config).toMatchObject({ host: '0.0.0.0', port: 7171, secret: '(set, 33 characters)', limiters: [{ name: 'api', windowMs: 60_000 }] });
    expect(r.stdout).not.toContain('a-shared-secret');
  });
});

describe('a two-daemon cluster driven through the CLI', () => {
  let a: DaemonProcess;
  let b: DaemonProcess;
  const limiter = ['--limiter', 'name=api,limit=10,window=60s', '--secret-file', secretFile];

  beforeAll(async () => {
    a = await startCli(['--id', 'a', '--port', '0', ...limiter]);
    spawned.push(a.proc);
    b = await startCli(['--id', 'b', '--port', '0', '--peers', a.address, '--api-token-file', tokenFile, ...limiter]);
    spawned.push(b.proc);
    await eventually(async () => {
      const [ca, cb] = await Promise.all([getJson(`${a.url}/v1/cluster`), getJson(`${b.url}/v1/cluster`, TOKEN)]);
      return ca.body.peers.some((p: any) => p.nodeId === 'b' && p.reachable) && cb.body.peers.some((p: any) => p.nodeId === 'a' && p.reachable);
    }, 15_000, 'a and b see each other');
  });

  it('prints the listening line and logs JSON lines to stdout', () => {
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const logs = a.proc.stdout.split('\n').filter((l) => l.startsWith('{'));
    expect(logs.length).toBeGreaterThan(0);
    const loaded = logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'config loaded');
    expect(loaded).toMatchObject({ nodeId: 'a', config: { id: 'a', secret: '(set, 33 characters)' } });
    expect(logs.map((l) => JSON.parse(l)).find((l) => l.event === 'config-sources')).toMatchObject({ nodeId: 'a', file: null, origins: { id: 'flag' } });
    expect(a.proc.stdout).not.toContain('a-shared-secret');
  });

  it('consume exits 0 when allowed and 1 when denied', async () => {
    const allowed = await runCli(['consume', '--url', a.url, '--limiter', 'api', '--key', 'user:1', '--cost', '3']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/^allowed: api user:1 cost 3 — 7 of 10 remaining/);
    const json = await runCli(['consume', '--url', a.url, '--limiter', 'api', '--key', 'user:1', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ allowed: true, limit: 10, remaining: 6, retryAfterMs: 0 });
    const denied = await runCli(['consume', '--url', a.url, '--limiter', 'api', '--key', 'user:1', '--cost', '10']);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^denied: .* retry after/);
  });

  it('consume exits 2 on an unknown limiter, an unreachable daemon and a missing token', async () => {
    const unknown = await runCli(['consume', '--url', a.url, '--limiter', 'nope', '--key', 'k']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('HTTP 404 TALLYMESH_ERR_LIMITER_UNKNOWN');
    const closed = await runCli(['consume', '--url', 'http://127.0.0.1:1', '--limiter', 'api', '--key', 'k']);
    expect(closed.code).toBe(2);
    expect(closed.stderr).toContain('cannot reach http://127.0.0.1:1/v1/consume');
    const noToken = await runCli(['consume', '--url', b.url, '--limiter', 'api', '--key', 'k']);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('HTTP 401');
    const withToken = await runCli(['consume', '--url', b.url, '--limiter', 'api', '--key', 'k', '--token-file', tokenFile]);
    expect(withToken.code).toBe(0);
    const fromEnv = await runCli(['consume', '--url', b.url, '--limiter', 'api', '--key', 'k'], { TALLYMESH_API_TOKEN: TOKEN });
    expect(fromEnv.code).toBe(0);
  });

  it('status prints the cluster as tables', async () => {
    const r = await runCli(['status', '--url', a.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^node a at 127\.0\.0\.1:\d+ — ready/);
    expect(r.stdout).toMatch(/NODE\s+ADDRESS\s+STATE\s+REACHABLE\s+CLOCK OFFSET\s+REPL LAG\s+BYTES IN\s+BYTES OUT/);
    expect(r.stdout).toMatch(/^a \(self\)/m);
    expect(r.stdout).toMatch(/^b\s+127\.0\.0\.1:\d+\s+live\s+yes/m);
    expect(r.stdout).toMatch(/^api\s+10\s+1m\s+60\s+\d+/m);
    const json = await runCli(['status', '--url', b.url, '--json', '--token-file', tokenFile]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).node.nodeId).toBe('b');
  });

  it('exits 0 on SIGTERM, and the survivor holds the hits of the stopped node', async () => {
    const peek = async () => (await getJson(`${a.url}/v1/limiters/api/keys/${encodeURIComponent('user:sigterm')}`)).body.remaining;
    expect(await peek()).toBe(10);
    // Admitted on b just before it stops: only b's last flush can carry it to a.
    const res = await fetch(`${b.url}/v1/consume`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ limiter: 'api', key: 'user:sigterm', cost: 4 }),
    });
    expect(((await res.json()) as { allowed: boolean }).allowed).toBe(true);
    b.proc.child.kill('SIGTERM');
    const exit = await b.proc.wait(15_000);
    expect(exit.code).toBe(0);
    expect(exit.stdout).toContain('"event":"shutdown"');
    expect(await peek()).toBe(6);
  });
});

describe('tallymesh simulate', () => {
  const args = ['simulate', '--nodes', '3', '--seconds', '2', '--rate', '500', '--partition', '1:2', '--at', '500ms', '--heal', '1s', '--loss', '0.01', '--skew', '50ms', '--seed', '7'];

  it('prints the same table twice for the same seed', async () => {
    const [first, second] = await Promise.all([runCli(args), runCli(args)]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    expect(first.stdout).toContain('seed 7: 3 nodes');
    expect(first.stdout).toContain('partition: {n1} | {n2,n3} from 500 ms to 1.0 s');
    expect(first.stdout).toMatch(/exact after heal\s+yes/);
    expect(first.stdout).toMatch(/over-counted\s+no/);
    expect(first.stdout).toMatch(/p99\s+[\d,]+ ms/);
    expect(first.stderr).toContain('simulating');
  });

  it('prints JSON with --json', async () => {
    const r = await runCli([...args, '--json', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const { options, report } = JSON.parse(r.stdout);
    expect(options.partitions).toEqual([{ at: 500, heal: 1000, a: ['n1'], b: ['n2', 'n3'] }]);
    expect(report).toMatchObject({ seed: 7, nodes: 3, exact: true, overCounted: false });
  });

  it('exits 2 naming the flag when the groups do not add up', async () => {
    const r = await runCli(['simulate', '--nodes', '5', '--partition', '2:2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--partition: the groups must add up to --nodes (5), got 2+2 = 4');
    const d = await runCli(['simulate', '--skew', 'lots']);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain('--skew: must be a duration like 60s');
  });
});

describe('tallymesh demo', () => {
  it('runs a 3-node cluster, prints its URLs and a summary where every node agrees, and exits 0', async () => {
    const r = await runCli(['demo', '--seconds', '3', '--rate', '1500'], {}, 60_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^ {2}[abc] {2}http:\/\/127\.0\.0\.1:\d+/gm)).toHaveLength(3);
    expect(r.stdout).toMatch(/NODE\s+URL\s+DECISIONS\/S\s+ADMITTED\s+DENIED/);
    expect(r.stdout).toContain('summary after');
    expect(r.stdout).toContain('all 3 nodes agree on every one of the 40 keys');
    expect(r.stdout).toMatch(/0 errors/);
    expect(r.stdout).toMatch(/stopped in/);
    // Not a terminal: no cursor movement.
    expect(r.stdout).not.toContain('\x1b[');
  }, 90_000);
});
