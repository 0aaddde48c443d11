/**
 * Envoy's rate limit service (issue 12, items 1 and 4) on a running daemon,
 * called by a real grpc-js client: descriptor matching, nested descriptors,
 * the most specific match, overrides, shadow mode, unlimited, unknown domains,
 * hits_addend, the exact limit, the token, hostile input, the health service,
 * /v1/cluster, /metrics and the graceful stop.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRlsDocuments } from '../../../src/rls/rls-config.js';
import { descriptorKey, limiterName } from '../../../src/rls/rls-service.js';
import { closeAll, getJson, startTestDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { descriptor, RlsClient, type Descriptor, type Request } from '../../helpers/rls-client.js';
import { MESSAGING_EXAMPLE } from './readme-examples.js';

const CONFIG = `
domain: edge
descriptors:
  - key: remote_address
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: remote_address
    value: 50.0.0.5
    rate_limit: {unit: minute, requests_per_unit: 0}
  - key: remote_address
    value: 10.0.0.1
  - key: ldap
    rate_limit: {unlimited: true}
  - key: service
    descriptors:
      - key: user
        value: user-a
        shadow_mode: true
        rate_limit: {unit: minute, requests_per_unit: 2}
      - key: user
        rate_limit: {unit: minute, requests_per_unit: 3, name: per-user}
---${MESSAGING_EXAMPLE}`;
const rlsConfig = { domains: parseRlsDocuments(CONFIG, 'test.yaml'), files: ['test.yaml'] };
const TOKEN = 'rls-test-token-0123456789';

const clients: RlsClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await closeAll();
});

function client(d: TestDaemon, token?: string): RlsClient {
  const c = new RlsClient(d.rlsPort as number, { token });
  clients.push(c);
  return c;
}

const edge = (...ds: Descriptor[]): Request => ({ domain: 'edge', descriptors: ds });
const ip = (addr: string) => descriptor(['remote_address', addr]);

async function metric(d: TestDaemon, re: RegExp, token?: string): Promise<number> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const m = re.exec(await (await fetch(`${d.url}/metrics`, { headers })).text());
  return m === null ? 0 : Number(m[1]);
}

describe('RLS port', () => {
  let d: TestDaemon;
  let rls: RlsClient;
  beforeAll(async () => {
    d = await startTestDaemon('rls-a', { rlsPort: 0, rlsConfig });
    rls = client(d);
  });

  it('admits exactly requests_per_unit, then answers OVER_LIMIT with the limit and the time until a request fits', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await rls.decide(edge(ip('192.0.2.1')));
      expect(r.overall_code).toBe('OK');
      expect(r.statuses).toHaveLength(1);
      expect(r.statuses[0]).toMatchObject({ code: 'OK', current_limit: { requests_per_unit: 5, unit: 'MINUTE', name: '' }, limit_remaining: 4 - i });
      const until = r.statuses[0].duration_until_reset;
      expect(until!.seconds * 1000 + until!.nanos / 1e6).toBeGreaterThan(55_000);
    }
    const over = await rls.decide(edge(ip('192.0.2.1')));
    expect(over.overall_code).toBe('OVER_LIMIT');
    expect(over.statuses[0]).toMatchObject({ code: 'OVER_LIMIT', current_limit: { requests_per_unit: 5, unit: 'MINUTE' }, limit_remaining: 0 });
    const wait = over.statuses[0].duration_until_reset!;
    expect(wait.seconds * 1000 + wait.nanos / 1e6).toBeGreaterThan(0);
    expect(wait.seconds).toBeLessThanOrEqual(61);
    // Another value of the same key has its own count.
    expect((await rls.decide(edge(ip('192.0.2.2')))).statuses[0].limit_remaining).toBe(4);
    // The count is a tallymesh limiter's: the HTTP API peeks the same key.
    const peek = await getJson(`${d.url}/v1/limiters/${limiterName('edge', 'minute', 5)}/keys/${encodeURIComponent(descriptorKey('edge', [{ key: 'remote_address', value: '192.0.2.1' }]))}`);
    expect(peek.body.count).toBe(5);
  });

  it('takes the value-specific descriptor over the key’s default: a 0 limit blocks, a descriptor without a limit lets through', async () => {
    const blocked = await rls.decide(edge(ip('50.0.0.5')));
    expect(blocked.overall_code).toBe('OVER_LIMIT');
    expect(blocked.statuses[0].current_limit).toEqual({ requests_per_unit: 0, unit: 'MINUTE', name: '' });
    for (let i = 0; i < 10; i++) {
      const through = await rls.decide(edge(ip('10.0.0.1')));
      expect(through.overall_code).toBe('OK');
      expect(through.statuses[0]).toMatchObject({ code: 'OK', current_limit: null, limit_remaining: 0 });
    }
  });

  it('matches nested descriptors and decides every descriptor of a request, counting each even when another is over', async () => {
    const req: Request = {
      domain: 'messaging',
      descriptors: [descriptor(['message_type', 'marketing'], ['to_number', '2061111111']), descriptor(['to_number', '2061111111'])],
    };
    for (let i = 0; i < 5; i++) {
      const r = await rls.decide(req);
      expect(r.overall_code).toBe('OK');
      expect(r.statuses.map((s) => [s.current_limit?.requests_per_unit, s.current_limit?.unit, s.limit_remaining])).toEqual([
        [5, 'DAY', 4 - i],
        [100, 'DAY', 99 - i],
      ]);
    }
    const r = await rls.decide(req);
    expect(r.overall_code).toBe('OVER_LIMIT');
    expect(r.statuses.map((s) => s.code)).toEqual(['OVER_LIMIT', 'OK']);
    expect(r.statuses[1].limit_remaining).toBe(94);
    // A level that is only a placeholder matches nothing; a request one entry too long matches nothing.
    const partial = await rls.decide({ domain: 'messaging', descriptors: [descriptor(['message_type', 'marketing']), descriptor(['to_number', '1'], ['x', 'y'])] });
    expect(partial.statuses).toEqual([
      { code: 'OK', current_limit: null, limit_remaining: 0, duration_until_reset: null },
      { code: 'OK', current_limit: null, limit_remaining: 0, duration_until_reset: null },
    ]);
  });

  it('decides shadow-mode descriptors but answers OK, and counts the shadowed denials', async () => {
    const before = await metric(d, /^tallymesh_rls_descriptors_total\{result="shadow_over_limit"\} (\d+)/m);
    const userA = edge(descriptor(['service', 'auth'], ['user', 'user-a']));
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await rls.decide(userA);
      expect(r.overall_code).toBe('OK');
      codes.push(`${r.statuses[0].code}:${r.statuses[0].limit_remaining}`);
    }
    expect(codes).toEqual(['OK:1', 'OK:0', 'OK:0', 'OK:0']);
    expect((await metric(d, /^tallymesh_rls_descriptors_total\{result="shadow_over_limit"\} (\d+)/m)) - before).toBe(2);
    // user-b falls to the key's default, which is not in shadow mode, and reports its name.
    const userB = edge(descriptor(['service', 'auth'], ['user', 'user-b']));
    for (let i = 0; i < 3; i++) expect((await rls.decide(userB)).overall_code).toBe('OK');
    const over = await rls.decide(userB);
    expect(over.overall_code).toBe('OVER_LIMIT');
    expect(over.statuses[0].current_limit).toEqual({ requests_per_unit: 3, unit: 'MINUTE', name: 'per-user' });
  });

  it('never counts an unlimited descriptor and reports MaxUint32 remaining', async () => {
    for (let i = 0; i < 50; i++) {
      const r = await rls.decide(edge(descriptor(['ldap', 'cn=admin'])));
      expect(r.statuses[0]).toEqual({ code: 'OK', current_limit: null, limit_remaining: 4294967295, duration_until_reset: null });
    }
  });

  it('answers OK for an unknown domain, counts nothing and logs the domain once', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await rls.decide({ domain: 'nobody-configured-this', descriptors: [ip('1.1.1.1'), ip('2.2.2.2')] });
      expect(r.overall_code).toBe('OK');
      expect(r.statuses.map((s) => [s.code, s.current_limit])).toEqual([
        ['OK', null],
        ['OK', null],
      ]);
    }
    const logged = d.logs.filter((l) => l.event === 'rls-unknown-domain');
    expect(logged.map((l) => l.domain)).toEqual(['nobody-configured-this']);
    expect(await metric(d, /^tallymesh_rls_descriptors_total\{result="unknown_domain"\} (\d+)/m)).toBe(6);
  });

  it('adds hits_addend hits per request, and counts nothing for more hits than the limit', async () => {
    const three = { ...edge(ip('198.51.100.1')), hits_addend: 3 };
    expect((await rls.decide(three)).statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 2 });
    expect((await rls.decide(three)).statuses[0]).toMatchObject({ code: 'OVER_LIMIT', limit_remaining: 0 });
    expect((await rls.decide({ ...three, hits_addend: 2 })).statuses[0]).toMatchObject({ code: 'OK', limit_remaining: 0 });
    const fresh = edge(ip('198.51.100.2'));
    expect((await rls.decide({ ...fresh, hits_addend: 6 })).statuses[0]).toMatchObject({ code: 'OVER_LIMIT', limit_remaining: 0 });
    // hits_addend 0 is 1, and the 6 above were not counted.
    expect((await rls.decide({ ...fresh, hits_addend: 0 })).statuses[0].limit_remaining).toBe(4);
  });

  it('applies a descriptor’s limit override on the limiter of its own (unit, limit), matched or not', async () => {
    const overridden: Descriptor = { ...ip('203.0.113.7'), limit: { requests_per_unit: 2, unit: 'HOUR' } };
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = (await rls.decide(edge(overridden))).statuses[0];
      seen.push(`${s.code}:${s.limit_remaining}:${s.current_limit?.requests_per_unit}:${s.current_limit?.unit}`);
    }
    expect(seen).toEqual(['OK:1:2:HOUR', 'OK:0:2:HOUR', 'OVER_LIMIT:0:2:HOUR']);
    // The configured limit of the same descriptor keeps its own count.
    expect((await rls.decide(edge(ip('203.0.113.7')))).statuses[0].limit_remaining).toBe(4);
    // An override applies where no configured descriptor matches.
    const unmatched: Descriptor = { ...descriptor(['plan', 'free']), limit: { requests_per_unit: 1, unit: 'MINUTE' } };
    expect((await rls.decide(edge(unmatched))).overall_code).toBe('OK');
    expect((await rls.decide(edge(unmatched))).overall_code).toBe('OVER_LIMIT');
    const cluster = await getJson(`${d.url}/v1/cluster`);
    const names = (cluster.body.limiters as Array<{ name: string }>).map((l) => l.name);
    expect(names).toEqual(expect.arrayContaining(['rls.h2.edge', 'rls.m1.edge', 'rls.m5.edge', 'rls.d5.messaging']));
  });

  it('refuses hostile requests with INVALID_ARGUMENT or RESOURCE_EXHAUSTED and counts nothing of them', async () => {
    const victim = ip('192.0.2.99');
    const refusals: Array<[Request, grpcStatus, RegExp]> = [
      [{ domain: '', descriptors: [victim] }, grpcStatus.INVALID_ARGUMENT, /TALLYMESH_ERR_RLS_INVALID_REQUEST: .*domain must not be empty/],
      [{ domain: 'edge', descriptors: [] }, grpcStatus.INVALID_ARGUMENT, /descriptors must not be empty/],
      [edge(victim, descriptor(['', 'x'])), grpcStatus.INVALID_ARGUMENT, /descriptors\[1\]\.entries\[0\]\.key must not be empty/],
      [edge(victim, { entries: [] }), grpcStatus.INVALID_ARGUMENT, /descriptors\[1\] has no entries/],
      [edge(victim, ip('x'.repeat(257))), grpcStatus.INVALID_ARGUMENT, /descriptors\[1\]\.entries\[0\]\.value must be at most 256 bytes of UTF-8, got 257/],
      [edge(victim, { ...ip('1'), limit: { requests_per_unit: 5, unit: 0 } }), grpcStatus.INVALID_ARGUMENT, /descriptors\[1\]\.limit\.unit must be SECOND, MINUTE, HOUR or DAY, got 0/],
      [edge(victim, { ...ip('1'), limit: { requests_per_unit: 5, unit: 9 } }), grpcStatus.INVALID_ARGUMENT, /got 9/],
      [edge(...Array.from({ length: 65 }, () => victim)), grpcStatus.RESOURCE_EXHAUSTED, /TALLYMESH_ERR_RLS_TOO_LARGE: .*65 descriptors \(at most 64\)/],
      [edge(victim, descriptor(...Array.from({ length: 17 }, (_, i): [string, string] => [`k${i}`, 'v']))), grpcStatus.RESOURCE_EXHAUSTED, /descriptors\[1\] has 17 entries \(at most 16\)/],
    ];
    for (const [req, code, details] of refusals) {
      const out = await rls.call(req);
      expect(out.error?.code, String(details)).toBe(code);
      expect(out.error?.details).toMatch(details);
    }
    // A message past 64 KiB is refused by grpc-js before it is decoded.
    const huge = edge(...Array.from({ length: 60 }, (_, i) => descriptor(...Array.from({ length: 8 }, (_, j): [string, string] => [`k${j}`, `${i}`.padEnd(250, 'v')]))));
    const big = await rls.call(huge);
    expect(big.error?.code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
    // None of it counted the victim, and the port still serves.
    expect((await rls.decide(edge(victim))).statuses[0].limit_remaining).toBe(4);
    expect(await metric(d, /^tallymesh_rls_requests_total\{code="INVALID_ARGUMENT"\} (\d+)/m)).toBe(7);
    expect(await metric(d, /^tallymesh_rls_requests_total\{code="RESOURCE_EXHAUSTED"\} (\d+)/m)).toBe(2);
  });

  it('bounds the limiters request overrides can create', async () => {
    let refused: string | undefined;
    // The overrides above made 2; 256 is the bound.
    for (let n = 1000; n < 1300 && refused === undefined; n++) {
      const out = await rls.call(edge({ ...ip('192.0.2.200'), limit: { requests_per_unit: n, unit: 'SECOND' } }));
      if (out.error !== undefined) {
        expect(out.error.code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
        refused = `${n}: ${out.error.details}`;
      }
    }
    expect(refused).toMatch(/^1254: TALLYMESH_ERR_RLS_TOO_MANY_OVERRIDES: .*at most 256 distinct/);
    // An override of a limiter that exists still works.
    expect((await rls.call(edge({ ...ip('192.0.2.201'), limit: { requests_per_unit: 1000, unit: 'SECOND' } }))).response?.overall_code).toBe('OK');
  });

  it('answers health checks without a token, for the server and the rate limit service, NOT_FOUND for others', async () => {
    expect(await rls.health('')).toEqual({ status: 'SERVING' });
    expect(await rls.health('envoy.service.ratelimit.v3.RateLimitService')).toEqual({ status: 'SERVING' });
    const other = await rls.health('some.Other');
    expect(other.error?.code).toBe(grpcStatus.NOT_FOUND);
    expect(other.error?.details).toMatch(/TALLYMESH_ERR_RLS_SERVICE_UNKNOWN/);
  });

  it('shows its port in /v1/cluster and its calls in /metrics', async () => {
    const cluster = await getJson(`${d.url}/v1/cluster`);
    expect(cluster.body.ports).toEqual({ http: Number(new URL(d.url).port), rls: d.rlsPort });
    expect(await metric(d, /^tallymesh_rls_requests_total\{code="OK"\} (\d+)/m)).toBeGreaterThan(50);
    expect(await metric(d, /^tallymesh_rls_requests_total\{code="OVER_LIMIT"\} (\d+)/m)).toBeGreaterThan(5);
    expect(await metric(d, /^tallymesh_rls_connections (\d+)/m)).toBe(1);
  });
});

describe('RLS port with an API token', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startTestDaemon('rls-token', { rlsPort: 0, rlsConfig, apiToken: TOKEN });
  });

  it('refuses a call without the token or with a wrong one, UNAUTHENTICATED, and counts nothing', async () => {
    const c = client(d);
    const req = edge(ip('192.0.2.50'));
    for (const token of [undefined, 'wrong-token', `${TOKEN}x`]) {
      const out = await c.call(req, token);
      expect(out.error?.code).toBe(grpcStatus.UNAUTHENTICATED);
      expect(out.error?.details).toMatch(/^TALLYMESH_ERR_RLS_UNAUTHENTICATED: /);
    }
    const ok = await c.call(req, TOKEN);
    expect(ok.response?.statuses[0].limit_remaining).toBe(4);
    expect(await metric(d, /^tallymesh_rls_requests_total\{code="UNAUTHENTICATED"\} (\d+)/m, TOKEN)).toBe(3);
    // Probes carry no metadata.
    expect(await c.health()).toEqual({ status: 'SERVING' });
  });
});

describe('RLS port shutdown', () => {
  it('stops gracefully with a client connected: close resolves, later calls fail UNAVAILABLE', async () => {
    const d = await startTestDaemon('rls-stop', { rlsPort: 0, rlsConfig, shutdownTimeoutMs: 2_000 });
    const c = client(d);
    expect((await c.decide(edge(ip('192.0.2.60')))).overall_code).toBe('OK');
    const started = Date.now();
    await d.close('test');
    expect(Date.now() - started).toBeLessThan(2_000);
    const after = await c.call(edge(ip('192.0.2.60')), undefined, 2_000);
    expect([grpcStatus.UNAVAILABLE, grpcStatus.DEADLINE_EXCEEDED]).toContain(after.error?.code);
  });
});
