import { execFileSync } from 'node:child_process';
import { HAS_OPENSSL } from '../../helpers/tls.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeFrame, encodeFrame } from '../../../transport/codec/codec.js';
import { FrameType } from '../../../transport/codec/frame.js';
import type { Frame } from '../../../transport/codec/frame.js';
import { computeMac, createNonce, verifyMac } from '../../../transport/handshake.js';
import { realScheduler, type Scheduler } from '../../../transport/scheduler.js';
import type { Transport } from '../../../transport/transport.js';
import { createWsTransport, MESH_PATH } from '../../../transport/ws/ws-transport.js';
import type { WsTlsOptions, WsTransportOptions } from '../../../transport/ws/ws-transport.js';
import { never } from '../../helpers/wait-for.js';
import { bulkyDelta, deltaFrame, pingFrame } from '../codec/frames.js';
import { Recorder } from '../recorder.js';
import { describeTransportConformance } from '../transport-conformance.js';
import type { HarnessNode, TransportHarness } from '../transport-conformance.js';
import { freePort } from '../../helpers/free-port.js';

const WAIT_TIMEOUT_MS = 10_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`waited ${WAIT_TIMEOUT_MS} ms for ${what}`);
    await sleep(5);
  }
}

/** Server-side and client-side TLS material for a wss cluster. */
interface ClusterTls {
  server: { key: Buffer; cert: Buffer };
  client: WsTlsOptions;
}

type NodeOptions = Partial<Omit<WsTransportOptions, 'nodeId' | 'incarnation' | 'server' | 'tls'>> & { tls?: ClusterTls };

/** Real servers on 127.0.0.1 port 0, real transports, closed by dispose(). */
function wsCluster(defaults: NodeOptions = {}) {
  const servers: http.Server[] = [];
  const transports: Transport[] = [];
  const rawSockets: WebSocket[] = [];

  async function startNode(nodeId: string, options: NodeOptions = {}): Promise<HarnessNode & { server: http.Server }> {
    const { tls, ...rest } = { ...defaults, ...options };
    const server = tls === undefined ? http.createServer() : https.createServer(tls.server);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const incarnation = `${nodeId}-${Date.now()}`;
    const transport = createWsTransport({
      nodeId,
      incarnation,
      secret: 's',
      server,
      backoff: { initialMs: 20, maxMs: 200 },
      ...rest,
      tls: tls?.client,
    });
    transports.push(transport);
    const recorder = new Recorder();
    await transport.start(recorder.handlers);
    return { transport, recorder, incarnation, server };
  }

  const harness: TransportHarness = {
    spawn: (nodeId, options) => startNode(nodeId, options),
    waitFor,
    never,
    deadAddress: async () => `127.0.0.1:${await freePort()}`,
    async dispose() {
      for (const socket of rawSockets) socket.terminate();
      await Promise.all(transports.map((t) => t.close()));
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
  return { startNode, harness, rawSockets };
}

describeTransportConformance('WebSocket', () => wsCluster().harness);

/**
 * A hand-driven peer: dials like a transport, proves the secret, then lets
 * the test send any bytes it likes.
 */
async function rawPeer(rawSockets: WebSocket[], address: string, nodeId: string, options: { autoPong?: boolean } = {}) {
  const socket = new WebSocket(`ws://${address}${MESH_PATH}`, { autoPong: options.autoPong ?? true });
  rawSockets.push(socket);
  const received: Frame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  socket.on('message', (data) => received.push(decodeFrame(data as Buffer)));
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('open', resolve));
  const nonce = createNonce();
  socket.send(encodeFrame({ type: FrameType.HELLO, hlc: 0, body: { nodeId, address: '', incarnation: `${nodeId}-raw`, nonce } }));
  await waitFor(() => received.length >= 2, 'the listener HELLO and AUTH');
  const [hello, auth] = received.splice(0, 2);
  if (hello.type !== FrameType.HELLO || auth.type !== FrameType.AUTH) throw new Error('unexpected handshake answer');
  const listener = hello.body;
  expect(verifyMac('s', 'listener', nonce, listener.nonce, nodeId, listener.nodeId, auth.body.mac)).toBe(true);
  const mac = computeMac('s', 'dialer', nonce, listener.nonce, nodeId, listener.nodeId);
  socket.send(encodeFrame({ type: FrameType.AUTH, hlc: 0, body: { mac } }));
  return { socket, received, closed };
}

describe('WebSocket transport against a misbehaving peer', () => {
  let cluster: ReturnType<typeof wsCluster>;
  beforeEach(() => {
    cluster = wsCluster();
  });
  afterEach(async () => {
    await cluster.harness.dispose();
  });

  /** a linked with b, plus a raw peer x authenticated with a. */
  async function scene(options: NodeOptions = {}) {
    const a = await cluster.startNode('a', options);
    const b = await cluster.startNode('b');
    a.transport.connect(b.transport.address());
    const x = await rawPeer(cluster.rawSockets, a.transport.address(), 'x');
    await waitFor(() => a.transport.peers().length === 2 && b.transport.peers().length === 1, 'a linked with b and x');
    return { a, b, x };
  }

  async function stillServes(a: HarnessNode, b: HarnessNode): Promise<void> {
    expect(a.transport.send('b', deltaFrame(99))).toBe(true);
    await waitFor(() => b.recorder.frames('a').length === 1, 'b to keep receiving from a');
    expect(a.transport.peers().map((p) => p.nodeId)).toEqual(['b']);
  }

  it.each([
    ['a frame above maxFrameBytes', Buffer.alloc(70_000, 1), 'too-large', 1009],
    ['garbage', Buffer.from([0xc1, 0xff, 0x00]), 'malformed', 4004],
    ['a frame of the previous protocol version (1)', Buffer.from([0x94, 0x01, 0x09, 0x00, 0x90]), 'version', 4002],
    ['a text message', 'hello', 'malformed', 4004],
    ['a second HELLO', encodeFrame({ type: FrameType.HELLO, hlc: 0, body: { nodeId: 'x', address: '', incarnation: 'i', nonce: createNonce() } }), 'unexpected', 4005],
  ] as const)('closes a peer that sends %s, and only that peer', async (_name, payload, reason, code) => {
    const { a, b, x } = await scene({ maxFrameBytes: 65_536 });
    x.socket.send(payload);
    expect((await x.closed).code).toBe(code);
    await waitFor(() => a.recorder.downs().length === 1, 'a to drop x');
    expect(a.recorder.rejects()).toEqual([{ who: 'x', reason, detail: expect.any(String) }]);
    expect(a.recorder.downs()).toEqual([{ nodeId: 'x', reason }]);
    await stillServes(a, b);
  });

  it("closes a connection that does not finish the handshake in time with 'timeout'", async () => {
    const a = await cluster.startNode('a', { handshakeTimeoutMs: 150 });
    const socket = new WebSocket(`ws://${a.transport.address()}${MESH_PATH}`);
    cluster.rawSockets.push(socket);
    const closed = new Promise<[number, string]>((resolve) => socket.on('close', (code, r) => resolve([code, r.toString()])));
    expect(await closed).toEqual([4008, 'timeout']);
    expect(a.recorder.rejects().map((r) => r.reason)).toEqual(['timeout']);
  });

  it('measures the round trip to a peer by ping probes its WebSocket answers (no tallymesh frame), and ignores pongs that answer none', async () => {
    const a = await cluster.startNode('a');
    // x answers every ping itself, 80 ms late, echoing its data as RFC 6455 requires; the first
    // pong is forged (a send time in the future, which would make a negative round trip).
    const x = await rawPeer(cluster.rawSockets, a.transport.address(), 'x', { autoPong: false });
    let pings = 0;
    x.socket.on('ping', (data: Buffer) => {
      if (pings++ === 0) {
        const forged = Buffer.alloc(8);
        forged.writeDoubleLE(performance.now() + 1e6, 0);
        x.socket.pong(forged);
      }
      setTimeout(() => x.socket.pong(data), 80);
    });
    await waitFor(() => a.transport.peers().length === 1, 'x to be up');
    expect(a.transport.roundTripMs?.('x')).toBeUndefined();
    await waitFor(() => a.transport.roundTripMs?.('x') !== undefined, 'a round trip');
    const rtt = a.transport.roundTripMs?.('x') as number;
    expect(rtt).toBeGreaterThanOrEqual(80);
    expect(rtt).toBeLessThan(1_000);
    // No tallymesh frame was sent for it: the probes are WebSocket control frames.
    expect(x.received).toEqual([]);
    expect(a.transport.roundTripMs?.('nobody')).toBeUndefined();
  });

  it('drops a peer that stops answering keepalive pings', async () => {
    const a = await cluster.startNode('a', { keepaliveMs: 50 });
    const x = await rawPeer(cluster.rawSockets, a.transport.address(), 'x', { autoPong: false });
    await waitFor(() => a.transport.peers().length === 1, 'x to be up');
    expect((await x.closed).code).toBe(1006);
    await waitFor(() => a.recorder.downs().length === 1, 'a to drop x');
    expect(a.recorder.downs()).toEqual([{ nodeId: 'x', reason: 'connection lost' }]);
  });

  it('bounds the send queue of a peer that stops reading, dropping the oldest deltas and calling onOverflow', async () => {
    const maxQueueBytes = 512 * 1024;
    const a = await cluster.startNode('a', { maxQueueBytes, maxFrameBytes: 128 * 1024 });
    const x = await rawPeer(cluster.rawSockets, a.transport.address(), 'x');
    await waitFor(() => a.transport.peers().length === 1, 'x to be up');
    x.socket.pause(); // stop reading: TCP buffers fill, then ws buffers, then our queue
    const total = 600;
    for (let i = 1; i <= total; i++) {
      expect(a.transport.send('x', bulkyDelta(i, 64 * 1024))).toBe(true);
      expect(a.transport.stats('x').queuedBytes).toBeLessThanOrEqual(maxQueueBytes);
    }
    const stats = a.transport.stats('x');
    expect(stats.framesDropped).toBeGreaterThan(0);
    expect(stats.framesOut).toBe(total);
    expect(a.recorder.overflows().length).toBeGreaterThan(0);
    expect(new Set(a.recorder.overflows())).toEqual(new Set(['x']));
    x.socket.resume();
    await waitFor(() => x.received.at(-1)?.hlc === total, 'the newest frame to arrive');
    const seen = x.received.map((f) => f.hlc);
    // Survivors arrive in order; what was dropped were older frames, and the newest always survives.
    expect(seen).toEqual([...seen].sort((p, q) => p - q));
    expect(seen.length).toBe(total - stats.framesDropped);
    await waitFor(() => a.transport.stats('x').queuedBytes === 0, 'the queue to drain');
  });

  it('leaves upgrade requests on other paths to other listeners', async () => {
    const a = await cluster.startNode('a');
    const other = new WebSocketServer({ noServer: true });
    a.server.on('upgrade', (req, socket, head) => {
      if (req.url === '/other') other.handleUpgrade(req, socket, head, (ws) => ws.send('other'));
    });
    const socket = new WebSocket(`ws://${a.transport.address()}/other`);
    cluster.rawSockets.push(socket);
    const message = await new Promise<string>((resolve) => socket.on('message', (d) => resolve(d.toString())));
    expect(message).toBe('other');
    expect(a.recorder.events).toEqual([]);
    other.close();
  });

  it('refuses invalid options at construction with a coded error', () => {
    const server = http.createServer();
    const base = { nodeId: 'a', incarnation: 'i', secret: '', server };
    expect(() => createWsTransport({ ...base, nodeId: '' })).toThrow(
      expect.objectContaining({ name: 'RangeError [TALLYMESH_ERR_OPTION_RANGE]', code: 'TALLYMESH_ERR_OPTION_RANGE' }),
    );
    expect(() => createWsTransport({ ...base, maxQueueBytes: 10 })).toThrow(/maxQueueBytes/);
    expect(() => createWsTransport({ ...base, secret: undefined as unknown as string })).toThrow(TypeError);
  });

  it('sends pings through a live link without tripping keepalive', async () => {
    // Count a's keepalive ticks: each one pings, or cuts a link that answered nothing since the last.
    let ticks = 0;
    const scheduler: Scheduler = {
      ...realScheduler,
      every: (ms, fn) =>
        realScheduler.every(ms, () => {
          fn();
          if (ms === 30) ticks++;
        }),
    };
    const a = await cluster.startNode('a', { keepaliveMs: 30, scheduler });
    const b = await cluster.startNode('b', { keepaliveMs: 30 });
    a.transport.connect(b.transport.address());
    await waitFor(() => a.transport.peers().length === 1 && b.transport.peers().length === 1, 'a and b linked');
    // Ten ticks on the live link, each of which would have cut it had the last ping gone unanswered.
    const linkedAt = ticks;
    await waitFor(() => ticks >= linkedAt + 10 || a.recorder.downs().length + b.recorder.downs().length > 0, 'ten keepalive ticks');
    expect(a.recorder.downs()).toEqual([]);
    expect(b.recorder.downs()).toEqual([]);
    expect(a.transport.send('b', pingFrame())).toBe(true);
    await waitFor(() => b.recorder.frames('a').length === 1, 'the ping');
  });
});

// ---- TLS: a throwaway CA and a server certificate for 127.0.0.1, made with the system openssl ----

// Skipped (not failed) only when no openssl binary exists on this machine.
let tlsMaterial: ClusterTls | null = null;

function clusterTls(): ClusterTls {
  if (tlsMaterial !== null) return tlsMaterial;
  const dir = mkdtempSync(join(tmpdir(), 'tallymesh-tls-'));
  try {
    const run = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=tallymesh test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
    run('req', ...ec, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
    run('x509', '-req', '-in', 'node.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.crt',
      '-days', '1', '-extfile', 'ext.cnf');
    const read = (name: string): Buffer => readFileSync(join(dir, name));
    tlsMaterial = { server: { key: read('node.key'), cert: read('node.crt') }, client: { ca: read('ca.crt') } };
    return tlsMaterial;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!HAS_OPENSSL)('WebSocket transport over TLS', () => {
  describeTransportConformance('WebSocket over TLS (wss)', () => wsCluster({ tls: clusterTls() }).harness);

  it('does not link with a peer whose certificate it cannot verify', async () => {
    const tls = clusterTls();
    const cluster = wsCluster();
    try {
      const a = await cluster.startNode('a', { tls });
      let refused = 0;
      a.server.on('tlsClientError', () => refused++);
      const stranger = await cluster.startNode('z', { tls: { server: tls.server, client: {} } }); // system CAs only
      stranger.transport.connect(a.transport.address());
      // The stranger aborts each TLS handshake and redials: wait for its second try to fail too.
      await waitFor(() => refused >= 2 || stranger.recorder.events.some((e) => e.kind !== 'dial') || a.recorder.events.length > 0, 'two refused TLS handshakes');
      // No link either way; the stranger's dials are reported as failed in TLS, naming the certificate problem.
      expect(stranger.recorder.events.filter((e) => e.kind !== 'dial')).toEqual([]);
      expect(a.recorder.events).toEqual([]);
      await waitFor(() => stranger.recorder.dials().length >= 1, 'a failed dial reported');
      expect(stranger.recorder.dials()[0]).toMatchObject({ ok: false, reason: 'tls' });
      expect((stranger.recorder.dials()[0] as { detail: string }).detail).toMatch(/certificate/i);
    } finally {
      await cluster.harness.dispose();
    }
  });
});
