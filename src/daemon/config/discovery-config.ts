/**
 * The DNS discovery settings of the daemon configuration: `peersDns`
 * (`--peers-dns name:port`, repeatable or comma-separated), `dnsInterval`
 * (`--dns-interval`, default 5 s) and `dnsServer` (`--dns-server ip:port`).
 * See src/daemon/dns-discovery.ts for what the daemon does with them.
 *
 * @module
 */
import { isIP } from 'node:net';
import { configError, parseAddress, parseDuration, parseList, showValue } from './parse.js';
import type { Layer } from './files.js';
import type { DaemonConfig } from './daemon-config.js';
import { DEFAULT_DNS_INTERVAL_MS, MIN_DNS_INTERVAL_MS } from '../dns-discovery.js';

/** Reads and validates `peersDns`, `dnsInterval` and `dnsServer` from the merged layers. */
export function readDiscovery(merged: Layer): Pick<DaemonConfig, 'peersDns' | 'dnsIntervalMs' | 'dnsServer'> {
  const out: Pick<DaemonConfig, 'peersDns' | 'dnsIntervalMs' | 'dnsServer'> = {};
  const names = merged.get('peersDns');
  const interval = merged.get('dnsInterval');
  const server = merged.get('dnsServer');
  if (names === undefined) {
    // A resolver or an interval without a name to look up is a half-finished setup: say so rather than ignore it.
    const stray = interval ?? server;
    if (stray !== undefined) configError(stray.field, 'has no effect without peersDns (--peers-dns name:port)');
    return out;
  }
  const list = parseList(names.value, names.field).map((n) => parseAddress(n.value, n.field));
  if (list.length === 0) configError(names.field, 'must name at least one DNS name as name:port');
  out.peersDns = [...new Set(list)];
  out.dnsIntervalMs = interval === undefined ? DEFAULT_DNS_INTERVAL_MS : parseDuration(interval.value, interval.field, MIN_DNS_INTERVAL_MS, 3_600_000);
  if (server !== undefined) {
    const address = typeof server.value === 'string' ? server.value.trim() : '';
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, Math.max(0, colon)).replace(/^\[(.*)\]$/, '$1');
    // node:dns asks servers by address: a name here would need a resolver to find the resolver.
    if (colon <= 0 || isIP(host) === 0) configError(server.field, `must be ip:port (IPv6 in brackets), the DNS server's address, got ${showValue(server.value)}`);
    out.dnsServer = parseAddress(address, server.field);
  }
  return out;
}
