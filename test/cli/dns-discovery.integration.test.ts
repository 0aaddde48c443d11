/**
 * DNS discovery (`--peers-dns`) against a real DNS server: dnsmasq on a
 * loopback port, serving a name whose records the test changes like a
 * Kubernetes headless Service's. Daemons are real `tallymesh start`
 * processes, each bound to its own 127.0.0.x address on one shared port, as
 * pods share their container port.
 *
 * dnsmasq is installed by scripts/dns-prereqs.sh when missing; where it
 * cannot be (not root, no apt) the suite skips, except under CI=true, where
 * it fails.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer, findDnsmasq } from '../helpers/dnsmasq.js';
import { parsePrometheusText, sampleValue } from '../helpers/prom-parse.js';
import { eventually, runCli, startCli, type DaemonProcess } from './cli-process.js';

const dnsmasq = findDnsmasq();
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const NAME = 'tallymesh.test';
const IPS = { a: '127.0.0.11', b: '127.0.0.12', c: '127.0.0.13' } as const;

interface DnsView {
  intervalMs: number;
  server: string | null;
  dialing: string[];
  sources: Array<{ name: string; port: number; addresses: string[]; lookups: number; failures: number; lastError: string | null }>;
}
interface Cluster {
  node: { ready: boolean };
  peers: Array<{ nodeId: string; address: string; state: string }>;
  discovery?: { dns: DnsView };
}

async function cluster(d: DaemonProcess): Promise<Cluster> {
  return (await fetch(`${d.url}/v1/cluster`)).json() as Promise<Cluster>;
}

async function metric(d: DaemonProcess, name: string, labels: Record<string, string>): Promise<number> {
  return sampleValue(parsePrometheusText(await (await fetch(`${d.url}/metrics`)).text()), name, labels) ?? 0;
}

/** True once `d` has exactly the peers `ids`, all live. */
async function livePeers(d: DaemonProcess, ids: string[]): Promise<boolean> {
  const peers = (await cluster(d)).peers;
  const live = peers.filter((p) => p.state === 'live').map((p) => p.nodeId).sort();
  return live.join(',') === [...ids].sort().join(',');
}

/** A TCP port free on every address the test binds (each daemon gets its own 127.0.0.x, the same port). */
async function sharedPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, IPS.a, () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const free = await Promise.all(
      Object.values(IPS).map(
        (ip) =>
          new Promise<boolean>((resolve) => {
            const s = createServer().once('error', () => resolve(false));
            s.listen(port, ip, () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (free.every(Boolean)) return port;
  }
}

if ('missing' in dnsmasq) {
  describe('DNS discovery', () => {
    // In CI a missing DNS server must fail loudly, never pass by skipping.
    (inCi ? it : it.skip)(`cannot run: ${dnsmasq.missing}`, () => {
      throw new Error(dnsmasq.missing);
    });
  });
} else {
  describe.sequential('DNS discovery through a real DNS server (dnsmasq)', () => {
    const dns = new DnsServer(dnsmasq.path);
    const dir = mkdtempSync(join(tmpdir(), 'tallymesh-dns-cluster-'));
    const secretFile = join(dir, 'secret');
    const nodes: Partial<Record<keyof typeof IPS, DaemonProcess>> = {};
    let port = 0;

    const start = async (id: keyof typeof IPS, extra: string[] = []): Promise<DaemonProcess> => {
      const d = await startCli([
        '--id', id,
        '--host', IPS[id],
        '--port', String(port),
        '--secret-file', secretFile,
        '--peers-dns', `${NAME}:${port}`,
        '--dns-server', dns.address,
        '--dns-interval', '200ms',
        '--join-timeout', '1s',
        '--limiter', 'name=api,limit=100,window=60s',
        ...extra,
      ]);
      nodes[id] = d;
      return d;
    };
    const node = (id: keyof typeof IPS): DaemonProcess => {
      const d = nodes[id];
      if (d === undefined) throw new Error(`node ${id} is not running`);
      return d;
    };
    const addr = (id: keyof typeof IPS): string => `${IPS[id]}:${port}`;

    beforeAll(async () => {
      writeFileSync(secretFile, 'a-secret-for-the-dns-discovery-test', { mode: 0o600 });
      port = await sharedPort();
      dns.setRecords({});
      await dns.start();
    });
    afterAll(async () => {
      for (const d of Object.values(nodes)) d?.proc.kill();
      await dns.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts alone while the name has no records, and says so in /v1/cluster and /metrics', async () => {
      const a = await start('a');
      await eventually(async () => (await cluster(a)).node.ready, 15_000, 'a ready alone');
      const view = (await cluster(a)).discovery?.dns;
      expect(view).toMatchObject({ intervalMs: 200, server: dns.address, dialing: [] });
      expect(view?.sources[0]).toMatchObject({ name: NAME, port, addresses: [] });
      expect(view?.sources[0].lastError).toMatch(/^ENOTFOUND/);
      expect(await metric(a, 'tallymesh_dns_lookups_total', { name: `${NAME}:${port}`, outcome: 'empty' })).toBeGreaterThanOrEqual(1);
      // One WARN line for the empty name, however many lookups found nothing (rate-limited to one a minute).
      await eventually(async () => (await cluster(a)).discovery!.dns.sources[0].lookups >= 5, 15_000, 'five lookups');
      expect(a.proc.stdout.match(/"event":"dns-failed"/g)).toHaveLength(1);
    });

    it('dials the nodes that appear in DNS, and never itself', async () => {
      const b = await start('b');
      await dns.reload({ [NAME]: [IPS.a, IPS.b] });
      const a = node('a');
      await eventually(async () => (await livePeers(a, ['b'])) && livePeers(b, ['a']), 20_000, 'a and b live through DNS');
      const view = (await cluster(a)).discovery!.dns;
      expect(view.sources[0].addresses).toEqual([addr('a'), addr('b')]);
      // Its own record is in the answer but not in what it dials.
      expect(view.dialing).toEqual([addr('b')]);
      expect(view.sources[0].lastError).toBeNull();
      expect((await cluster(a)).peers.map((p) => p.nodeId)).toEqual(['b']);
      expect(await metric(a, 'tallymesh_dns_addresses', { name: `${NAME}:${port}` })).toBe(2);
      expect(a.proc.stdout).toMatch(/"event":"dns-recovered"/);
    });

    it('joins a node started after them through its first lookup, which it waits for as seeds', async () => {
      await dns.reload({ [NAME]: [IPS.a, IPS.b, IPS.c] });
      const c = await start('c');
      // Its first answer names a and b before the mesh starts: they are seeds, so /readyz waits for their sync.
      await eventually(async () => (await fetch(`${c.url}/readyz`)).status === 200, 20_000, 'c ready');
      const peers = (await cluster(c)).peers;
      expect(peers.filter((p) => p.state === 'live').map((p) => p.nodeId).sort()).toEqual(['a', 'b']);
      await eventually(async () => (await livePeers(node('a'), ['b', 'c'])) && livePeers(node('b'), ['a', 'c']), 20_000, 'a full mesh of three');
    });

    it('stops dialing a node that leaves DNS; its link ends when the node goes', async () => {
      await dns.reload({ [NAME]: [IPS.a, IPS.c] });
      const a = node('a');
      await eventually(async () => (await cluster(a)).discovery!.dns.dialing.join(',') === addr('c'), 15_000, 'b dropped from the dial set');
      // Still running, b keeps its link: discovery only decides whom to dial.
      expect(await livePeers(a, ['b', 'c'])).toBe(true);
      const b = node('b');
      b.proc.child.kill('SIGTERM');
      expect((await b.proc.wait()).code).toBe(0);
      delete nodes.b;
      await eventually(async () => {
        const peers = (await cluster(a)).peers;
        return peers.find((p) => p.nodeId === 'b')?.state === 'down' && peers.find((p) => p.nodeId === 'c')?.state === 'live';
      }, 15_000, 'b down on a, c live');
    });

    it('keeps the addresses it has when the DNS server fails, counts and logs it, and recovers', async () => {
      const a = node('a');
      const failuresBefore = (await cluster(a)).discovery!.dns.sources[0].failures;
      await dns.stop();
      await eventually(async () => (await cluster(a)).discovery!.dns.sources[0].failures >= failuresBefore + 3, 20_000, 'three failed lookups');
      const view = (await cluster(a)).discovery!.dns;
      expect(view.sources[0].lastError).toMatch(/^(ECONNREFUSED|ETIMEOUT|ESERVFAIL)/);
      // A DNS outage must not empty the cluster: the last answer stands.
      expect(view.sources[0].addresses).toEqual([addr('a'), addr('c')]);
      expect(view.dialing).toEqual([addr('c')]);
      expect(await livePeers(a, ['c'])).toBe(true);
      expect(await metric(a, 'tallymesh_dns_lookups_total', { name: `${NAME}:${port}`, outcome: 'error' })).toBeGreaterThanOrEqual(3);
      const code = /^(\w+)/.exec(view.sources[0].lastError ?? '')?.[1];
      // Rate-limited: one WARN line for this error code, not one per lookup.
      const lines = a.proc.stdout.split('\n').filter((l) => l.includes('"event":"dns-failed"') && l.includes(`"code":"${code}"`));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0])).toMatchObject({ level: 40, name: `${NAME}:${port}`, server: dns.address });

      await dns.start();
      await eventually(async () => (await cluster(a)).discovery!.dns.sources[0].lastError === null, 15_000, 'lookups succeed again');
    });

    it('starts within the join wait when the DNS server never answers, and reports the timeout once the lookup gives up', async () => {
      // A real UDP socket that swallows every query: a blackholed resolver.
      const silent = createSocket('udp4');
      await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
      silent.on('message', () => {});
      const d = await startCli([
        '--id', 's', '--host', '127.0.0.16', '--port', String(port), '--secret-file', secretFile,
        '--peers-dns', `${NAME}:${port}`, '--dns-server', `127.0.0.1:${silent.address().port}`,
        // Lookups time out after half the interval (2.5 s), tried twice: far beyond the join wait.
        '--dns-interval', '5s', '--join-timeout', '300ms', '--limiter', 'name=api,limit=100,window=60s',
      ]);
      try {
        // Listening (and answering probes) while the first lookup is still waiting for the server.
        expect((await fetch(`${d.url}/healthz`)).status).toBe(200);
        expect((await cluster(d)).discovery!.dns.sources[0].lookups).toBe(0);
        await eventually(async () => (await cluster(d)).discovery!.dns.sources[0].lookups >= 1, 30_000, 'the lookup timed out');
        expect((await cluster(d)).discovery!.dns.sources[0].lastError).toMatch(/^ETIMEOUT/);
      } finally {
        d.proc.kill();
        silent.close();
      }
    });

    it('takes at most 256 addresses from a name that lists more, dials AAAA records in brackets, and IPv4-mapped ones as IPv4', async () => {
      // A misconfigured (or hostile) zone: 300 A records under one name; and a second name with an AAAA record.
      const flood = Array.from({ length: 300 }, (_, i) => `127.0.${2 + Math.floor(i / 250)}.${1 + (i % 250)}`);
      // An IPv4-mapped AAAA record (::ffff:a.b.c.d) is the IPv4 node it maps.
      await dns.reload({ 'flood.test': flood, 'v6.test': ['::1', '::ffff:127.0.0.15'] });
      const d = await startCli([
        '--id', 'f', '--host', '127.0.0.14', '--port', String(port), '--secret-file', secretFile,
        '--peers-dns', `flood.test:${port},v6.test:${port}`, '--dns-server', dns.address, '--dns-interval', '1s', '--join-timeout', '500ms',
        '--log-level', 'warn', '--limiter', 'name=api,limit=100,window=60s',
      ]);
      try {
        const view = (await cluster(d)).discovery!.dns;
        expect(view.sources.map((x) => x.name)).toEqual(['flood.test', 'v6.test']);
        expect(view.sources[0].addresses).toHaveLength(256);
        // The IPv6 literal in brackets, so that its port is unambiguous.
        expect(view.sources[1].addresses).toEqual([`127.0.0.15:${port}`, `[::1]:${port}`]);
        expect(view.dialing).toHaveLength(258);
        expect(view.dialing).toContain(`[::1]:${port}`);
      } finally {
        d.proc.kill();
      }
    });
  });
}

describe('DNS discovery settings', () => {
  it('refuses a DNS server given by name, an interval without names, and names without a secret (exit 2, nothing bound)', async () => {
    const base = ['start', '--port', '0', '--limiter', 'name=api,limit=10,window=60s'];
    const dir = mkdtempSync(join(tmpdir(), 'tallymesh-dns-settings-'));
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'a-secret-for-the-dns-settings-test', { mode: 0o600 });
    const byName = await runCli([...base, '--secret-file', secret, '--peers-dns', 'tm.test:7070', '--dns-server', 'dns.example:53']);
    expect(byName.code).toBe(2);
    expect(byName.stderr).toMatch(/--dns-server: must be ip:port/);
    const stray = await runCli([...base, '--dns-interval', '1s']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/--dns-interval: has no effect without peersDns/);
    const noPort = await runCli([...base, '--peers-dns', 'tm.test']);
    expect(noPort.code).toBe(2);
    expect(noPort.stderr).toMatch(/--peers-dns\[0\]: must be host:port/);
    const noSecret = await runCli([...base, '--peers-dns', 'tm.test:7070']);
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toMatch(/--peers-dns: joining peers needs a cluster secret/);
    rmSync(dir, { recursive: true, force: true });
  });
});
