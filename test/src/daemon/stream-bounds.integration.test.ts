/**
 * Issue 9, a weakness the hostile-client suite found: `/v1/stream` clients
 * were never closed. One that upgraded and then sent nothing, or only part
 * of a frame, was held until the port's 10,000-connection cap. Now a ping
 * every `pingIntervalMs` cuts a client that did not answer the previous one
 * (a dead peer, or one stuck inside a frame), a client that sends no
 * complete request for `idleTimeoutMs` is closed, and at most `maxClients`
 * are connected at once. The bounds are shortened here; the defaults are in
 * docs/http-api.md.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startDaemon, type Daemon } from '../../../src/daemon/daemon.js';
import { decodeStreamResponse, encodeStreamRequest } from '../../../src/stream/stream-codec.js';
import { testConfig } from '../../helpers/daemon.js';
import { parsePrometheusText, sampleValue } from '../../helpers/prom-parse.js';
import { frameHeader, maskedFrame, rawUpgrade, type RawUpgrade } from '../../helpers/raw-ws.js';
import { waitFor } from '../../helpers/wait-for.js';

const PING_MS = 200;
const IDLE_MS = 1_000;
/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 1_000;
/** A client that answers no ping is cut at the second sweep after it opened. */
const DEAD_BOUND_MS = 2 * PING_MS + SLACK_MS;
/** An idle client is closed at the first sweep past its idle bound. */
const IDLE_BOUND_MS = IDLE_MS + PING_MS + SLACK_MS;

const running: Daemon[] = [];
const sockets: Array<{ destroy?: () => void; terminate?: () => void }> = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) (s.destroy ?? s.terminate)?.call(s);
  await Promise.all(running.splice(0).map((d) => d.close('test over')));
});

async function start(stream: { pingIntervalMs?: number; idleTimeoutMs?: number; maxClients?: number }): Promise<Daemon> {
  const d = await startDaemon(testConfig('a'), { logger: pino({ level: 'silent' }), stream: { pingIntervalMs: PING_MS, idleTimeoutMs: IDLE_MS, ...stream } });
  running.push(d);
  return d;
}

async function streamRejected(d: Daemon, reason: string): Promise<number> {
  const families = parsePrometheusText(await (await fetch(`${d.url}/metrics`)).text());
  return sampleValue(families, 'tallymesh_stream_rejected_total', { reason }) ?? 0;
}

async function rawStream(d: Daemon): Promise<RawUpgrade> {
  const r = await rawUpgrade(d.url.replace(/^http:\/\//, ''), { path: '/v1/stream' });
  sockets.push(r.socket);
  expect(r.status).toBe(101);
  return r;
}

/** Resolves with how long `closed` took, or null when it did not settle within `ms`. */
async function closedWithin(closed: Promise<unknown>, ms: number): Promise<number | null> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([closed.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return outcome ? Math.round(performance.now() - started) : null;
}

function wsClient(d: Daemon): WebSocket {
  const ws = new WebSocket(`${d.url.replace(/^http/, 'ws')}/v1/stream`);
  ws.on('error', () => {});
  sockets.push(ws);
  return ws;
}

describe('/v1/stream bounds', () => {
  it('cuts a client that upgrades and then sends nothing, not even a pong', async () => {
    const d = await start({});
    const raw = await rawStream(d);
    const ms = await closedWithin(raw.closed, DEAD_BOUND_MS);
    expect(ms, `silent client not cut within ${DEAD_BOUND_MS} ms`).not.toBeNull();
    expect(await streamRejected(d, 'dead')).toBe(1);
  });

  it('cuts a client stuck inside a frame: its pongs cannot arrive while the frame is incomplete', async () => {
    const d = await start({});
    const raw = await rawStream(d);
    raw.socket.write(Buffer.concat([frameHeader(64 * 1024), Buffer.alloc(1_000, 1)])); // 1,000 bytes of a 64 KiB frame
    const ms = await closedWithin(raw.closed, DEAD_BOUND_MS);
    expect(ms, `client with a partial frame not cut within ${DEAD_BOUND_MS} ms`).not.toBeNull();
  });

  it('closes a client that answers pings but never completes a message (a fragment, then pongs)', async () => {
    const d = await start({});
    const raw = await rawStream(d);
    raw.socket.write(maskedFrame(Buffer.from([0x93, 0x01]), 0x2, false)); // the first fragment of a message that never ends
    // Unsolicited pongs (RFC 6455 §5.5.3 allows them) keep it looking alive.
    const pongs = setInterval(() => raw.socket.writable && raw.socket.write(maskedFrame(Buffer.alloc(0), 0xa)), PING_MS / 4);
    try {
      const ms = await closedWithin(raw.closed, IDLE_BOUND_MS);
      expect(ms, `client holding a fragment not closed within ${IDLE_BOUND_MS} ms`).not.toBeNull();
      expect(ms).toBeGreaterThanOrEqual(IDLE_MS - 100);
    } finally {
      clearInterval(pongs);
    }
    expect(await streamRejected(d, 'idle')).toBe(1);
  });

  it('closes an idle client with 1000 after the idle bound, and keeps a client that sends requests', async () => {
    const d = await start({});
    const idle = wsClient(d);
    const active = wsClient(d);
    await Promise.all([idle, active].map((ws) => new Promise((resolve) => ws.once('open', resolve))));
    let answers = 0;
    active.on('message', (data: Buffer) => {
      if (decodeStreamResponse(data).results.length === 1) answers++;
    });
    let id = 0;
    const send = setInterval(() => active.send(encodeStreamRequest(++id, [{ limiter: 'api', key: `k${id % 3}` }])), IDLE_MS / 4);
    try {
      const closed = new Promise<{ code: number; reason: string }>((resolve) => idle.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
      const ms = await closedWithin(closed, IDLE_BOUND_MS);
      expect(ms, `idle client not closed within ${IDLE_BOUND_MS} ms`).not.toBeNull();
      expect(await closed).toEqual({ code: 1000, reason: expect.stringContaining('idle') });
      // The active client outlives another idle bound, answered all along.
      const before = answers;
      await waitFor(() => answers >= before + 6, 3 * IDLE_MS);
      expect(active.readyState).toBe(WebSocket.OPEN);
    } finally {
      clearInterval(send);
    }
  });

  it('refuses connections past maxClients with 503, and admits again once one leaves', async () => {
    const d = await start({ maxClients: 2 });
    const clients = [wsClient(d), wsClient(d)];
    await Promise.all(clients.map((ws) => new Promise((resolve) => ws.once('open', resolve))));
    const refused = await rawUpgrade(d.url.replace(/^http:\/\//, ''), { path: '/v1/stream' });
    sockets.push(refused.socket);
    expect(refused.status).toBe(503);
    expect(await streamRejected(d, 'too-many-clients')).toBe(1);
    const closed = new Promise((resolve) => clients[0].once('close', resolve));
    clients[0].close();
    await closed;
    const again = wsClient(d);
    await new Promise((resolve, reject) => {
      again.once('open', resolve);
      again.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  });
});
