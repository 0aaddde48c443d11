/**
 * Issue 9, defect 3 ("Overflow is silent"), against a real daemon started
 * through the CLI. A new key past `--max-keys` gets the limiter's
 * `onOverflow` policy (default `allow`: admitted uncounted), and that must be
 * loud in all four places an operator looks: a metric (overflows by limiter
 * and policy, and held keys beside the bound), one sampled log line, an SSE
 * event on /v1/events, and a reason in the /readyz body — which still
 * answers 200: a flood of new keys must not take every node out of service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../helpers/prom-parse.js';
import { SseClient } from '../helpers/sse.js';
import { CliProcess, startCli, type DaemonProcess } from './cli-process.js';

const MAX_KEYS = 5;
const NEW_KEYS = 20;

let daemon: DaemonProcess;
const spawned: CliProcess[] = [];

afterAll(() => {
  for (const p of spawned) p.kill();
});

beforeAll(async () => {
  daemon = await startCli(['--id', 'solo', '--port', '0', '--limiter', 'name=api,limit=5,window=60s', '--max-keys', String(MAX_KEYS)]);
  spawned.push(daemon.proc);
});

async function consume(key: string): Promise<boolean> {
  const res = await fetch(`${daemon.url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limiter: 'api', key }) });
  return ((await res.json()) as { allowed: boolean }).allowed;
}

function logLines(): Array<Record<string, any>> {
  return daemon.proc.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>);
}

describe('a daemon past --max-keys (default policy allow)', () => {
  it('reports the overflow as a metric, one log line, an SSE event and a /readyz reason, and stays ready', async () => {
    const events = await SseClient.open(`${daemon.url}/v1/events`);
    try {
      const ready = await fetch(`${daemon.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { degraded?: string[] }).degraded).toBeUndefined();

      for (let i = 0; i < MAX_KEYS; i++) expect(await consume(`held-${i}`)).toBe(true);
      // Past the bound: new keys are admitted (the policy), uncounted.
      for (let i = 0; i < NEW_KEYS; i++) expect(await consume(`secret-new-${i}`)).toBe(true);

      // The metric: overflows by limiter and policy, held keys beside the bound.
      const m = parsePrometheusText(await (await fetch(`${daemon.url}/metrics`)).text());
      expect.soft(sampleValue(m, 'tallymesh_overflows_total', { limiter: 'api', policy: 'allow' })).toBe(NEW_KEYS);
      expect.soft(sampleValue(m, 'tallymesh_held_keys')).toBe(MAX_KEYS);
      expect.soft(sampleValue(m, 'tallymesh_max_keys')).toBe(MAX_KEYS);

      // The SSE event.
      const event = await events.next((e) => e.event === 'overflow');
      expect.soft(JSON.parse(event.data)).toMatchObject({ limiter: 'api', policy: 'allow', keyHash: expect.any(String) });

      // The /readyz reason, on a probe that still passes.
      const res = await fetch(`${daemon.url}/readyz`);
      const body = (await res.json()) as { ready: boolean; degraded?: string[] };
      expect.soft(res.status).toBe(200);
      expect.soft(body.ready).toBe(true);
      expect.soft(body.degraded).toEqual([
        expect.stringMatching(new RegExp(`^limiter api overflowed ${NEW_KEYS} times .*: new keys past maxKeys are admitted uncounted$`)),
        expect.stringMatching(new RegExp(`^holding ${MAX_KEYS} keys, at the node's bound of ${MAX_KEYS}`)),
      ]);

      // One log line for the whole flood (sampled), with the key as a hash only.
      const lines = logLines().filter((l) => l.event === 'overflow');
      expect.soft(lines).toHaveLength(1);
      expect.soft(lines[0]).toMatchObject({ level: 40, limiter: 'api', policy: 'allow', maxKeys: MAX_KEYS, keyHash: expect.any(String) });
      expect.soft(daemon.proc.stdout).not.toContain('secret-new');
      expect.soft(events.events.map((e) => e.data).join('')).not.toContain('secret-new');
    } finally {
      events.close();
    }
  });
});
