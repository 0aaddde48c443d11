/**
 * Fuzzes the replication state machine with a hostile peer that knows the
 * secret.
 *
 * 1. Simulated network: meshes a, b, c and an attacker x (a bare transport
 *    with the secret). x sends a mutated frames through the real link —
 *    replays of captured frames, structurally mutated frames that pass the
 *    decoder, and post-handshake HELLO/AUTH. No handler may throw; the
 *    honest nodes keep converging on keys of their own throughout.
 * 2. Real WebSockets on 127.0.0.1: the attacker completes the handshake on a
 *    raw socket to node A and sends raw mutated bytes. A frame the decoder
 *    refuses must close that socket with the reason's close code (4002–4005),
 *    while A's link to its honest peer B stays up and replicates.
 */
import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMesh, type Mesh } from '../../src/mesh/mesh.js';
import { decodeFrame, encodeFrame, FrameError } from '../../transport/codec/codec.js';
import { FrameType, type Frame } from '../../transport/codec/frame.js';
import { computeMac, createNonce } from '../../transport/handshake.js';
import { createPrng } from '../../transport/sim/prng.js';
import { createSimNetwork } from '../../transport/sim/sim-network.js';
import type { TransportHandlers } from '../../transport/transport.js';
import { captureCorpus, LIMITERS, SECRET, simNode } from './corpus.js';
import { heapAfterGc, SCALE, SEED, summary } from './fuzz-env.js';
import { mutateBytes, mutateStructure } from './mutate.js';

const SIM_FRAMES = 60_000 * SCALE;
const SOCKET_FRAMES = 4_000 * SCALE;

/** Decodes or returns the FrameError. */
function tryDecode(bytes: Uint8Array): Frame | FrameError {
  try {
    return decodeFrame(bytes);
  } catch (err) {
    if (err instanceof FrameError) return err;
    throw err;
  }
}

describe(`replication state machine fuzz (seed ${SEED})`, () => {
  let corpus: Uint8Array[] = [];
  beforeAll(async () => {
    corpus = await captureCorpus(SEED + 1);
  });

  it(`takes ${SIM_FRAMES.toLocaleString('en-US')} hostile frames from a peer with the secret without throwing, and the honest nodes keep converging`, async () => {
    const rng = createPrng(SEED);
    const net = createSimNetwork({ seed: SEED, latencyMs: [1, 3] });
    const ids = ['a', 'b', 'c'];
    const nodes: Mesh[] = [];
    for (const id of ids) nodes.push(await simNode(net, id, ids.filter((p) => p !== id)));
    const x = net.addNode('x', { secret: SECRET, incarnation: 'x-1', backoff: { initialMs: 5, maxMs: 20 } });
    let downs = 0;
    const handlers: TransportHandlers = {
      onPeerUp: () => {},
      onPeerDown: () => downs++,
      onFrame: () => {},
      onOverflow: () => {},
      onReject: () => {},
    };
    await x.transport.start(handlers);
    x.transport.connect('sim:a');
    expect(net.runUntil(() => x.transport.peers().some((p) => p.nodeId === 'a') && nodes.every((m) => m.ready), 5_000)).toBe(true);

    const failures: string[] = [];
    let sent = 0;
    let refusedByDecoder = 0;
    let checks = 0;
    let heapStart = 0;
    const t0 = Date.now();
    for (let i = 0; i < SIM_FRAMES; i++) {
      if (i === Math.floor(SIM_FRAMES / 10)) heapStart = heapAfterGc();
      if (i % 5_000 === 4_999) {
        // Others unaffected: an honest hit on b reaches a and c.
        checks++;
        const key = `honest:${i}`;
        nodes[1].get('api')!.consume(key, 2);
        net.advance(200);
        const counts = nodes.map((m) => Math.round(m.get('api')!.count(key)));
        if (!isDeepStrictEqual(counts, [2, 2, 2]) && failures.length < 10) failures.push(`honest key ${key}: ${counts.join(',')}`);
        if (!x.transport.peers().some((p) => p.nodeId === 'a')) net.runUntil(() => x.transport.peers().some((p) => p.nodeId === 'a'), 2_000);
      }
      const base = corpus[rng.int(corpus.length)];
      const r = rng.next();
      const bytes = r < 0.2 ? base : r < 0.9 ? (mutateStructure(base, rng) ?? base) : mutateBytes(base, rng, corpus);
      const decoded = tryDecode(bytes);
      if (decoded instanceof FrameError) {
        refusedByDecoder++; // the socket half below feeds these to a real link
        continue;
      }
      // Through x's real link: encoded, "sent", decoded and handled by a's link and replicator.
      if (x.transport.send('a', decoded)) sent++;
      if (i % 50 === 0) net.advance(1 + rng.int(20));
    }
    net.advance(2_000);
    const growth = heapAfterGc() - heapStart;
    const a = nodes[0].cluster();
    const rejected = a.peers.find((p) => p.nodeId === 'x')?.rejected ?? {};
    summary('replication-sim', {
      frames: SIM_FRAMES,
      deliveredToA: sent,
      refusedByDecoder,
      attackerLinkResets: downs,
      honestChecks: checks,
      rejectedAtA: rejected,
      keysAtA: a.limiters.map((l) => `${l.name}:${l.keys}`).join(' '),
      heapGrowthMb: growth / 2 ** 20,
      seconds: (Date.now() - t0) / 1000,
    });
    expect(failures, failures.join('\n')).toEqual([]);
    expect(sent).toBeGreaterThan(SIM_FRAMES / 5);
    expect(checks).toBeGreaterThanOrEqual(10);
    // Keys a hostile peer creates are bounded by maxKeys and expire with their window; the heap stays bounded.
    expect(growth).toBeLessThan(256 * 2 ** 20);
    for (const m of nodes) await m.close();
  });

  it(`closes a socket peer that sends undecodable frames (${SOCKET_FRAMES.toLocaleString('en-US')} frames) and keeps its honest peer`, async () => {
    const rng = createPrng(SEED + 2);
    const A = await createMesh({ nodeId: 'A', port: 0, secret: SECRET, suspectAfterMs: 1_000 });
    const B = await createMesh({ nodeId: 'B', port: 0, secret: SECRET, peers: [A.address()] });
    for (const m of [A, B]) for (const l of LIMITERS) m.limiter(l);
    await Promise.all([A.whenReady(), B.whenReady()]);
    const honestDowns: string[] = [];
    A.on('peer', (e: { nodeId: string; state: string; reason: string }) => {
      if (e.nodeId === 'B' && e.state === 'down') honestDowns.push(e.reason);
    });

    const failures: string[] = [];
    const closeCodes: Record<string, number> = {};
    let frames = 0;
    let connections = 0;
    const heapStart = heapAfterGc();
    const t0 = Date.now();
    while (frames < SOCKET_FRAMES && Date.now() - t0 < 200_000) {
      connections++;
      const ws = await handshake(A.address(), `x${connections}`);
      if (ws === null) {
        failures.push(`handshake ${connections} failed`);
        break;
      }
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      // Send frames until one the decoder refuses: that one must close the socket.
      let expectClose = false;
      for (let k = 0; k < 50 && !expectClose && frames < SOCKET_FRAMES; k++) {
        const base = corpus[rng.int(corpus.length)];
        const r = rng.next();
        const bytes = r < 0.5 ? mutateBytes(base, rng, corpus) : r < 0.95 ? (mutateStructure(base, rng) ?? base) : new Uint8Array(rng.int(64));
        const decoded = tryDecode(bytes);
        expectClose =
          decoded instanceof FrameError || decoded.type === FrameType.HELLO || decoded.type === FrameType.AUTH;
        ws.send(bytes, { binary: true });
        frames++;
      }
      if (expectClose) {
        const result = await Promise.race([closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 3_000))]);
        if (result === null) {
          if (failures.length < 10) failures.push(`connection ${connections}: not closed after an invalid frame`);
          ws.terminate();
        } else {
          closeCodes[result.code] = (closeCodes[result.code] ?? 0) + 1;
          if ((result.code < 4001 || result.code > 4009) && failures.length < 10) {
            failures.push(`connection ${connections}: closed with ${result.code} ${result.reason}`);
          }
        }
      } else {
        ws.terminate();
        await closed;
      }
    }
    // A few peers without the secret: refused with 'auth' (4001), never a peer.
    for (let i = 0; i < 5; i++) {
      const ws = await handshake(A.address(), `intruder${i}`, 'not-the-cluster-secret');
      if (ws !== null) failures.push('a handshake with the wrong secret completed');
    }
    // The honest peer never noticed, and still replicates both ways.
    B.get('api')!.consume('after-fuzz', 3);
    A.get('api')!.consume('after-fuzz', 4);
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && [A, B].some((m) => Math.round(m.get('api')!.count('after-fuzz')) !== 7)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const growth = heapAfterGc() - heapStart;
    summary('replication-socket', {
      frames,
      connections,
      closeCodes,
      honestPeerDowns: honestDowns.length,
      peersKnownByA: A.cluster().peers.length,
      heapGrowthMb: growth / 2 ** 20,
      seconds: (Date.now() - t0) / 1000,
    });
    expect(failures, failures.join('\n')).toEqual([]);
    expect(honestDowns).toEqual([]);
    expect([A, B].map((m) => Math.round(m.get('api')!.count('after-fuzz')))).toEqual([7, 7]);
    expect(A.cluster().peers.filter((p) => p.state === 'live').map((p) => p.nodeId)).toContain('B');
    expect(growth).toBeLessThan(128 * 2 ** 20);
    await B.close();
    await A.close();
  });
});

/**
 * Dials `address` as node `nodeId` and runs the dialer's side of the
 * handshake by hand. Resolves with the open socket, or null when the
 * listener refused (wrong secret) or did not answer.
 */
async function handshake(address: string, nodeId: string, secret = SECRET): Promise<WebSocket | null> {
  const ws = new WebSocket(`ws://${address}/v1/mesh`);
  const nonce = createNonce();
  return new Promise((resolve) => {
    let listener: { nodeId: string; nonce: Uint8Array } | null = null;
    let timer = setTimeout(() => done(null), 3_000);
    const done = (value: WebSocket | null): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      if (value === null) ws.terminate();
      resolve(value);
    };
    const onMessage = (data: Buffer): void => {
      let frame: Frame;
      try {
        frame = decodeFrame(new Uint8Array(data));
      } catch {
        done(null);
        return;
      }
      if (frame.type === FrameType.HELLO) listener = { nodeId: frame.body.nodeId, nonce: frame.body.nonce };
      else if (frame.type === FrameType.AUTH && listener !== null) {
        const mac = computeMac(secret, 'dialer', nonce, listener.nonce, nodeId, listener.nodeId);
        ws.send(encodeFrame({ type: FrameType.AUTH, hlc: 0, body: { mac } }), { binary: true });
        if (secret === SECRET) done(ws);
        else {
          // A wrong proof must be answered by a close (the 'close' handler resolves null);
          // a socket still open when the timer fires was accepted.
          clearTimeout(timer);
          timer = setTimeout(() => done(ws), 3_000);
        }
      }
    };
    ws.on('message', onMessage);
    ws.once('error', () => done(null));
    ws.once('close', () => done(null));
    ws.once('open', () => {
      ws.send(encodeFrame({ type: FrameType.HELLO, hlc: 0, body: { nodeId, address: '', incarnation: `${nodeId}-fuzz`, nonce } }), { binary: true });
    });
  });
}
