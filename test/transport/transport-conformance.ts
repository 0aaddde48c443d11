/**
 * The one behaviour suite every Transport implementation must pass (hono's
 * `common.case.test.ts` pattern). `sim-network.test.ts` runs it on virtual
 * time; `ws-transport.integration.test.ts` on real sockets.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../transport/codec/codec.js';
import type { Transport } from '../../transport/transport.js';
import { bulkyDelta, deltaFrame, pingFrame } from './codec/frames.js';
import { Recorder } from './recorder.js';

/** A started transport, the handlers' record, and the incarnation it was given. */
export interface HarnessNode {
  transport: Transport;
  recorder: Recorder;
  incarnation: string;
}

/** What the suite needs from an implementation. */
export interface TransportHarness {
  /** Create and start a node (secret 's' unless given). */
  spawn(nodeId: string, options?: { secret?: string; maxFrameBytes?: number }): Promise<HarnessNode>;
  /** Let time pass until `predicate` holds; throw naming `what` if it never does. */
  waitFor(predicate: () => boolean, what: string): Promise<void>;
  /**
   * For checks that something does NOT happen: watch the state for `ms`
   * (virtual or real) and throw naming `what` the moment `predicate` holds.
   */
  never(predicate: () => boolean, ms: number, what: string): Promise<void>;
  /** An address nothing listens on (a dial to it is refused). */
  deadAddress(): Promise<string>;
  /** Close everything the harness opened. */
  dispose(): Promise<void>;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const linkCount = (node: HarnessNode): number => node.transport.peers().length;
const netUps = (node: HarnessNode): number => node.recorder.ups().length - node.recorder.downs().length;

/**
 * Register the conformance tests for one implementation.
 *
 * @example
 * ```ts
 * describeTransportConformance('sim network', () => simHarness(1));
 * ```
 */
export function describeTransportConformance(name: string, factory: () => TransportHarness | Promise<TransportHarness>): void {
  describe(`Transport conformance: ${name}`, () => {
    let h: TransportHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.dispose();
    });

    async function linkedPair(options: { maxFrameBytes?: number } = {}): Promise<{ a: HarnessNode; b: HarnessNode }> {
      const a = await h.spawn('a', options);
      const b = await h.spawn('b', options);
      a.transport.connect(b.transport.address());
      await h.waitFor(() => linkCount(a) === 1 && linkCount(b) === 1, 'a and b to link up');
      return { a, b };
    }

    it('connects two nodes that then exchange frames both ways, in send order', async () => {
      const { a, b } = await linkedPair();
      for (const i of range(1, 50)) {
        expect(a.transport.send('b', deltaFrame(i))).toBe(true);
        expect(b.transport.send('a', deltaFrame(1_000 + i))).toBe(true);
      }
      await h.waitFor(() => b.recorder.frames('a').length === 50 && a.recorder.frames('b').length === 50, '50 frames each way');
      expect(b.recorder.frames('a')).toEqual(range(1, 50).map((i) => deltaFrame(i)));
      expect(a.recorder.frames('b')).toEqual(range(1_001, 1_050).map((i) => deltaFrame(i)));
    });

    it('reports each peer up with its identity, and down when it closes', async () => {
      const { a, b } = await linkedPair();
      expect(a.recorder.ups()).toEqual([{ nodeId: 'b', address: b.transport.address(), incarnation: b.incarnation }]);
      expect(b.recorder.ups()).toEqual([{ nodeId: 'a', address: a.transport.address(), incarnation: a.incarnation }]);
      expect(a.transport.peers()).toEqual(a.recorder.ups());
      await b.transport.close();
      await h.waitFor(() => a.recorder.downs().length === 1, 'a to see b go down');
      expect(a.recorder.downs()).toEqual([{ nodeId: 'b', reason: 'shutdown' }]);
      expect(b.recorder.downs()).toEqual([{ nodeId: 'a', reason: 'shutdown' }]);
      expect(a.transport.peers()).toEqual([]);
    });

    it('refuses a peer with another secret on both sides and delivers nothing', async () => {
      const a = await h.spawn('a', { secret: 'one' });
      const b = await h.spawn('b', { secret: 'two' });
      a.transport.connect(b.transport.address());
      const refused = (node: HarnessNode): boolean => node.recorder.rejects().some((r) => r.reason === 'auth');
      await h.waitFor(() => refused(a) && refused(b), "'auth' refusals on both sides");
      expect(a.transport.send('b', pingFrame())).toBe(false);
      // The dialer keeps trying: wait for its next attempt to be refused on both sides as well.
      const refusals = (node: HarnessNode): number => node.recorder.rejects().filter((r) => r.reason === 'auth').length;
      const [firstA, firstB] = [refusals(a), refusals(b)];
      await h.waitFor(() => refusals(a) > firstA && refusals(b) > firstB, "a redial's 'auth' refusals on both sides");
      for (const node of [a, b]) {
        // Besides the refusals, only the dialer's failed dials: no link, no frame.
        expect(node.recorder.events.filter((e) => e.kind !== 'reject' && e.kind !== 'dial')).toEqual([]);
        expect(new Set(node.recorder.rejects().map((r) => r.reason))).toEqual(new Set(['auth']));
        expect(node.transport.peers()).toEqual([]);
      }
      expect(b.recorder.dials()).toEqual([]);
      expect(a.recorder.dials().every((r) => !r.ok && r.reason === 'handshake')).toBe(true);
    });

    it('refuses to connect to itself, on both ends of the link, and stops dialing that address', async () => {
      const a = await h.spawn('a');
      a.transport.connect(a.transport.address());
      const selfRefusals = (): number => a.recorder.rejects().filter((r) => r.reason === 'self').length;
      await h.waitFor(() => selfRefusals() === 2, "'self' refusals by the dialing and the listening end");
      await h.never(() => selfRefusals() > 2 || a.recorder.ups().length > 0, 1_000, 'a redial of its own address');
      expect(selfRefusals()).toBe(2);
      expect(a.recorder.ups()).toEqual([]);
      expect(a.transport.peers()).toEqual([]);
    });

    it('ends with exactly one link when two nodes dial each other at once', async () => {
      const a = await h.spawn('a');
      const b = await h.spawn('b');
      a.transport.connect(b.transport.address());
      b.transport.connect(a.transport.address());
      await h.waitFor(() => linkCount(a) === 1 && linkCount(b) === 1, 'a link between a and b');
      // A replaced link reports down then up in one step, so a swap keeps these counts; a second link does not.
      const notOne = (): boolean => linkCount(a) !== 1 || linkCount(b) !== 1 || netUps(a) !== 1 || netUps(b) !== 1;
      await h.never(notOne, 1_500, 'other than exactly one link');
      expect([linkCount(a), linkCount(b)]).toEqual([1, 1]);
      expect([netUps(a), netUps(b)]).toEqual([1, 1]);
      expect(a.transport.send('b', deltaFrame(1))).toBe(true);
      expect(b.transport.send('a', deltaFrame(2))).toBe(true);
      await h.waitFor(() => b.recorder.frames('a').length === 1 && a.recorder.frames('b').length === 1, 'a frame each way');
    });

    it('fires onPeerDown on disconnect() and reconnects by itself', async () => {
      const { a, b } = await linkedPair();
      a.transport.disconnect('b', 'test-kick');
      await h.waitFor(() => a.recorder.downs().length === 1 && b.recorder.downs().length === 1, 'down on both sides');
      expect(a.recorder.downs()).toEqual([{ nodeId: 'b', reason: 'test-kick' }]);
      expect(b.recorder.downs()).toEqual([{ nodeId: 'a', reason: 'test-kick' }]);
      await h.waitFor(() => netUps(a) === 1 && netUps(b) === 1 && linkCount(a) === 1, 'the dialer to reconnect');
      // The listening side kicking works the same way: the dialer comes back.
      b.transport.disconnect('a', 'test-kick-back');
      await h.waitFor(() => a.recorder.ups().length === 3 && netUps(a) === 1 && netUps(b) === 1, 'a second reconnect');
      expect(a.transport.send('b', deltaFrame(7))).toBe(true);
      await h.waitFor(() => b.recorder.frames('a').length === 1, 'a frame after reconnecting');
    });

    it('stops redialing an address after forget()', async () => {
      const { a, b } = await linkedPair();
      a.transport.forget(b.transport.address());
      a.transport.disconnect('b', 'bye');
      await h.waitFor(() => a.recorder.downs().length === 1, 'a to drop b');
      await h.never(() => a.transport.peers().length > 0 || a.recorder.ups().length > 1, 1_000, 'a redial of the forgotten address');
      expect(a.transport.peers()).toEqual([]);
      expect(a.recorder.ups()).toHaveLength(1);
    });

    it('returns false for an unknown peer or a frame above maxFrameBytes, and keeps the link', async () => {
      const { a, b } = await linkedPair({ maxFrameBytes: 4_096 });
      expect(a.transport.send('nobody', pingFrame())).toBe(false);
      expect(a.transport.send('b', bulkyDelta(1, 8_192))).toBe(false);
      expect(a.transport.send('b', deltaFrame(2))).toBe(true);
      await h.waitFor(() => b.recorder.frames('a').length === 1, 'the frame that fits');
      expect(b.recorder.frames('a')).toEqual([deltaFrame(2)]);
      expect(linkCount(a)).toBe(1);
    });

    it('closes idempotently, reporting its peers down and refusing work afterwards', async () => {
      const { a, b } = await linkedPair();
      await Promise.all([a.transport.close(), a.transport.close()]);
      await a.transport.close();
      expect(a.recorder.downs()).toEqual([{ nodeId: 'b', reason: 'shutdown' }]);
      expect(a.transport.peers()).toEqual([]);
      expect(a.transport.send('b', pingFrame())).toBe(false);
      await h.waitFor(() => b.recorder.downs().length === 1, 'b to see a go down');
      expect(b.recorder.downs()).toEqual([{ nodeId: 'a', reason: 'shutdown' }]);
      await h.never(() => b.transport.peers().length > 0 || b.recorder.ups().length > 1, 500, 'a link to the closed node');
      expect(b.transport.peers()).toEqual([]);
    });

    it('counts frames and bytes per peer, and zeros for an unknown peer', async () => {
      const { a, b } = await linkedPair();
      const zeros = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, queuedBytes: 0, framesDropped: 0 };
      expect(a.transport.stats('nobody')).toEqual(zeros);
      const frames = range(1, 10).map((i) => deltaFrame(i));
      const bytes = frames.reduce((sum, f) => sum + encodeFrame(f).length, 0);
      for (const frame of frames) a.transport.send('b', frame);
      await h.waitFor(() => b.recorder.frames('a').length === 10, 'ten frames');
      expect(a.transport.stats('b')).toEqual({ ...zeros, framesOut: 10, bytesOut: bytes });
      expect(b.transport.stats('a')).toEqual({ ...zeros, framesIn: 10, bytesIn: bytes });
    });

    it('reports each dial: authenticated with the node id, or refused where nothing listens, and keeps redialing', async () => {
      const { a, b } = await linkedPair();
      expect(a.recorder.dials(b.transport.address())).toEqual([{ ok: true, nodeId: 'b' }]);
      const address = await h.deadAddress();
      a.transport.connect(address);
      // Redialed with backoff: every attempt is reported.
      await h.waitFor(() => a.recorder.dials(address).length >= 2, 'two failed dials');
      for (const r of a.recorder.dials(address)) expect(r).toMatchObject({ ok: false, reason: 'refused' });
      expect((a.recorder.dials(address)[0] as { detail: string }).detail).not.toBe('');
    });

    it('reports a dial whose handshake fails (another secret) as a handshake failure', async () => {
      const a = await h.spawn('a', { secret: 'one' });
      const b = await h.spawn('b', { secret: 'two' });
      a.transport.connect(b.transport.address());
      await h.waitFor(() => a.recorder.dials().length >= 1, 'a failed dial');
      expect(a.recorder.dials()[0]).toMatchObject({ ok: false, reason: 'handshake' });
      expect((a.recorder.dials()[0] as { detail: string }).detail).toContain('auth');
    });
  });
}
