/**
 * A real DNS server for tests: Debian's dnsmasq on a free loopback port,
 * answering A and AAAA records from a hosts file the test rewrites (then
 * SIGHUPs, as an operator reloads it) as nodes come and go — the way a
 * Kubernetes headless Service's records change. It forwards nothing: names
 * under `.test` it does not list are NXDOMAIN.
 *
 * `scripts/dns-prereqs.sh` installs dnsmasq when missing (as root, with apt).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PREREQS = fileURLToPath(new URL('../../scripts/dns-prereqs.sh', import.meta.url));
const CANDIDATES = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq', '/sbin/dnsmasq'];

/**
 * Finds dnsmasq, running `scripts/dns-prereqs.sh` once to install it when
 * missing. Returns its path, or why it is unavailable.
 */
export function findDnsmasq(): { path: string } | { missing: string } {
  const found = () => CANDIDATES.find((p) => existsSync(p));
  if (found() === undefined) {
    const r = spawnSync('bash', [PREREQS], { encoding: 'utf8', timeout: 300_000 });
    if (found() === undefined) return { missing: `dnsmasq is not installed and scripts/dns-prereqs.sh could not install it (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').at(-1)}` };
  }
  return { path: found() as string };
}

/** A UDP port free on 127.0.0.1 now (dnsmasq also binds TCP on it; a clash shows as a start failure). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A running dnsmasq serving one hosts file. */
export class DnsServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'tallymesh-dns-'));
  readonly hostsFile = join(this.dir, 'hosts');
  port = 0;
  #bin: string;
  #proc: ChildProcess | undefined;
  log = '';

  constructor(bin: string) {
    this.#bin = bin;
  }

  /** `ip:port` to pass as `--dns-server`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Writes the records: each name with its addresses. */
  setRecords(records: Record<string, string[]>): void {
    const lines = Object.entries(records).flatMap(([name, ips]) => ips.map((ip) => `${ip} ${name}`));
    writeFileSync(this.hostsFile, lines.join('\n') + '\n');
  }

  /** Starts dnsmasq (on the port it had before, after a {@link DnsServer.stop}) and waits until it answers. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freeUdpPort();
    if (!existsSync(this.hostsFile)) this.setRecords({});
    this.#proc = spawn(
      this.#bin,
      [
        '--no-daemon',
        `--port=${this.port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        '--no-resolv',
        '--no-hosts',
        `--addn-hosts=${this.hostsFile}`,
        // Authoritative for .test: unknown names are NXDOMAIN, not REFUSED for want of an upstream.
        '--local=/test/',
        '--local-ttl=0',
        '--pid-file=',
        '--user=root',
        '--log-facility=-',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#proc.stdout?.setEncoding('utf8').on('data', (s: string) => (this.log += s));
    this.#proc.stderr?.setEncoding('utf8').on('data', (s: string) => (this.log += s));
    const deadline = Date.now() + 10_000;
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([this.address]);
    for (;;) {
      if (this.#proc.exitCode !== null) throw new Error(`dnsmasq exited (${this.#proc.exitCode}):\n${this.log}`);
      const answer = await resolver.resolve4('probe.test').then(
        () => 'answered',
        (err: NodeJS.ErrnoException) => err.code,
      );
      if (answer === 'answered' || answer === 'ENOTFOUND' || answer === 'ENODATA') return;
      if (Date.now() > deadline) throw new Error(`dnsmasq did not answer on ${this.address} within 10 s (${answer}):\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Rewrites the records and has dnsmasq re-read them (SIGHUP); resolves once it answers with them. */
  async reload(records: Record<string, string[]>): Promise<void> {
    this.setRecords(records);
    this.#proc?.kill('SIGHUP');
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([this.address]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      let same = true;
      for (const [name, ips] of Object.entries(records)) {
        const got = await Promise.all([resolver.resolve4(name).catch(() => []), resolver.resolve6(name).catch(() => [])]);
        if (got.flat().sort().join(',') !== [...ips].sort().join(',')) same = false;
      }
      if (same) return;
      if (Date.now() > deadline) throw new Error(`dnsmasq did not serve ${JSON.stringify(records)} within 10 s:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops dnsmasq (the port stays reserved in {@link DnsServer.port} for a restart). */
  async stop(): Promise<void> {
    const p = this.#proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGTERM');
    await new Promise((resolve) => p.once('exit', resolve));
  }

  /** Stops dnsmasq and removes its files. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
