import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, eventually, getJson, postJson, startTestDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { SseClient } from '../../helpers/sse.js';
import { freePort } from '../../helpers/free-port.js';

afterEach(closeAll);

const BIG = [{ name: 'api', limit: 10_000, windowMs: 60_000 }];


const countOn = async (d: TestDaemon, key: string): Promise<number> => (await getJson(`${d.url}/v1/limiters/api/keys/${key}`)).body.count;

async function livePeers(d: TestDaemon): Promise<number> {
  return (await getJson(`${d.url}/v1/cluster`)).body.peers.filter((p: { state: string }) => p.state === 'live').length;
}

describe('a cluster of daemons', () => {
  it('converges: hits consumed on one daemon show in a peek on the others', async () => {
    const a = await startTestDaemon('a', { limiters: BIG });
    const b = await startTestDaemon('b', { limiters: BIG, peers: [a.address] });
    const c = await startTestDaemon('c', { limiters: BIG, peers: [a.address] });
    await eventually(async () => ((await livePeers(c)) === 2 ? true : undefined), 10_000, 'c sees two live peers');
    await postJson(`${a.url}/v1/consume`, { limiter: 'api', key: 'k', cost: 3 });
    await postJson(`${b.url}/v1/consume`, { requests: [{ limiter: 'api', key: 'k', cost: 2 }] });
    await postJson(`${c.url}/v1/consume`, { limiter: 'api', key: 'k' });
    for (const d of [a, b, c]) await eventually(async () => ((await countOn(d, 'k')) === 6 ? true : undefined), 10_000, `count 6 on ${d.mesh.nodeId}`);
    // A reset on one node is replicated too.
    expect((await fetch(`${b.url}/v1/limiters/api/keys/k`, { method: 'DELETE' })).status).toBe(204);
    for (const d of [a, b, c]) await eventually(async () => ((await countOn(d, 'k')) === 0 ? true : undefined), 10_000, `reset on ${d.mesh.nodeId}`);
  });

  it('is not ready before its seed is reached and synced, then ready with the seed state', async () => {
    const port = await freePort();
    const b = await startTestDaemon('b', { limiters: BIG, peers: [`127.0.0.1:${port}`], joinTimeoutMs: 20_000 });
    const before = await getJson(`${b.url}/readyz`);
    expect(before.status).toBe(503);
    // The reason names the seed not reached, and why (no answer yet, or the refused dial).
    expect(before.body).toMatchObject({ ready: false, reason: expect.stringMatching(new RegExp(`^reached 0 of 1 seed peers; not reached: 127\\.0\\.0\\.1:${port} \\((no answer yet|refused: .*)\\)$`)) });
    expect((await getJson(`${b.url}/healthz`)).status).toBe(200);
    const events = await SseClient.open(`${b.url}/v1/events`);

    const a = await startTestDaemon('a', { limiters: BIG, port });
    a.mesh.get('api')!.consume('seeded', 7);
    await eventually(async () => ((await getJson(`${b.url}/readyz`)).status === 200 ? true : undefined), 10_000, 'b ready');
    expect((await getJson(`${b.url}/readyz`)).body).toMatchObject({ ready: true, peers: [{ nodeId: 'a', state: 'live' }] });
    await eventually(async () => ((await countOn(b, 'seeded')) === 7 ? true : undefined), 10_000, 'b has the seed state');
    const peerUp = await events.next((e) => e.event === 'peer' && JSON.parse(e.data).state === 'live');
    expect(JSON.parse(peerUp.data)).toMatchObject({ nodeId: 'a', address: a.address });
    await events.next((e) => e.event === 'ready');
    expect(b.logs.some((l) => l.event === 'peer' && l.peer === 'a' && l.state === 'live')).toBe(true);
    expect(b.logs.some((l) => l.event === 'ready')).toBe(true);
    events.close();
  });

  it('reports a peer that left as down, in the cluster view and the event stream', async () => {
    const a = await startTestDaemon('a', { limiters: BIG });
    const b = await startTestDaemon('b', { limiters: BIG, peers: [a.address] });
    await eventually(async () => ((await livePeers(a)) === 1 ? true : undefined), 10_000, 'a sees b');
    const events = await SseClient.open(`${a.url}/v1/events`);
    await b.close();
    const down = await events.next((e) => e.event === 'peer' && JSON.parse(e.data).state === 'down');
    expect(JSON.parse(down.data).nodeId).toBe('b');
    expect((await getJson(`${a.url}/v1/cluster`)).body.peers).toEqual([expect.objectContaining({ nodeId: 'b', state: 'down', reachable: false })]);
    // It said goodbye: an expected departure, logged at info with the reason it gave.
    expect(a.logs.some((l) => l.event === 'peer' && l.peer === 'b' && l.state === 'down' && l.level === 30 && String(l.reason).startsWith('left: '))).toBe(true);
    events.close();
  });

  it('loses no admitted hit on graceful shutdown: the survivors count every one', async () => {
    // c gossips only once a minute, so the hits below can reach a and b only
    // through the last flush of its shutdown.
    const timing = { limiters: BIG, suspectAfterMs: 2_000 };
    const a = await startTestDaemon('a', timing);
    const b = await startTestDaemon('b', { ...timing, peers: [a.address] });
    const c = await startTestDaemon('c', { ...timing, peers: [a.address], gossipIntervalMs: 60_000 });
    await eventually(async () => ((await livePeers(c)) === 2 && (await livePeers(a)) === 2 ? true : undefined), 10_000, 'a full mesh');

    const batch = await postJson(`${c.url}/v1/consume`, { requests: Array.from({ length: 30 }, (_, i) => ({ limiter: 'api', key: `k${i % 3}` })) });
    expect(batch.body.results.every((r: { allowed: boolean }) => r.allowed)).toBe(true);
    // Clients hammering c while it shuts down: each request is either admitted (and must survive) or refused.
    let admittedInRace = 0;
    const hammer = async (): Promise<void> => {
      for (;;) {
        const r = await fetch(`${c.url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ limiter: 'api', key: 'race' }) }).catch(
          () => null,
        );
        if (r === null || r.status !== 200) return;
        if (((await r.json()) as { allowed: boolean }).allowed) admittedInRace++;
      }
    };
    const hammers = Array.from({ length: 4 }, hammer);
    await eventually(async () => (admittedInRace >= 20 ? true : undefined), 10_000, 'hammering under way');
    const started = Date.now();
    await c.close('test shutdown');
    await Promise.all(hammers);
    expect(Date.now() - started).toBeLessThan(3_000);

    for (const d of [a, b]) {
      for (const key of ['k0', 'k1', 'k2']) await eventually(async () => ((await countOn(d, key)) === 10 ? true : undefined), 10_000, `${key} on ${d.mesh.nodeId}`);
      await eventually(async () => ((await countOn(d, 'race')) >= admittedInRace ? true : undefined), 10_000, `race hits on ${d.mesh.nodeId}`);
      expect(await countOn(d, 'race')).toBe(admittedInRace);
    }
  });
});
