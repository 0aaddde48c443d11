/**
 * Issue 9, defect 4: what a socket that has not authenticated can cost the
 * WebSocket transport. Hostile clients are bare `net` sockets doing the
 * upgrade by hand (test/helpers/raw-ws.ts), so they can send what no
 * WebSocket library would: a header declaring megabytes followed by part of
 * the payload, endless fragments, pings instead of a HELLO, or nothing.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../../transport/codec/codec.js';
import { FrameType } from '../../../transport/codec/frame.js';
import { computeMac, createNonce } from '../../../transport/handshake.js';
import { MAX_HANDSHAKE_FRAME_BYTES } from '../../../transport/link.js';
import type { Transport } from '../../../transport/transport.js';
import { createWsTransport } from '../../../transport/ws/ws-transport.js';
import type { WsTransportOptions } from '../../../transport/ws/ws-transport.js';
import { frameHeader, maskedFrame, rawListener, rawUpgrade, serverFrames, writeFiller, type RawUpgrade } from '../../helpers/raw-ws.js';
import { waitFor } from '../../helpers/wait-for.js';
import { bulkyDelta } from '../codec/frames.js';
import { Recorder } from '../recorder.js';

const SECRET = 'pre-auth-test-secret';
/** One socket read: what the receiver may hold at the moment a hostile header is seen. */
const READ_BYTES = 64 * 1024;

interface TestNode {
  transport: Transport;
  recorder: Recorder;
  server: http.Server;
  address: string;
  /** Bytes the server read from each mesh socket, recorded when the socket closed. */
  bytesRead: number[];
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startNode(nodeId: string, options: Partial<WsTransportOptions> = {}): Promise<TestNode> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const bytesRead: number[] = [];
  server.on('upgrade', (req: http.IncomingMessage) => {
    req.socket.once('close', () => bytesRead.push(req.socket.bytesRead));
  });
  const transport = createWsTransport({ nodeId, incarnation: `${nodeId}-1`, secret: SECRET, server, backoff: { initialMs: 20, maxMs: 200 }, ...options });
  const recorder = new Recorder();
  await transport.start(recorder.handlers);
  cleanups.push(async () => {
    await transport.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { transport, recorder, server, address: transport.address(), bytesRead };
}

function track(socket: net.Socket): net.Socket {
  cleanups.push(() => {
    socket.destroy();
  });
  return socket;
}

describe('the WebSocket transport before a peer authenticates', () => {
  it('cuts a socket whose first frame declares more than the handshake bound, before its payload arrives', async () => {
    const a = await startNode('a');
    const raw = await rawUpgrade(a.address);
    track(raw.socket);
    expect(raw.status).toBe(101);
    raw.socket.write(frameHeader(4 * 1024 * 1024 - 1024));
    await writeFiller(raw.socket, 1024 * 1024); // a megabyte of the payload, which must not be read
    await raw.closed;
    await waitFor(() => a.bytesRead.length === 1);
    expect(a.recorder.rejects()).toEqual([{ who: expect.stringMatching(/^127\.0\.0\.1:\d+$/), reason: 'too-large', detail: expect.stringContaining('before AUTH') }]);
    // What the server read: the upgrade request and at most one read past the header.
    expect(a.bytesRead[0]).toBeLessThan(1024 + READ_BYTES);
  });

  it('cuts a socket that sends a fragmented message growing past the handshake bound without ever finishing it', async () => {
    const a = await startNode('a');
    const raw = await rawUpgrade(a.address);
    track(raw.socket);
    // Three 400-byte fragments: each alone is well under the bound, and so are the bytes in all.
    const fragment = Buffer.alloc(400, 7);
    raw.socket.write(maskedFrame(fragment, 0x2, false));
    raw.socket.write(maskedFrame(fragment, 0x0, false));
    raw.socket.write(maskedFrame(fragment, 0x0, false));
    await raw.closed;
    expect(a.recorder.rejects()).toEqual([{ who: expect.any(String), reason: 'too-large', detail: expect.stringMatching(/declared a \d+-byte message before AUTH/) }]);
  });

  it('cuts a socket that sends more bytes than a handshake needs, even in small control frames', async () => {
    const a = await startNode('a');
    const raw = await rawUpgrade(a.address);
    track(raw.socket);
    const ping = maskedFrame(Buffer.alloc(125, 1), 0x9);
    for (let i = 0; i < 100 && !raw.socket.destroyed; i++) raw.socket.write(ping);
    await raw.closed;
    expect(a.recorder.rejects()).toEqual([{ who: expect.any(String), reason: 'too-large', detail: expect.stringMatching(/\d+ bytes before AUTH \(at most \d+\)/) }]);
  });

  it('cuts a silent socket that ignores its close frame once the handshake deadline and a grace passed', async () => {
    const a = await startNode('a', { handshakeTimeoutMs: 100 });
    const raw = await rawUpgrade(a.address);
    track(raw.socket);
    const started = Date.now();
    // The raw client never answers the close frame that 'timeout' sends.
    await raw.closed;
    expect(Date.now() - started).toBeLessThan(100 + 1_000 + 1_500);
    expect(a.recorder.rejects().map((r) => r.reason)).toEqual(['timeout']);
  });

  it('refuses upgrades past the per-address cap with 503, and an honest peer from another address still connects', async () => {
    const a = await startNode('a', { maxPendingHandshakesPerAddress: 4 });
    const b = await startNode('b');
    const attempts = await Promise.all(Array.from({ length: 7 }, () => rawUpgrade(a.address, { localAddress: '127.0.0.2' })));
    for (const r of attempts) track(r.socket);
    expect(attempts.map((r) => r.status).sort()).toEqual([101, 101, 101, 101, 503, 503, 503]);
    expect(a.recorder.rejects()).toEqual(
      Array(3).fill({ who: expect.stringMatching(/^127\.0\.0\.2:\d+$/), reason: 'too-many-handshakes-per-address', detail: expect.stringContaining('127.0.0.2') }),
    );
    // The four silent sockets still hold their slots; b dials from 127.0.0.1.
    b.transport.connect(a.address);
    await waitFor(() => a.transport.peers().length === 1 && b.transport.peers().length === 1);
    expect(attempts.filter((r) => r.status === 101 && !r.socket.destroyed)).toHaveLength(4);
  });

  it('past the global cap, cuts the oldest socket of the heaviest address to admit a newcomer, and refuses one from that address', async () => {
    const a = await startNode('a', { maxPendingHandshakes: 3 });
    const held: RawUpgrade[] = [];
    for (const localAddress of ['127.0.0.2', '127.0.0.3', '127.0.0.3']) {
      held.push(await rawUpgrade(a.address, { localAddress })); // one by one: held[1] is the oldest from 127.0.0.3
      track(held[held.length - 1].socket);
    }
    expect(held.map((r) => r.status)).toEqual([101, 101, 101]);
    // Full: another from 127.0.0.3, which holds the most, is refused…
    const refused = await rawUpgrade(a.address, { localAddress: '127.0.0.3' });
    track(refused.socket);
    expect(refused.status).toBe(503);
    // …and one from a fresh address is admitted, the oldest socket of 127.0.0.3 cut to make room.
    const newcomer = await rawUpgrade(a.address, { localAddress: '127.0.0.5' });
    track(newcomer.socket);
    expect(newcomer.status).toBe(101);
    await held[1].closed;
    expect([held[0], held[2]].map((r) => r.socket.readableEnded || r.socket.destroyed)).toEqual([false, false]);
    expect(a.recorder.rejects()).toEqual([
      { who: expect.stringMatching(/^127\.0\.0\.3:\d+$/), reason: 'too-many-handshakes', detail: expect.any(String) },
      { who: expect.stringMatching(/^127\.0\.0\.3:\d+$/), reason: 'handshake-evicted', detail: expect.stringContaining('evicted to admit 127.0.0.5') },
    ]);
  });

  it('lets through a dialer whose AUTH and a large first frame arrive in one read', async () => {
    const a = await startNode('a');
    const raw = await rawUpgrade(a.address);
    track(raw.socket);
    const frames = serverFrames(raw.socket, raw.head);
    const nonce = createNonce();
    raw.socket.write(maskedFrame(encodeFrame({ type: FrameType.HELLO, hlc: 0, body: { nodeId: 'x', address: '', incarnation: 'x-1', nonce } })));
    await waitFor(() => frames.length >= 2);
    const hello = decodeFrame(frames[0]);
    if (hello.type !== FrameType.HELLO) throw new Error('expected the listener HELLO');
    const mac = computeMac(SECRET, 'dialer', nonce, hello.body.nonce, 'x', hello.body.nodeId);
    const auth = maskedFrame(encodeFrame({ type: FrameType.AUTH, hlc: 0, body: { mac } }));
    const big = maskedFrame(encodeFrame(bulkyDelta(1, 200 * 1024)));
    expect(big.length).toBeGreaterThan(50 * MAX_HANDSHAKE_FRAME_BYTES);
    raw.socket.write(Buffer.concat([auth, big]));
    await waitFor(() => a.recorder.frames('x').length === 1);
    expect(a.recorder.rejects()).toEqual([]);
    expect(a.transport.peers().map((p) => p.nodeId)).toEqual(['x']);
  });

  it('holds the dialing side to the same bound: a listener that answers with a huge frame is cut', async () => {
    const a = await startNode('a');
    let cut = 0;
    const listener = await rawListener((socket) => {
      socket.once('close', () => cut++);
      socket.write(Buffer.concat([frameHeader(4 * 1024 * 1024 - 1024, 0x2, true, false), Buffer.alloc(32 * 1024)]));
    });
    cleanups.push(() => listener.close());
    a.transport.connect(listener.address);
    await waitFor(() => a.recorder.rejects().length > 0 && cut > 0);
    expect(a.recorder.rejects()[0]).toEqual({ who: listener.address, reason: 'too-large', detail: expect.stringContaining('before AUTH') });
    a.transport.forget(listener.address);
  });
});
