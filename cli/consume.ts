/**
 * `tallymesh consume`: asks a running daemon for one decision
 * (`POST /v1/consume`) and exits 0 when allowed, 1 when denied, 2 on error —
 * so shell scripts can rate-limit themselves.
 *
 * @module
 */
import type { Command } from 'commander';
import { CliExit, EXIT, intFlag } from './exit.js';
import { formatMillis } from './format-table.js';
import { addTlsFlags, readClientTls, type TlsFlags } from './client-tls.js';
import { apiUrl, defaultUrl, describeError, readToken, requestJson } from './http-client.js';

interface ConsumeFlags extends TlsFlags {
  url: string;
  limiter: string;
  key: string;
  cost: number;
  tokenFile?: string;
  timeout: number;
  json?: boolean;
}

/** A decision as the daemon sends it. */
interface DecisionBody {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
}

/** Registers the `consume` command. */
export function registerConsume(program: Command): void {
  const command = program
    .command('consume')
    .description('Ask a running daemon for one decision; exit 0 allowed, 1 denied, 2 error')
    .option('--url <url>', 'daemon base URL (env TALLYMESH_URL)', defaultUrl())
    .requiredOption('--limiter <name>', 'limiter name')
    .requiredOption('--key <key>', 'rate-limit key, e.g. user:42')
    .option('--cost <n>', 'hits this request costs', intFlag('--cost', 1, 1e12), 1)
    .option('--token-file <path>', 'file holding the API bearer token (env TALLYMESH_API_TOKEN)')
    .option('--timeout <ms>', 'give up after this many ms', intFlag('--timeout', 1, 600_000), 5000)
    .option('--json', 'print the decision as JSON');
  addTlsFlags(command)
    .addHelpText(
      'after',
      `
Exit codes: 0 allowed, 1 denied, 2 error (unreachable, bad request, unknown limiter).

Examples:
  $ tallymesh consume --limiter api --key user:42
  $ tallymesh consume --url http://10.0.0.5:7070 --limiter api --key user:42 --cost 3 --json
  $ tallymesh consume --limiter login --key ip:203.0.113.9 --token-file /etc/tallymesh/api-token || echo "slow down"`,
    )
    .action(async (flags: ConsumeFlags) => {
      const token = readToken(flags.tokenFile);
      const url = apiUrl(flags.url, '/v1/consume');
      const res = await requestJson(url, {
        tls: readClientTls(flags, url),
        method: 'POST',
        body: { limiter: flags.limiter, key: flags.key, cost: flags.cost },
        token,
        timeoutMs: flags.timeout,
      });
      if (flags.json === true) console.log(JSON.stringify(res.body));
      if (res.status !== 200) throw new CliExit(EXIT.USAGE, `consume: ${describeError(res)}`);
      const d = res.body as DecisionBody;
      if (flags.json !== true) {
        const verdict = d.allowed ? 'allowed' : 'denied';
        const retry = d.allowed ? '' : `, retry after ${formatMillis(d.retryAfterMs)}`;
        console.log(
          `${verdict}: ${flags.limiter} ${flags.key} cost ${flags.cost} — ${d.remaining} of ${d.limit} remaining, full again in ${formatMillis(d.resetMs)}${retry}`,
        );
      }
      process.exitCode = d.allowed ? EXIT.OK : EXIT.FAILED;
    });
}
