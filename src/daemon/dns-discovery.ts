/**
 * Peer discovery through DNS: `--peers-dns <name>:<port>` names a DNS name
 * whose A and AAAA records are the cluster's nodes (a Kubernetes headless
 * Service). Every `dnsIntervalMs` the names are resolved again; addresses
 * that appear are dialed, addresses that disappear are no longer redialed
 * (an open link to them ends through normal membership: the node leaves, its
 * link drops, the peer goes `down`). This node's own address is never dialed.
 *
 * A lookup that fails (timeout, refused, server failure) keeps the addresses
 * the name had: a DNS hiccup must not drop a cluster's peers. A name that
 * does not exist or has no records (NXDOMAIN, NODATA) is an answer: it has no
 * nodes now. Failures and empty answers are logged (one line per name and
 * error code a minute, saying how many were folded in), counted in
 * `tallymesh_dns_lookups_total{outcome}`, and shown in `/v1/cluster`
 * under `discovery.dns`.
 *
 * @module
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { codes } from '../errors.js';
import { formatAddress, integerOption, isAddress } from '../validate.js';
import { LogSampler } from './observe/log-sampler.js';

/** Default interval between two lookups of every name. */
export const DEFAULT_DNS_INTERVAL_MS = 5000;
/** One line per name and error code per this interval; the rest are counted into it. */
const LOG_EVERY_MS = 60_000;
/** Most addresses taken from one name (a misconfigured name must not make the node dial thousands). */
const MAX_ADDRESSES_PER_NAME = 256;

/** How a lookup of one name ended. */
export type LookupOutcome = 'ok' | 'empty' | 'error';

/** One `--peers-dns` entry as `/v1/cluster` shows it. */
export interface DnsSourceStatus {
  /** The DNS name resolved. */
  name: string;
  /** The mesh port dialed on every address found. */
  port: number;
  /** The addresses the last answer gave (`host:port`, this node's own included), sorted. */
  addresses: string[];
  lookups: number;
  /** Lookups that failed (the addresses were kept) or found no records. */
  failures: number;
  /** The last failure, e.g. `ETIMEOUT: queryA ETIMEOUT tallymesh.default.svc` (null once a lookup succeeds again). */
  lastError: string | null;
  /** When the last lookup finished (ISO 8601), null before the first. */
  lastLookupAt: string | null;
}

/** What `/v1/cluster` shows under `discovery.dns`. */
export interface DnsDiscoveryStatus {
  intervalMs: number;
  /** The resolver used (`--dns-server`), or null for the system's. */
  server: string | null;
  /** Addresses dialed because DNS named them (own address excluded), sorted. */
  dialing: string[];
  sources: DnsSourceStatus[];
}

/** Options of {@link DnsDiscovery}. */
export interface DnsDiscoveryOptions {
  /** `name:port` entries (validated by the config loader). */
  names: readonly string[];
  intervalMs: number;
  /** `ip:port` of the DNS server to ask instead of the system's resolver. */
  server?: string;
  /** True for an address that is this node. */
  isSelf: (address: string) => boolean;
  /** Addresses kept whatever DNS says (the static `--peers`): never forgotten. */
  pinned: readonly string[];
  logger: Logger;
}

/** Shortest interval between two lookups of every name: faster would only load the DNS server. */
export const MIN_DNS_INTERVAL_MS = 100;

/**
 * Checks the discovery fields of a daemon configuration given to
 * `startDaemon` directly (the config loader checks them with field names).
 *
 * @throws TALLYMESH_ERR_OPTION_TYPE or TALLYMESH_ERR_OPTION_RANGE naming the field.
 * @example checkDiscoveryOptions({ peersDns: ['tallymesh.svc:7070'], dnsIntervalMs: 5000 });
 */
export function checkDiscoveryOptions(o: { peersDns?: unknown; dnsIntervalMs?: unknown; dnsServer?: unknown }): void {
  if (o.peersDns !== undefined) {
    if (!Array.isArray(o.peersDns)) throw new codes.TALLYMESH_ERR_OPTION_TYPE('peersDns', 'an array of "name:port" strings', typeof o.peersDns);
    for (const entry of o.peersDns) {
      if (typeof entry !== 'string' || !isAddress(entry)) throw new codes.TALLYMESH_ERR_OPTION_RANGE('peersDns', '"name:port" entries', JSON.stringify(entry));
    }
  }
  if (o.dnsIntervalMs !== undefined) integerOption('dnsIntervalMs', o.dnsIntervalMs, MIN_DNS_INTERVAL_MS, 3_600_000);
  if (o.dnsServer !== undefined) {
    const s = typeof o.dnsServer === 'string' ? o.dnsServer : '';
    const host = s.slice(0, Math.max(0, s.lastIndexOf(':'))).replace(/^\[(.*)\]$/, '$1');
    if (!isAddress(s) || isIP(host) === 0) throw new codes.TALLYMESH_ERR_OPTION_RANGE('dnsServer', '"ip:port" (IPv6 in brackets)', JSON.stringify(o.dnsServer));
  }
}

/** What discovery keeps dialing through: the mesh. */
export interface DialTarget {
  /** Keep a link to an address. */
  dial(address: string): void;
  /** Stop redialing an address. */
  forget(address: string): void;
}

/** Splits `name:port` (a bracketed IPv6 literal allowed) into its parts. */
function splitNamePort(entry: string): { name: string; port: number } {
  const colon = entry.lastIndexOf(':');
  return { name: entry.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(entry.slice(colon + 1)) };
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.7`, an AAAA record for an IPv4 node) as the IPv4 address it maps. */
function unmapIPv4(ip: string): string {
  return /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)?.[1] ?? ip;
}

/** Error codes that mean "the name has no such records", not "the lookup failed". */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * A predicate for this node's own mesh address: the advertised address, the
 * bound one, and — on a wildcard bind — every local interface address on the
 * bound port (a pod finds its own IP in its Service's records).
 *
 * @example
 * const isSelf = ownAddressCheck({ host: '0.0.0.0', port: 7070, advertise: '10.0.0.7:7070' });
 * isSelf('10.0.0.7:7070'); // true
 */
export function ownAddressCheck(node: { host: string; port: number; advertise?: string }): (address: string) => boolean {
  const own = new Set<string>([formatAddress(node.host, node.port)]);
  if (node.advertise !== undefined) own.add(node.advertise);
  if (node.host === '0.0.0.0' || node.host === '::') {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) own.add(formatAddress(a.address, node.port));
    }
  }
  return (address) => own.has(address);
}

/** Looks the `--peers-dns` names up on a timer and keeps the mesh dialing what they name. */
export class DnsDiscovery {
  #o: DnsDiscoveryOptions;
  #resolver: Resolver;
  #sources: DnsSourceStatus[];
  /** Addresses this discovery asked the mesh to dial. */
  #dialing = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The mesh, once it runs; before, answers are only recorded (they become its seeds). */
  #target: DialTarget | undefined;
  /** The lookup in flight: lookups never overlap. */
  #inflight: Promise<void> | undefined;
  #sampler = new LogSampler(LOG_EVERY_MS);
  #lookups?: Counter<'name' | 'outcome'>;
  /** Lookups counted before {@link DnsDiscovery.registerMetrics}, by `name outcome`. */
  #counted = new Map<string, number>();

  constructor(options: DnsDiscoveryOptions) {
    this.#o = options;
    // A lookup must end well before the next one is due; c-ares retries once.
    this.#resolver = new Resolver({ timeout: Math.min(5000, Math.max(200, Math.floor(options.intervalMs / 2))), tries: 2 });
    if (options.server !== undefined) this.#resolver.setServers([options.server]);
    this.#sources = options.names.map((entry) => ({ ...splitNamePort(entry), addresses: [], lookups: 0, failures: 0, lastError: null, lastLookupAt: null }));
  }

  /** Registers `tallymesh_dns_lookups_total{name,outcome}` and `tallymesh_dns_addresses{name}` on the daemon's registry. */
  registerMetrics(registry: Registry): void {
    const registers = [registry];
    this.#lookups = new Counter({
      name: 'tallymesh_dns_lookups_total',
      help: 'DNS lookups of --peers-dns names, by name and outcome (ok; empty: no records; error: failed, the addresses kept).',
      labelNames: ['name', 'outcome'],
      registers,
    });
    const sources = this.#sources;
    new Gauge({
      name: 'tallymesh_dns_addresses',
      help: 'Addresses the last answer for each --peers-dns name gave.',
      labelNames: ['name'],
      registers,
      collect() {
        for (const s of sources) this.set({ name: `${s.name}:${s.port}` }, s.addresses.length);
      },
    });
    // Lookups before the registry existed (the first one runs before the mesh starts).
    for (const [key, n] of this.#counted) {
      const [name, outcome] = key.split(' ');
      this.#lookups.inc({ name, outcome }, n);
    }
  }

  /**
   * Looks every name up once (or joins the lookup in flight) and dials what
   * it finds; resolves with the addresses to dial once it is done, or after
   * `waitMs` with what is known by then (the lookup goes on, and what it
   * finds is dialed once {@link DnsDiscovery.attach} was called). The daemon
   * awaits the first one, bounded by the join timeout, before the mesh
   * starts: its answer counts as seeds for readiness, and a DNS server that
   * does not answer delays the start by the join timeout at most.
   */
  async lookup(waitMs = Infinity): Promise<string[]> {
    this.#inflight ??= Promise.all(this.#sources.map((s) => this.#resolve(s))).then(() => {
      this.#inflight = undefined;
      this.#apply();
    });
    if (waitMs === Infinity) await this.#inflight;
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#inflight, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    }
    return [...this.#dialing];
  }

  /** From now on dials and forgets through `target`, starting with every address known so far. */
  attach(target: DialTarget): void {
    this.#target = target;
    for (const a of this.#dialing) target.dial(a);
  }

  /** Starts the periodic lookups (the first one `intervalMs` from now). */
  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const next = () => {
      this.#timer = setTimeout(() => {
        void this.lookup().finally(() => {
          if (!this.#stopped) next();
        });
      }, this.#o.intervalMs);
      this.#timer.unref();
    };
    next();
  }

  /** Stops looking up (the daemon is closing); lookups in flight are cancelled. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#resolver.cancel();
  }

  /** The state `/v1/cluster` shows. */
  status(): DnsDiscoveryStatus {
    return {
      intervalMs: this.#o.intervalMs,
      server: this.#o.server ?? null,
      dialing: [...this.#dialing].sort(),
      sources: this.#sources.map((s) => ({ ...s, addresses: [...s.addresses] })),
    };
  }

  async #resolve(s: DnsSourceStatus): Promise<void> {
    const [v4, v6] = await Promise.allSettled([this.#resolver.resolve4(s.name), this.#resolver.resolve6(s.name)]);
    if (this.#stopped) return;
    s.lookups++;
    s.lastLookupAt = new Date().toISOString();
    const label = `${s.name}:${s.port}`;
    const failed = [v4, v6].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const hard = failed.find((r) => !NO_RECORDS.has((r.reason as NodeJS.ErrnoException).code ?? ''));
    let outcome: LookupOutcome;
    if (hard !== undefined) {
      // The server did not answer, or answered with an error: keep what the name had.
      outcome = 'error';
      this.#failure(s, hard.reason as NodeJS.ErrnoException, 'lookup failed: keeping the addresses it had');
    } else {
      const ips = [v4, v6].flatMap((r) => (r.status === 'fulfilled' ? r.value : [])).map(unmapIPv4);
      // Only what the mesh accepts as a peer address: anything else would refuse the start or the dial.
      const dialable = ips.filter((ip) => isIP(ip) !== 0).map((ip) => formatAddress(ip, s.port)).filter(isAddress);
      const addresses = [...new Set(dialable)].sort().slice(0, MAX_ADDRESSES_PER_NAME);
      outcome = addresses.length === 0 ? 'empty' : 'ok';
      if (outcome === 'empty') {
        this.#failure(s, failed[0]?.reason as NodeJS.ErrnoException, 'no A or AAAA records: no peers from this name');
      } else if (s.lastError !== null) {
        this.#o.logger.info({ event: 'dns-recovered', name: label, addresses }, `DNS name ${label} resolves again`);
        s.lastError = null;
      }
      const before = new Set(s.addresses);
      const added = addresses.filter((a) => !before.has(a));
      const removed = s.addresses.filter((a) => !addresses.includes(a));
      if (added.length > 0 || removed.length > 0) {
        this.#o.logger.info({ event: 'dns-changed', name: label, added, removed }, `DNS name ${label}: ${addresses.length} addresses (+${added.length} -${removed.length})`);
      }
      s.addresses = addresses;
    }
    if (this.#lookups !== undefined) this.#lookups.inc({ name: label, outcome });
    else this.#counted.set(`${label} ${outcome}`, (this.#counted.get(`${label} ${outcome}`) ?? 0) + 1);
  }

  #failure(s: DnsSourceStatus, err: NodeJS.ErrnoException | undefined, consequence: string): void {
    const code = err?.code ?? 'ENODATA';
    s.failures++;
    s.lastError = `${code}: ${err?.message ?? 'no records'}`;
    const label = `${s.name}:${s.port}`;
    const suppressed = this.#sampler.take(`${label}:${code}`);
    if (suppressed !== null) {
      this.#o.logger.warn(
        { event: 'dns-failed', name: label, code, server: this.#o.server ?? 'system', suppressed },
        `DNS name ${label}: ${code}: ${consequence}${suppressed > 0 ? ` (${suppressed} more since the last line)` : ''}`,
      );
    }
  }

  /** Dials addresses that appeared and forgets those that disappeared from every name. */
  #apply(): void {
    if (this.#stopped) return;
    const wanted = new Set<string>();
    for (const s of this.#sources) for (const a of s.addresses) if (!this.#o.isSelf(a)) wanted.add(a);
    for (const a of wanted) {
      if (!this.#dialing.has(a)) {
        this.#dialing.add(a);
        this.#target?.dial(a);
      }
    }
    for (const a of this.#dialing) {
      if (wanted.has(a)) continue;
      this.#dialing.delete(a);
      if (!this.#o.pinned.includes(a)) this.#target?.forget(a);
    }
  }
}
