import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { keyHasher } from '../../../src/daemon/observe/key-hash.js';
import { LATENCY_SAMPLE_EVERY } from '../../../src/daemon/observe/metrics.js';
import { encodeStreamRequest } from '../../../src/stream/stream-codec.js';
import { closeAll, eventually, getJson, postJson, SECRET, startTestDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { parsePrometheusText, sampleValue, type PromFamily } from '../../helpers/prom-parse.js';
import { SseClient } from '../../helpers/sse.js';

afterEach(closeAll);

async function scrape(d: TestDaemon, headers: Record<string, string> = {}): Promise<Map<string, PromFamily>> {
  const res = await fetch(`${d.url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await res.text());
}

async function streamOnce(d: TestDaemon, key: string): Promise<void> {
  const ws = new WebSocket(`${d.url.replace('http', 'ws')}/v1/stream`);
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(encodeStreamRequest(1, [{ limiter: 'api', key }]));
  await new Promise((resolve) => ws.once('message', resolve));
  ws.close();
}

describe('/metrics', () => {
  it('is valid Prometheus text with decisions, latency, keys, HTTP responses and process figures', async () => {
    const d = await startTestDaemon('a');
    for (let i = 0; i < 2 * LATENCY_SAMPLE_EVERY; i++) await postJson(`${d.url}/v1/consume`, { limiter: 'api', key: `k${i % 2}` });
    await streamOnce(d, 'streamed');
    const m = await scrape(d);
    for (const f of m.values()) {
      expect(f.help, `HELP of ${f.name}`).toEqual(expect.any(String));
      expect(f.type, `TYPE of ${f.name}`).not.toBe('untyped');
    }
    expect(sampleValue(m, 'tallymesh_decisions_total', { limiter: 'api', result: 'allowed' })).toBe(11);
    expect(sampleValue(m, 'tallymesh_decisions_total', { limiter: 'api', result: 'denied' })).toBe(6);
    expect(m.get('tallymesh_decision_latency_seconds')?.type).toBe('histogram');
    expect(sampleValue(m, 'tallymesh_decision_latency_seconds_count', { api: 'http' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, 'tallymesh_live_keys', { limiter: 'api' })).toBe(3);
    expect(sampleValue(m, 'tallymesh_held_keys')).toBe(3);
    expect(sampleValue(m, 'tallymesh_max_keys')).toBe(1_000_000);
    expect(sampleValue(m, 'tallymesh_ready')).toBe(1);
    expect(sampleValue(m, 'tallymesh_http_responses_total', { route: 'consume', status: '200' })).toBe(2 * LATENCY_SAMPLE_EVERY);
    expect(sampleValue(m, 'tallymesh_peers', { state: 'live' })).toBe(0);
    for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(m.has(name), name).toBe(true);
    }
  });

  it('counts on from one scrape to the next without going back', async () => {
    const d = await startTestDaemon('a', { limiters: [{ name: 'api', limit: 100, windowMs: 60_000 }] });
    await postJson(`${d.url}/v1/consume`, { limiter: 'api', key: 'k', cost: 2 });
    const first = sampleValue(await scrape(d), 'tallymesh_decisions_total', { result: 'allowed' });
    await postJson(`${d.url}/v1/consume`, { requests: [{ limiter: 'api', key: 'k' }, { limiter: 'api', key: 'j' }] });
    const second = sampleValue(await scrape(d), 'tallymesh_decisions_total', { result: 'allowed' });
    expect([first, second]).toEqual([1, 3]);
  });

  it('shows peers by state, gossip traffic, clock offset and replication lag by peer', async () => {
    const a = await startTestDaemon('a');
    const b = await startTestDaemon('b', { peers: [a.address] });
    await eventually(async () => ((await getJson(`${a.url}/v1/cluster`)).body.peers[0]?.state === 'live' ? true : undefined), 10_000, 'a sees b');
    await postJson(`${b.url}/v1/consume`, { limiter: 'api', key: 'k' });
    await eventually(async () => ((await getJson(`${a.url}/v1/limiters/api/keys/k`)).body.count === 1 ? true : undefined), 10_000, 'the hit reached a');
    const m = await scrape(a);
    expect(sampleValue(m, 'tallymesh_peers', { state: 'live' })).toBe(1);
    for (const direction of ['in', 'out']) {
      expect(sampleValue(m, 'tallymesh_gossip_bytes_total', { peer: 'b', direction })).toBeGreaterThan(0);
      expect(sampleValue(m, 'tallymesh_gossip_frames_total', { peer: 'b', direction })).toBeGreaterThan(0);
    }
    expect(sampleValue(m, 'tallymesh_peer_clock_offset_seconds', { peer: 'b' })).toEqual(expect.any(Number));
    expect(sampleValue(m, 'tallymesh_peer_replication_lag_seconds', { peer: 'b' })).toBeGreaterThanOrEqual(0);
    // The replication counters of /v1/cluster, one series per counter, equal to what /v1/cluster says.
    const { replication } = (await getJson(`${a.url}/v1/cluster`)).body;
    expect(sampleValue(m, 'tallymesh_replication_events_total', { event: 'cells_merged' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, 'tallymesh_replication_events_total', { event: 'cells_merged' })).toBeLessThanOrEqual(replication.cellsMerged);
    for (const event of ['delta_frames', 'snapshot_chunks', 'digests_sent', 'repair_requests_answered', 'repair_pushes_started', 'syncs_sent', 'skew_rejections', 'log_overflows', 'frames_unsent']) {
      expect(sampleValue(m, 'tallymesh_replication_events_total', { event }), event).toEqual(expect.any(Number));
    }
  });

  it('counts refused peer connections by reason and logs them once per interval', async () => {
    const a = await startTestDaemon('a');
    await startTestDaemon('x', { peers: [a.address], secret: 'not-the-cluster-secret' });
    await eventually(async () => ((sampleValue(await scrape(a), 'tallymesh_frames_rejected_total', { reason: 'auth' }) ?? 0) >= 2 ? true : undefined), 10_000, 'auth rejections');
    expect(a.logs.filter((l) => l.event === 'reject' && l.reason === 'auth')).toHaveLength(1);
  });

  it('requires the token when one is set', async () => {
    const d = await startTestDaemon('a', { apiToken: 'metrics-token' });
    expect((await fetch(`${d.url}/metrics`)).status).toBe(401);
    expect((await scrape(d, { authorization: 'Bearer metrics-token' })).has('tallymesh_decisions_total')).toBe(true);
  });
});

describe('the node-wide key bound', () => {
  it('applies each limiter policy past maxKeys, counts overflows, and logs each limiter once with a hashed key', async () => {
    const d = await startTestDaemon('a', {
      maxKeys: 2,
      limiters: [
        { name: 'open', limit: 5, windowMs: 60_000, onOverflow: 'allow' },
        { name: 'closed', limit: 5, windowMs: 60_000, onOverflow: 'deny' },
      ],
    });
    const events = await SseClient.open(`${d.url}/v1/events`);
    const consume = async (limiter: string, key: string) => (await postJson(`${d.url}/v1/consume`, { limiter, key })).body.allowed as boolean;
    expect(await consume('open', 'user-secret-1')).toBe(true);
    expect(await consume('closed', 'user-secret-2')).toBe(true);
    expect(await consume('open', 'user-secret-3')).toBe(true); // full: admitted uncounted
    expect(await consume('closed', 'user-secret-4')).toBe(false); // full: denied
    expect(await consume('open', 'user-secret-5')).toBe(true);
    expect(await consume('open', 'user-secret-1')).toBe(true); // a known key is decided as usual

    const m = await scrape(d);
    expect(sampleValue(m, 'tallymesh_overflows_total', { limiter: 'open', policy: 'allow' })).toBe(2);
    expect(sampleValue(m, 'tallymesh_overflows_total', { limiter: 'closed', policy: 'deny' })).toBe(1);
    expect((await getJson(`${d.url}/v1/cluster`)).body.keys).toEqual({ total: 2, max: 2 });

    const lines = d.logs.filter((l) => l.event === 'overflow');
    expect(lines).toEqual([
      expect.objectContaining({ nodeId: 'a', limiter: 'open', policy: 'allow', keyHash: keyHasher(SECRET)('user-secret-3'), bucket: expect.any(Number), level: 40 }),
      expect.objectContaining({ nodeId: 'a', limiter: 'closed', policy: 'deny', keyHash: keyHasher(SECRET)('user-secret-4') }),
    ]);
    const overflow = await events.next((e) => e.event === 'overflow');
    expect(JSON.parse(overflow.data)).toMatchObject({ limiter: 'open', keyHash: keyHasher(SECRET)('user-secret-3') });
    expect(JSON.stringify(d.logs)).not.toContain('user-secret');
    expect(events.events.map((e) => e.data).join('')).not.toContain('user-secret');
    events.close();
  });

  it('logs the config it started with, without the secret or the token', async () => {
    const d = await startTestDaemon('a', { apiToken: 'token-do-not-log' });
    const config = d.logs.find((l) => l.event === 'config');
    expect(config).toMatchObject({ nodeId: 'a', msg: 'config loaded', config: { id: 'a', secret: '(set, 18 characters)', apiToken: '(set, 16 characters)', tls: '(off)' } });
    expect(d.logs.find((l) => l.event === 'listening')).toMatchObject({ url: d.url });
    expect(JSON.stringify(d.logs)).not.toMatch(/integration-secret|token-do-not-log/);
  });
});
