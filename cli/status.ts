/**
 * `tallymesh status`: fetches `GET /v1/cluster` from a running daemon and
 * prints this node, its peers and its limiters as tables.
 *
 * @module
 */
import type { Command } from 'commander';
import type { ClusterStatus } from '../src/daemon/index.js';
import { CliExit, EXIT, intFlag } from './exit.js';
import { formatBytes, formatCount, formatDuration, formatMillis, formatOffset, formatTable } from './format-table.js';
import { addTlsFlags, readClientTls, type TlsFlags } from './client-tls.js';
import { apiUrl, defaultUrl, describeError, readToken, requestJson } from './http-client.js';

interface StatusFlags extends TlsFlags {
  url: string;
  tokenFile?: string;
  timeout: number;
  json?: boolean;
}

/**
 * Renders a cluster status as text: a header line for the node answering,
 * a peer table (that node first) and a limiter table.
 */
export function formatCluster(c: ClusterStatus): string {
  const n = c.node;
  const peers = formatTable(
    [
      { header: 'NODE' },
      { header: 'ADDRESS' },
      { header: 'STATE' },
      { header: 'REACHABLE' },
      { header: 'CLOCK OFFSET', right: true },
      { header: 'REPL LAG', right: true },
      { header: 'BYTES IN', right: true },
      { header: 'BYTES OUT', right: true },
    ],
    [
      [`${n.nodeId} (self)`, n.address, n.ready ? 'ready' : 'joining', 'yes', '0 ms', '-', '-', '-'],
      ...c.peers.map((p) => [
        p.nodeId,
        p.address,
        p.state,
        p.reachable ? 'yes' : 'no',
        formatOffset(p.clockOffsetMs),
        formatMillis(p.replicationLagMs),
        formatBytes(p.bytesIn),
        formatBytes(p.bytesOut),
      ]),
    ],
  );
  const limiters = formatTable(
    [
      { header: 'LIMITER' },
      { header: 'LIMIT', right: true },
      { header: 'WINDOW', right: true },
      { header: 'BUCKETS', right: true },
      { header: 'KEYS', right: true },
      { header: 'ALLOWED', right: true },
      { header: 'DENIED', right: true },
      { header: 'OVERFLOWS', right: true },
      { header: 'PARTITION' },
    ],
    c.limiters.map((l) => [
      l.name,
      formatCount(l.limit),
      formatDuration(l.windowMs),
      String(l.buckets),
      formatCount(l.keys),
      formatCount(l.allowed),
      formatCount(l.denied),
      formatCount(l.overflows),
      // A share in force is what an operator must see first: the limiter admits a fraction of its limit.
      l.share === null ? l.partition : `share 1/${l.share.members}: ${l.share.reason}`,
    ]),
  );
  const reachable = c.peers.filter((p) => p.reachable).length;
  // Seeds never reached have no peer record: count them, or a cut-off node reads "0 of 0 peers reachable".
  const seeds = c.seeds ?? [];
  const unreached = seeds.filter((s) => s.state === 'unreachable' || s.state === 'connecting').length;
  const seedNote = seeds.length === 0 ? '' : `, ${seeds.length - unreached} of ${seeds.length} seeds reached`;
  const head = `node ${n.nodeId} at ${n.address} — ${n.ready ? 'ready' : 'joining'}, up ${formatMillis(n.uptimeMs)}, ${reachable} of ${c.peers.length} peers reachable${seedNote}`;
  const seedTable =
    seeds.length === 0
      ? ''
      : `\n\n${formatTable(
          [{ header: 'SEED' }, { header: 'STATE' }, { header: 'NODE' }, { header: 'FAILURES', right: true }, { header: 'LAST ERROR' }],
          seeds.map((s) => [
            s.address,
            s.state,
            s.nodeId ?? '-',
            formatCount(s.failures),
            s.lastError === null ? '-' : `${s.lastError.reason}: ${s.lastError.detail} (${formatMillis(s.lastError.agoMs)} ago)`,
          ]),
        )}`;
  return `${head}\n\n${peers}${seedTable}\n\n${limiters}`;
}

/** Registers the `status` command. */
export function registerStatus(program: Command): void {
  const command = program
    .command('status')
    .description("Print a running daemon's view of the cluster: peers, clock offset, replication lag, limiters")
    .option('--url <url>', 'daemon base URL (env TALLYMESH_URL)', defaultUrl())
    .option('--token-file <path>', 'file holding the API bearer token (env TALLYMESH_API_TOKEN)')
    .option('--timeout <ms>', 'give up after this many ms', intFlag('--timeout', 1, 600_000), 5000)
    .option('--json', 'print /v1/cluster as JSON');
  addTlsFlags(command)
    .addHelpText(
      'after',
      `
Examples:
  $ tallymesh status
  $ tallymesh status --url http://10.0.0.5:7070 --token-file /etc/tallymesh/api-token
  $ tallymesh status --url https://10.0.0.5:7070 --tls-ca ca.pem --tls-cert client.pem --tls-key client-key.pem
  $ tallymesh status --json | jq '.peers[] | select(.reachable | not)'`,
    )
    .action(async (flags: StatusFlags) => {
      const url = apiUrl(flags.url, '/v1/cluster');
      const res = await requestJson(url, { token: readToken(flags.tokenFile), timeoutMs: flags.timeout, tls: readClientTls(flags, url) });
      if (res.status !== 200) throw new CliExit(EXIT.USAGE, `status: ${describeError(res)}`);
      console.log(flags.json === true ? JSON.stringify(res.body, null, 2) : formatCluster(res.body as ClusterStatus));
    });
}
