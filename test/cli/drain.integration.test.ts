/**
 * The drain rule (issue 13, item 3), through the CLI with a real process
 * under load: on SIGTERM `/readyz` answers 503 at once while decisions keep
 * being served for `--drain-ms`; then the port refuses connections — and no
 * request is ever cut mid-flight (ECONNRESET). A second SIGTERM ends the
 * drain early; SIGHUP without a config file is no reason to exit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startCli, type CliProcess } from './cli-process.js';
import { cliScratch } from './cli-scratch.js';

const scratch = cliScratch('drain');
afterEach(() => scratch.cleanup());

/** A ready daemon with a limit no test reaches, killed after the test. */
async function startNode(args: string[]): Promise<{ url: string; proc: CliProcess }> {
  const d = await startCli(['--port', '0', '--limiter', 'name=api,limit=1000000,window=60s', ...args]);
  scratch.track(d.proc);
  await eventually(async () => (await fetch(`${d.url}/readyz`)).status === 200, 10_000, 'ready');
  return d;
}

/** What one request met. */
type Outcome = 'decision' | 'refused-503' | 'conn-refused' | 'reset' | 'other';

function classify(err: unknown): Outcome {
  const cause = (err as { cause?: { code?: string } }).cause;
  const code = cause?.code ?? '';
  if (code === 'ECONNREFUSED') return 'conn-refused';
  // undici reports a connection closed mid-request as UND_ERR_SOCKET ("other side closed"), or ECONNRESET.
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'reset';
  return 'other';
}

describe('SIGTERM under load', () => {
  it('turns /readyz to 503 at once, keeps deciding for drain-ms, then refuses connections without resetting any request', async () => {
    const DRAIN_MS = 1500;
    const d = await startNode(['--drain-ms', String(DRAIN_MS)]);
    const log: Array<{ at: number; outcome: Outcome; detail?: string }> = [];
    let readyz503At = 0;
    let stop = false;
    const client = async (id: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await fetch(`${d.url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limiter: 'api', key: `k${id}` }) });
          const body = (await res.json()) as { allowed?: boolean; error?: { code: string } };
          log.push({ at: Date.now(), outcome: res.status === 200 && body.allowed === true ? 'decision' : res.status === 503 ? 'refused-503' : 'other', detail: `${res.status}` });
        } catch (err) {
          const outcome = classify(err);
          log.push({ at: Date.now(), outcome, detail: String((err as { cause?: unknown }).cause ?? err) });
          if (outcome === 'conn-refused') await new Promise((r) => setTimeout(r, 5));
        }
      }
    };
    const probe = async (): Promise<void> => {
      while (!stop && readyz503At === 0) {
        try {
          if ((await fetch(`${d.url}/readyz`)).status === 503) readyz503At = Date.now();
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    await eventually(() => log.filter((e) => e.outcome === 'decision').length >= 50, 10_000, 'load running');
    const signalAt = Date.now();
    d.proc.child.kill('SIGTERM');
    const probing = probe();
    const exit = await d.proc.wait(20_000);
    const exitedAt = Date.now();
    // A few more rounds after the exit, to see connections refused.
    await eventually(() => log.filter((e) => e.at > exitedAt && e.outcome === 'conn-refused').length >= 8, 5_000, 'connections refused after exit');
    stop = true;
    await Promise.all([...clients, probing]);

    expect(exit.code).toBe(0);
    const resets = log.filter((e) => e.outcome === 'reset' || e.outcome === 'other');
    // On failure, times are shown from the daemon's "shutdown" line (the cut).
    const cutAt = d.proc.jsonLines().find((l) => l.event === 'shutdown')?.time as number;
    const since = (events: typeof log) => events.map((e) => ({ ...e, at: e.at - cutAt }));
    expect(resets, JSON.stringify({ resets: since(resets.slice(0, 5)), refused: since(log.filter((e) => e.outcome === 'conn-refused').slice(0, 2)) })).toEqual([]);
    // /readyz turned 503 long before the drain ended.
    expect(readyz503At).toBeGreaterThan(0);
    expect(readyz503At - signalAt).toBeLessThan(DRAIN_MS / 2);
    // Decisions kept coming after /readyz said 503, for (close to) the whole drain.
    const lastDecision = Math.max(...log.filter((e) => e.outcome === 'decision').map((e) => e.at));
    expect(lastDecision - readyz503At).toBeGreaterThanOrEqual(DRAIN_MS * 0.7);
    // And the order is: decisions, (perhaps 503s from the instant of the cut), then refused connections only.
    const firstRefused = Math.min(...log.filter((e) => e.outcome === 'conn-refused').map((e) => e.at));
    expect(log.filter((e) => e.at > firstRefused && e.outcome === 'decision')).toEqual([]);
    const lines = d.proc.jsonLines();
    expect(lines.map((l) => l.event).filter((e) => e === 'draining' || e === 'shutdown' || e === 'closed')).toEqual(['draining', 'shutdown', 'closed']);
  }, 40_000);

  it('ends the drain early on a second SIGTERM, and still exits 0', async () => {
    const d = await startNode(['--drain-ms', '60s']);
    d.proc.child.kill('SIGTERM');
    await eventually(async () => (await fetch(`${d.url}/readyz`)).status === 503, 5_000, '/readyz 503');
    // Decisions still served while draining.
    const res = await fetch(`${d.url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limiter: 'api', key: 'k' }) });
    expect(res.status).toBe(200);
    const readyz = (await (await fetch(`${d.url}/readyz`)).json()) as { reason: string };
    expect(readyz.reason).toMatch(/^draining: decisions are served for \d+ ms more/);
    const skipAt = Date.now();
    d.proc.child.kill('SIGTERM');
    const exit = await d.proc.wait(15_000);
    expect(exit.code).toBe(0);
    // Far sooner than the 60 s drain.
    expect(Date.now() - skipAt).toBeLessThan(10_000);
    expect(exit.stdout).toContain('"event":"drain-skipped"');
  }, 30_000);

  it('closes at once with --drain-ms 0', async () => {
    const d = await startNode(['--drain-ms', '0']);
    const at = Date.now();
    d.proc.child.kill('SIGTERM');
    expect((await d.proc.wait(15_000)).code).toBe(0);
    expect(Date.now() - at).toBeLessThan(5_000);
  }, 30_000);
});

describe('SIGHUP without a config file', () => {
  it('logs that there is nothing to reload and keeps serving', async () => {
    const d = await startNode([]);
    d.proc.child.kill('SIGHUP');
    await d.proc.waitForStdout(/"event":"reload".*Nothing to reload/, 10_000);
    expect(d.proc.running).toBe(true);
    expect((await fetch(`${d.url}/readyz`)).status).toBe(200);
    d.proc.child.kill('SIGTERM');
  }, 30_000);
});
