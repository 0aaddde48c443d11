/**
 * `tallymesh demo` (what `npm start` runs): a three-node cluster on loopback
 * (ephemeral ports, a generated secret), a load generator spreading a few
 * thousand decisions per second over the daemons' real HTTP API, a live
 * per-node view, and a summary that checks every node agrees on every key's
 * count — and that the count equals what the load generator saw admitted.
 *
 * @module
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import type { ClusterStatus, Daemon } from '../src/daemon/index.js';
import { EXIT, intFlag, numberFlag } from './exit.js';
import { LoadGenerator, zipfShares } from './demo-load.js';
import { decisionsOf, formatNodes, formatSummary, LiveView, type KeyAgreement, type NodeSample } from './demo-view.js';
import { formatCount, formatMillis } from './format-table.js';
import { requestJson } from './http-client.js';
import { daemonEntry } from './load.js';

interface DemoFlags {
  seconds: number;
  rate: number;
  nodes: number;
  keys: number;
}

const LIMITER = 'api';
const POLL_MS = 500;
const NODE_IDS = 'abcdefghi';

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; true when it held. */
async function until(check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Registers the `demo` command. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Run a local 3-node cluster under load with a live view, then check every node agrees')
    .option('--seconds <s>', 'how long the load runs', numberFlag('--seconds', 1, 3600), 15)
    .option('--rate <n>', 'decisions per second offered, spread over the nodes', intFlag('--rate', 10, 200_000), 3000)
    .option('--nodes <n>', 'daemons to start', intFlag('--nodes', 2, NODE_IDS.length), 3)
    .option('--keys <n>', 'distinct keys (a few hot ones hit the limit)', intFlag('--keys', 2, 10_000), 40)
    .addHelpText(
      'after',
      `
The daemons listen on 127.0.0.1 on ports the OS picks; their URLs are printed
so you can query them while the demo runs (status, consume, curl /metrics).
Press Ctrl-C to end early: the summary still prints and the daemons shut down.

Examples:
  $ tallymesh demo
  $ npm start
  $ tallymesh demo --seconds 60 --rate 10000
  $ tallymesh demo --seconds 5 | cat        # plain periodic output, no cursor movement`,
    )
    .action(async (flags: DemoFlags) => {
      process.exitCode = await runDemo(flags);
    });
}

/** Runs the whole demo; resolves to the exit code. */
async function runDemo(flags: DemoFlags): Promise<number> {
  const out = process.stdout;
  const keys = Array.from({ length: flags.keys }, (_, i) => `user:${i + 1}`);
  // A window longer than the demo: nothing expires, so every count is exact
  // and can be checked against the load generator's log.
  const windowMs = Math.max(60_000, Math.ceil((flags.seconds + 30) / 60) * 60_000);
  // A limit the eighth-hottest key reaches by the end: hot keys get denied, the tail does not.
  const share = zipfShares(keys.length)[Math.min(7, keys.length - 1)];
  const limit = Math.max(10, Math.round(flags.rate * flags.seconds * share));
  const secret = randomBytes(24).toString('base64url');
  const { loadConfig, startDaemon } = await daemonEntry();
  const { pino } = await import('pino');
  const logger = pino({ level: 'error', base: { demo: true } }, pino.destination({ dest: 2, sync: true }));

  const daemons: Daemon[] = [];
  const ids = NODE_IDS.slice(0, flags.nodes).split('');
  try {
    for (const id of ids) {
      // Through the same loader `tallymesh start` uses; an empty environment keeps the shell's TALLYMESH_* out.
      const { config } = loadConfig({
        env: { TALLYMESH_SECRET: secret },
        flags: {
          id,
          port: 0,
          peers: daemons.map((d) => d.address),
          limiter: [`name=${LIMITER},limit=${limit},window=${windowMs}ms`],
          logLevel: 'error',
          shutdownTimeout: '3s',
        },
      });
      daemons.push(await startDaemon(config, { logger: logger.child({ node: id }) }));
    }
  } catch (err) {
    await Promise.allSettled(daemons.map((d) => d.close('demo failed to start')));
    throw err;
  }
  const urls = daemons.map((d) => d.url.replace(/\/+$/, ''));

  out.write(
    [
      `tallymesh demo: ${ids.length} daemons on loopback, sharing a generated secret`,
      ...ids.map((id, i) => `  ${id}  ${urls[i]}   (peers on ${urls[i].replace(/^http/, 'ws')}/v1/mesh)`),
      `limiter "${LIMITER}": ${formatCount(limit)} hits per ${formatMillis(windowMs)} per key; load: ${formatCount(flags.rate)} decisions/s over ${keys.length} keys for ${flags.seconds} s, in HTTP batches`,
      `try meanwhile:  tallymesh status --url ${urls[0]}    curl -s ${urls[1] ?? urls[0]}/metrics | head`,
      `dashboard:      ${urls[0]}/ui/`,
      '',
    ].join('\n'),
  );

  const cluster = async (url: string): Promise<ClusterStatus> => {
    const res = await requestJson(`${url}/v1/cluster`, { timeoutMs: 2000 });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    return res.body as ClusterStatus;
  };
  // Load starts once every node sees every other: the view then shows replication from the first decision.
  const meshed = await until(async () => {
    const all = await Promise.allSettled(urls.map(cluster));
    return all.every((r) => r.status === 'fulfilled' && r.value.node.ready && r.value.peers.filter((p) => p.reachable).length >= ids.length - 1);
  }, 10_000);
  if (!meshed) out.write('warning: the nodes did not all see each other within 10 s; starting the load anyway\n');

  const load = new LoadGenerator({ urls, limiter: LIMITER, keys, rate: flags.rate });
  const view = new LiveView(out);
  const samples: NodeSample[] = ids.map((id, i) => ({ id, url: urls[i], status: null, error: null, rate: 0 }));
  const last = ids.map(() => ({ at: 0, decisions: 0 }));
  const poll = async () => {
    await Promise.all(
      urls.map(async (url, i) => {
        try {
          const status = await cluster(url);
          const d = decisionsOf(status);
          const now = performance.now();
          const total = d.allowed + d.denied;
          if (last[i].at > 0) samples[i].rate = ((total - last[i].decisions) * 1000) / (now - last[i].at);
          last[i] = { at: now, decisions: total };
          samples[i].status = status;
          samples[i].error = null;
        } catch (err) {
          samples[i].status = null;
          samples[i].error = (err as Error).message;
        }
      }),
    );
  };
  const header = (elapsed: number) => {
    const t = load.totals();
    return `t = ${(elapsed / 1000).toFixed(1)} s of ${flags.seconds} s   client: ${formatCount(t.sent)} sent, ${formatCount(t.admitted)} admitted, ${formatCount(t.denied)} denied, ${formatCount(t.errors)} errors${t.lastError === null ? '' : ` (last: ${t.lastError})`}`;
  };

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const started = performance.now();
  load.start();
  await poll();
  const endAt = started + flags.seconds * 1000;
  while (!interrupted && performance.now() < endAt) {
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(POLL_MS, endAt - performance.now()))));
    await poll();
    view.update(`${header(performance.now() - started)}\n${formatNodes(samples)}`);
  }
  const elapsedMs = performance.now() - started;
  await load.stop();
  view.detach();

  // Every node must come to hold every admitted hit: compare each node's peek with the truth.
  const stopped = performance.now();
  let agreement: KeyAgreement[] = [];
  let roundStart = stopped;
  const agreed = await until(async () => {
    roundStart = performance.now();
    agreement = await checkKeys(urls, keys, limit, load);
    return agreement.every((k) => k.remaining.every((r) => r === k.expected));
  }, 5000);
  // From the end of the load to the start of the round of peeks that agreed.
  const settledMs = roundStart - stopped;
  await poll();
  // The summary shows each node's average rate over the run, not the last (idle) interval.
  for (const sample of samples) {
    if (sample.status !== null) {
      const d = decisionsOf(sample.status);
      sample.rate = ((d.allowed + d.denied) * 1000) / elapsedMs;
    }
  }
  const t = load.totals();
  out.write(`\n${formatSummary({ elapsedMs, ...t, nodes: samples, keys: agreement, agreed, settledMs, limit })}\n\n`);

  out.write('stopping the daemons… ');
  const closeStart = performance.now();
  await Promise.all(daemons.map((d) => d.close('demo finished')));
  out.write(`stopped in ${formatMillis(performance.now() - closeStart)}\n`);
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);
  return agreed && t.errors === 0 ? EXIT.OK : EXIT.FAILED;
}

/** Peeks every key on every node (GET /v1/limiters/:name/keys/:key) and pairs it with the truth. */
async function checkKeys(urls: string[], keys: string[], limit: number, load: LoadGenerator): Promise<KeyAgreement[]> {
  return Promise.all(
    keys.map(async (key) => {
      const admitted = load.admittedByKey.get(key) ?? 0;
      const remaining = await Promise.all(
        urls.map(async (url) => {
          try {
            const res = await requestJson(`${url}/v1/limiters/${LIMITER}/keys/${encodeURIComponent(key)}`, { timeoutMs: 2000 });
            const r = (res.body as { remaining?: unknown }).remaining;
            return res.status === 200 && typeof r === 'number' ? r : null;
          } catch {
            return null;
          }
        }),
      );
      return { key, sent: load.sentByKey.get(key) ?? 0, admitted, expected: Math.max(0, limit - admitted), remaining };
    }),
  );
}
