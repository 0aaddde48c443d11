/**
 * Slow receivers for integration tests. {@link startPausableProxy} is a TCP
 * relay on 127.0.0.1 port 0 in front of a node whose reading from the dialing
 * side can be paused: the node behind it then looks like a peer that stopped
 * reading, and the dialer's socket (kernel buffer, then `bufferedAmount`,
 * then its send queue) backs up. {@link fillSendQueue} admits hits until
 * frames wait in that queue.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Mesh } from '../../src/mesh/mesh.js';

/** Keys per round of {@link fillSendQueue}; the queue fills after some tens of rounds on loopback. */
const KEYS_PER_ROUND = 4_000;
const MAX_ROUNDS = 250;

/**
 * Admits one hit on each of many new keys through `admit` (the caller keeps
 * its own log of them), flushing after each round, until frames wait in
 * `mesh`'s send queue for `peerId` (its link must be stalled). Throws when it
 * never fills.
 */
export async function fillSendQueue(mesh: Mesh, peerId: string, admit: (key: string) => void): Promise<number> {
  const queued = (): number => mesh.cluster().peers.find((p) => p.nodeId === peerId)?.queuedBytes ?? 0;
  for (let round = 0; queued() === 0; round++) {
    if (round === MAX_ROUNDS) throw new Error(`send queue to ${peerId} still empty after ${MAX_ROUNDS * KEYS_PER_ROUND} keys`);
    for (let i = 0; i < KEYS_PER_ROUND; i++) admit(`bulk:${round}:${i}`);
    mesh.flush();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return queued();
}

export interface PausableProxy {
  /** `127.0.0.1:port` to dial instead of the target. */
  readonly address: string;
  /** Stop reading what dialers send (what the target sends still flows back). */
  pause(): void;
  /** Read (and forward) again. */
  resume(): void;
  close(): Promise<void>;
}

export async function startPausableProxy(target: string): Promise<PausableProxy> {
  const colon = target.lastIndexOf(':');
  const host = target.slice(0, colon);
  const port = Number(target.slice(colon + 1));
  const sockets = new Set<net.Socket>();
  const inbound = new Set<net.Socket>();
  let paused = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.once('close', () => sockets.delete(s));
    }
    inbound.add(client);
    client.once('close', () => inbound.delete(client));
    // No pipe(): pipe() resumes its source on 'drain', and a paused relay must stay paused.
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    client.once('end', () => upstream.end());
    upstream.once('end', () => client.end());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    if (paused) client.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    pause() {
      paused = true;
      for (const s of inbound) s.pause();
    },
    resume() {
      paused = false;
      for (const s of inbound) s.resume();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
