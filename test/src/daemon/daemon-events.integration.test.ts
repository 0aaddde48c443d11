import { afterEach, describe, expect, it } from 'vitest';
import { keyHasher } from '../../../src/daemon/observe/key-hash.js';
import { closeAll, postJson, SECRET, startTestDaemon } from '../../helpers/daemon.js';
import { parsePrometheusText, sampleValue } from '../../helpers/prom-parse.js';
import { SseClient } from '../../helpers/sse.js';

afterEach(closeAll);

const deny = (url: string, key: string, n: number) =>
  postJson(`${url}/v1/consume`, { requests: Array.from({ length: n }, () => ({ limiter: 'api', key, cost: 5 })) });

describe('/v1/events', () => {
  it('streams sampled denials with ids and a retry field, and hashes keys', async () => {
    const d = await startTestDaemon('a');
    const sse = await SseClient.open(`${d.url}/v1/events`);
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(sse.headers.get('cache-control')).toContain('no-cache');
    await deny(d.url, 'user:secret-email@example.com', 2); // the first is admitted (cost 5 = limit), the second denied
    const denied = await sse.next((e) => e.event === 'denied');
    expect(sse.retryMs).toBe(2000);
    expect(denied.lastEventId).toMatch(new RegExp(`^${d.mesh.incarnation}:\\d+$`));
    const data = JSON.parse(denied.data);
    expect(data).toMatchObject({ limiter: 'api', cost: 5, limit: 5, remaining: 0, suppressed: 0, bucket: expect.any(Number), at: expect.any(Number) });
    expect(data.keyHash).toBe(keyHasher(SECRET)('user:secret-email@example.com'));
    expect(denied.data).not.toContain('secret-email');
    sse.close();
  });

  it('caps denial events per second and counts the rest in the metrics', async () => {
    const d = await startTestDaemon('a', { eventsDeniedPerSec: 3 });
    const sse = await SseClient.open(`${d.url}/v1/events`);
    await deny(d.url, 'k', 21); // one admitted, twenty denied in the same millisecond or so
    await sse.next((e) => e.event === 'denied' && sse.events.filter((x) => x.event === 'denied').length === 3);
    const metrics = parsePrometheusText(await (await fetch(`${d.url}/metrics`)).text());
    expect(sampleValue(metrics, 'tallymesh_events_dropped_total', { reason: 'sampled' })).toBe(17);
    expect(sse.events.filter((e) => e.event === 'denied')).toHaveLength(3);
    sse.close();
  });

  it('replays what a client missed when it comes back with Last-Event-ID', async () => {
    const d = await startTestDaemon('a', { eventsDeniedPerSec: 1000 });
    const first = await SseClient.open(`${d.url}/v1/events`);
    await deny(d.url, 'k', 3); // 2 denials
    await first.next(() => first.events.length === 2);
    const resumeFrom = first.lastEventId;
    first.close();
    await deny(d.url, 'k2', 4); // 3 more while it is away
    const back = await SseClient.open(`${d.url}/v1/events`, { lastEventId: resumeFrom });
    await back.next(() => back.events.length === 3);
    const seq = (id: string) => Number(id.split(':')[1]);
    expect(back.events.map((e) => seq(e.lastEventId))).toEqual([seq(resumeFrom) + 1, seq(resumeFrom) + 2, seq(resumeFrom) + 3]);
    expect(back.events.every((e) => e.event === 'denied')).toBe(true);
    back.close();
  });

  it('sends a gap event for an id it cannot match, then what it holds', async () => {
    const d = await startTestDaemon('a', { eventsDeniedPerSec: 1000 });
    await deny(d.url, 'k', 3);
    const sse = await SseClient.open(`${d.url}/v1/events`, { lastEventId: 'another-process:12' });
    await sse.next(() => sse.events.length === 4);
    // A lone node is ready at once: that event is the first the ring holds.
    expect(sse.events.map((e) => e.event)).toEqual(['gap', 'ready', 'denied', 'denied']);
    expect(JSON.parse(sse.events[0].data)).toMatchObject({ reason: 'unknown-id', lastEventId: 'another-process:12' });
    expect(sse.events[0].lastEventId).toBe(`${d.mesh.incarnation}:0`);
    sse.close();
  });

  it('reports clock-skew rejections, folded per peer', async () => {
    const d = await startTestDaemon('a');
    const sse = await SseClient.open(`${d.url}/v1/events`);
    for (let i = 0; i < 5; i++) d.mesh.emit('skew', { type: 'skew', nodeId: 'b', offsetMs: 900 });
    const skew = await sse.next((e) => e.event === 'skew');
    expect(JSON.parse(skew.data)).toMatchObject({ nodeId: 'b', offsetMs: 900, suppressed: 0 });
    expect(d.logs.filter((l) => l.event === 'skew')).toEqual([expect.objectContaining({ nodeId: 'a', peer: 'b', offsetMs: 900, level: 40 })]);
    expect(sse.events.filter((e) => e.event === 'skew')).toHaveLength(1);
    sse.close();
  });

  it('ends every event stream on shutdown', async () => {
    const d = await startTestDaemon('a');
    const sse = await SseClient.open(`${d.url}/v1/events`);
    await d.close();
    await sse.whenEnded();
  });
});
