/**
 * A corpus of real frames for the fuzzers: three mesh nodes on the simulated
 * network run a small workload (hits, a partition that forces digests and
 * repairs, a reset, a limit change, a goodbye) while every frame the
 * replicators send is captured with `encodeFrame`. HELLO and AUTH, which the
 * link sends before the replicator exists, are built the same way.
 */
import type { Mesh } from '../../src/mesh/mesh.js';
import { FAST_INTERVALS, simNode as startSimNode } from '../helpers/sim-mesh.js';
import { encodeFrame } from '../../transport/codec/codec.js';
import { FrameType, type Frame } from '../../transport/codec/frame.js';
import { computeMac, createNonce } from '../../transport/handshake.js';
import { createSimNetwork, type SimNetwork } from '../../transport/sim/sim-network.js';
import type { Transport } from '../../transport/transport.js';

export const SECRET = 'fuzz-cluster-secret-0123456789';
export const LIMITERS = [
  { name: 'api', limit: 1_000, windowMs: 10_000 },
  { name: 'small', limit: 5, windowMs: 2_000 },
];

/** A Transport that hands a copy of every frame it sends to `sink`. */
export function capturing(t: Transport, sink: (frame: Frame) => void): Transport {
  return {
    get nodeId() {
      return t.nodeId;
    },
    start: (handlers) => t.start(handlers),
    address: () => t.address(),
    connect: (address) => t.connect(address),
    forget: (address) => t.forget(address),
    send: (nodeId, frame) => {
      sink(frame);
      return t.send(nodeId, frame);
    },
    disconnect: (nodeId, reason) => t.disconnect(nodeId, reason),
    peers: () => t.peers(),
    stats: (nodeId) => t.stats(nodeId),
    close: () => t.close(),
  };
}

/** Starts mesh `id` on `net` with the fuzz limiters; `sink` sees every frame it sends. */
export function simNode(net: SimNetwork, id: string, peers: string[], sink?: (frame: Frame) => void): Promise<Mesh> {
  return startSimNode(net, id, peers, {
    ...FAST_INTERVALS,
    secret: SECRET,
    limiters: [...LIMITERS],
    wrap: sink === undefined ? undefined : (transport) => capturing(transport, sink),
  });
}

/** Captures the encoded frames of a short, eventful simulated run. */
export async function captureCorpus(seed = 1): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  const seen = new Set<string>();
  const sink = (frame: Frame): void => {
    const bytes = encodeFrame(frame);
    const key = Buffer.from(bytes).toString('base64');
    if (!seen.has(key) && frames.length < 4_000) {
      seen.add(key);
      frames.push(bytes);
    }
  };
  const net = createSimNetwork({ seed, latencyMs: [1, 4] });
  const ids = ['a', 'b', 'c'];
  const nodes: Mesh[] = [];
  for (const id of ids) nodes.push(await simNode(net, id, ids.filter((p) => p !== id), sink));
  net.advance(1_000);
  for (let round = 0; round < 20; round++) {
    for (const [i, m] of nodes.entries()) {
      m.get('api')!.consume(`user:${(round * 7 + i) % 13}`, 1 + (round % 3));
      m.get('small')!.consume(`k${round % 4}`);
    }
    net.advance(25);
  }
  net.partition(['c'], ['a', 'b']);
  for (let round = 0; round < 10; round++) {
    nodes[round % 3].get('api')!.consume(`p:${round}`, 2);
    net.advance(60);
  }
  nodes[0].get('api')!.reset('user:1');
  nodes[1].get('small')!.setLimit(7);
  net.advance(500);
  net.heal();
  net.advance(1_500);
  // A cut shorter than suspectAfterMs loses deltas without a catch-up: digests differ, then REPAIR.
  for (let round = 0; round < 3; round++) {
    net.cut('a', 'b');
    nodes[0].get('api')!.consume(`lost:${round}`, 3);
    net.advance(150);
    net.restore('a', 'b');
    net.advance(450);
  }
  // Repairs start once a shard differed two digest rounds in a row and the
  // lost cells' bucket entered the digest range (two buckets back).
  net.advance(3_000);
  await nodes[2].close();
  net.advance(200);

  // Handshake frames, built as a link would.
  const dialerNonce = createNonce();
  const listenerNonce = createNonce();
  const hello = (nodeId: string, nonce: Uint8Array): Frame => ({
    type: FrameType.HELLO,
    hlc: 0,
    body: { nodeId, address: `sim:${nodeId}`, incarnation: `${nodeId}-1`, nonce },
  });
  frames.push(encodeFrame(hello('a', dialerNonce)), encodeFrame(hello('b', listenerNonce)));
  frames.push(encodeFrame({ type: FrameType.AUTH, hlc: 0, body: { mac: computeMac(SECRET, 'dialer', dialerNonce, listenerNonce, 'a', 'b') } }));
  frames.push(encodeFrame({ type: FrameType.SYNC, hlc: 1, body: {} }));
  frames.push(encodeFrame({ type: FrameType.BYE, hlc: 1, body: { reason: 'shutdown' } }));
  return frames;
}

/** Frame type (second array element) of an encoded frame, for coverage figures; -1 if unknown. */
export function typeOf(bytes: Uint8Array): number {
  // [version, type, hlc, physicalMs, body]: a fixarray of 5 (0x95), version (positive fixint), type (positive fixint).
  return bytes.length >= 3 && bytes[0] === 0x95 && bytes[2] < 0x80 ? bytes[2] : -1;
}
