import { decode, encode } from '@msgpack/msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeStreamResponse, encodeStreamRequest } from '../../../src/stream/stream-codec.js';
import { closeAll, getJson, postJson, startTestDaemon } from '../../helpers/daemon.js';

afterEach(closeAll);

/** A /v1/stream client that collects every binary answer and the close code and reason. */
class StreamClient {
  readonly ws: WebSocket;
  readonly answers: Uint8Array[] = [];
  closed: { code: number; reason: string } | undefined;

  constructor(baseUrl: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/stream`, { headers });
    this.ws.on('message', (data: Buffer) => this.answers.push(new Uint8Array(data)));
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.ws.on('error', () => {});
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  async answer(n: number, timeoutMs = 5_000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.answers.length <= n) {
      if (Date.now() > deadline) throw new Error(`no answer #${n}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.answers[n];
  }

  async whenClosed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === undefined) {
      if (Date.now() > deadline) throw new Error('the stream did not close');
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.closed;
  }
}

describe('/v1/stream', () => {
  it('answers a batch in request order, in standard MessagePack', async () => {
    const d = await startTestDaemon('a');
    const client = new StreamClient(d.url);
    await client.opened();
    // Encoded and decoded with @msgpack/msgpack, not the daemon's codec: any MessagePack library works.
    client.ws.send(encode([1, 7, [['api', 'k'], ['api', 'k', 2], ['nope', 'k'], ['api', ''], ['api', 'k', 9]]]));
    const answer = decode(await client.answer(0)) as [number, number, unknown[], unknown[]];
    expect(answer[0]).toBe(1);
    expect(answer[1]).toBe(7);
    expect(answer[2]).toHaveLength(5);
    expect(answer[2][0]).toEqual([true, 5, 4, expect.any(Number), 0]);
    expect(answer[2][1]).toEqual([true, 5, 2, expect.any(Number), 0]);
    expect(answer[2].slice(2)).toEqual([null, null, null]);
    expect(answer[3]).toEqual([
      [2, 'TALLYMESH_ERR_LIMITER_UNKNOWN', expect.any(String)],
      [3, 'TALLYMESH_ERR_KEY_INVALID', expect.any(String)],
      [4, 'TALLYMESH_ERR_COST_INVALID', expect.any(String)],
    ]);
    // The same counter as the HTTP API.
    expect((await getJson(`${d.url}/v1/limiters/api/keys/k`)).body.count).toBe(3);
    client.ws.close();
  });

  it('answers pipelined frames in the order they were sent', async () => {
    const d = await startTestDaemon('a', { limiters: [{ name: 'api', limit: 1000, windowMs: 60_000 }] });
    const client = new StreamClient(d.url);
    await client.opened();
    for (let id = 0; id < 50; id++) client.ws.send(encodeStreamRequest(id, [{ limiter: 'api', key: 'k' }, { limiter: 'api', key: 'k', cost: 2 }]));
    await client.answer(49);
    const decoded = client.answers.map((a) => decodeStreamResponse(a));
    expect(decoded.map((r) => r.id)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(decoded.map((r) => (r.results[1] as { remaining: number }).remaining)).toEqual(Array.from({ length: 50 }, (_, i) => 1000 - 3 * (i + 1)));
    client.ws.close();
  });

  const malformed: Array<[string, () => Uint8Array | string, number]> = [
    ['a text frame', () => 'hello', 1003],
    ['bytes that are not MessagePack', () => new Uint8Array([0xc1]), 1007],
    ['trailing bytes', () => new Uint8Array([...encode([1, 1, []]), 0x00]), 1007],
    ['a map instead of an array', () => encode({ v: 1, id: 1, requests: [] }), 1007],
    ['an unknown version', () => encode([2, 1, []]), 1007],
    ['a negative id', () => encode([1, -1, []]), 1007],
    ['a string id', () => encode([1, 'x', []]), 1007],
    ['requests that are not an array', () => encode([1, 1, 'api']), 1007],
    ['a request that is not an array', () => encode([1, 1, ['api']]), 1007],
    ['a request with four fields', () => encode([1, 1, [['api', 'k', 1, 1]]]), 1007],
    ['a batch of 1,001', () => encode([1, 1, Array.from({ length: 1001 }, () => ['api', 'k'])]), 1008],
    ['a frame over 1 MiB', () => encode([1, 1, [['api', 'k'.repeat(1024 * 1024)]]]), 1009],
  ];

  it.each(malformed)('closes the stream on %s, with a reason, and serves other clients on', async (_name, frame, code) => {
    const d = await startTestDaemon('a');
    const bystander = new StreamClient(d.url);
    const culprit = new StreamClient(d.url);
    await Promise.all([bystander.opened(), culprit.opened()]);
    culprit.ws.send(frame());
    const closed = await culprit.whenClosed();
    expect(closed.code).toBe(code);
    if (code !== 1009) expect(closed.reason.length).toBeGreaterThan(0);
    bystander.ws.send(encodeStreamRequest(1, [{ limiter: 'api', key: 'k' }]));
    expect(decodeStreamResponse(await bystander.answer(0)).results[0]).toMatchObject({ allowed: true });
    expect(bystander.closed).toBeUndefined();
    bystander.ws.close();
  });

  it('does not answer or count a frame that follows a bad one', async () => {
    const d = await startTestDaemon('a');
    const client = new StreamClient(d.url);
    await client.opened();
    client.ws.send(new Uint8Array([0xc1]));
    client.ws.send(encodeStreamRequest(1, [{ limiter: 'api', key: 'after-bad' }]));
    expect((await client.whenClosed()).code).toBe(1007);
    expect(client.answers).toEqual([]);
    expect((await getJson(`${d.url}/v1/limiters/api/keys/after-bad`)).body.count).toBe(0);
  });

  it('requires the bearer token at the upgrade', async () => {
    const d = await startTestDaemon('a', { apiToken: 'stream-token-1' });
    await expect(new StreamClient(d.url).opened()).rejects.toThrow('HTTP 401');
    await expect(new StreamClient(d.url, { authorization: 'Bearer nope' }).opened()).rejects.toThrow('HTTP 401');
    const client = new StreamClient(d.url, { authorization: 'Bearer stream-token-1' });
    await client.opened();
    client.ws.send(encodeStreamRequest(3, [{ limiter: 'api', key: 'k' }]));
    expect(decodeStreamResponse(await client.answer(0)).id).toBe(3);
    client.ws.close();
  });

  it('refuses upgrades on unknown paths with 404', async () => {
    const d = await startTestDaemon('a');
    const ws = new WebSocket(`${d.url.replace('http', 'ws')}/v1/elsewhere`);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
    ws.on('error', () => {});
  });

  it('says goodbye with 1001 on shutdown, after answering what it received', async () => {
    const d = await startTestDaemon('a');
    const client = new StreamClient(d.url);
    await client.opened();
    client.ws.send(encodeStreamRequest(1, [{ limiter: 'api', key: 'k' }]));
    await client.answer(0);
    await d.close();
    expect((await client.whenClosed()).code).toBe(1001);
    expect((await postJson(`${d.url}/v1/consume`, { limiter: 'api', key: 'k' }).catch(() => ({ status: 0 }))).status).toBe(0);
  });
});
