import fc from 'fast-check';
import { fcParams } from '../helpers/fc.js';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../transport/codec/codec.js';
import { FrameType } from '../../transport/codec/frame.js';
import type { Frame } from '../../transport/codec/frame.js';
import { computeMac, verifyMac } from '../../transport/handshake.js';
import type { Conduit, Link } from '../../transport/link.js';
import { backoffDelay, chooseLink, LinkManager } from '../../transport/link-manager.js';
import type { DialAttempt, LinkIdentity } from '../../transport/link-manager.js';
import { createNodeClock, SimClock } from '../../transport/sim/sim-clock.js';
import { deltaFrame, pingFrame } from './codec/frames.js';
import { Recorder } from './recorder.js';

/** A conduit that decodes what the link writes and remembers how it was closed. */
class FakeConduit implements Conduit {
  readonly remote = '10.0.0.9:4000';
  written: Frame[] = [];
  closedWith: string | null = null;
  write(bytes: Uint8Array): boolean {
    if (this.closedWith !== null) return false;
    this.written.push(decodeFrame(bytes));
    return true;
  }
  close(reason: string): void {
    this.closedWith ??= reason;
  }
  queuedBytes(): number {
    return 0;
  }
}

const nonceOf = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);

function setup(options: { secret?: string; random?: () => number } = {}) {
  const clock = new SimClock(0);
  const { scheduler } = createNodeClock(clock, () => 0);
  const recorder = new Recorder();
  const dials: Array<{ at: number; attempt: DialAttempt }> = [];
  let nonces = 0;
  const manager = new LinkManager({
    nodeId: 'm',
    incarnation: 'm1',
    secret: options.secret ?? 'k',
    address: () => '10.0.0.1:7070',
    scheduler,
    random: options.random ?? (() => 0.5),
    nonce: () => nonceOf(0xa0 + (nonces++ % 16)),
    backoff: { initialMs: 100, maxMs: 5_000 },
    maxFrameBytes: 65_536,
    handshakeTimeoutMs: 5_000,
    dial: (attempt) => dials.push({ at: clock.now(), attempt }),
  });
  manager.start(recorder.handlers);
  return { clock, manager, recorder, dials };
}

const send = (link: Link, frame: Frame): void => link.receive(encodeFrame(frame));

const hello = (nodeId: string, nonce: Uint8Array, incarnation = `${nodeId}1`): Frame => ({
  type: FrameType.HELLO,
  hlc: 0,
  body: { nodeId, address: `${nodeId}.example:7070`, incarnation, nonce },
});

/** Play the dialer `peer` against the manager's listener link up to (not including) the AUTH. */
function dialIn(manager: LinkManager, peer: string, nonce: Uint8Array, incarnation?: string) {
  const conduit = new FakeConduit();
  const link = manager.accept(conduit) as Link;
  send(link, hello(peer, nonce, incarnation));
  const listenerNonce = conduit.written[0]?.type === FrameType.HELLO ? conduit.written[0].body.nonce : new Uint8Array(32);
  const auth = (secret = 'k'): void =>
    send(link, { type: FrameType.AUTH, hlc: 0, body: { mac: computeMac(secret, 'dialer', nonce, listenerNonce, peer, 'm') } });
  return { conduit, link, listenerNonce, auth };
}

describe('LinkManager handshake (listener side)', () => {
  it('answers HELLO with HELLO and a verifiable AUTH, and reports the peer up only after its proof', () => {
    const { manager, recorder } = setup();
    const { conduit, listenerNonce, auth } = dialIn(manager, 'x', nonceOf(1));
    expect(conduit.written.map((f) => f.type)).toEqual([FrameType.HELLO, FrameType.AUTH]);
    const answer = conduit.written[1];
    expect(answer.type === FrameType.AUTH && verifyMac('k', 'listener', nonceOf(1), listenerNonce, 'x', 'm', answer.body.mac)).toBe(true);
    expect(recorder.ups()).toEqual([]);
    auth();
    expect(recorder.ups()).toEqual([{ nodeId: 'x', address: 'x.example:7070', incarnation: 'x1' }]);
    expect(manager.peers().map((p) => p.nodeId)).toEqual(['x']);
  });

  it('delivers frames only after the handshake, with stats', () => {
    const { manager, recorder } = setup();
    const { link, auth } = dialIn(manager, 'x', nonceOf(1));
    auth();
    const bytes = encodeFrame(deltaFrame(3));
    link.receive(bytes);
    expect(recorder.frames('x')).toEqual([deltaFrame(3)]);
    expect(manager.stats('x')).toMatchObject({ framesIn: 1, bytesIn: bytes.length });
  });

  it("refuses a frame before HELLO with 'unexpected' and closes", () => {
    const { manager, recorder } = setup();
    const conduit = new FakeConduit();
    const link = manager.accept(conduit) as Link;
    send(link, pingFrame());
    expect(recorder.rejects()).toEqual([{ who: '10.0.0.9:4000', reason: 'unexpected', detail: 'PING before HELLO' }]);
    expect(conduit.closedWith).toBe('unexpected');
    expect(link.state).toBe('closed');
  });

  it("refuses a DELTA between HELLO and AUTH with 'unexpected' and delivers nothing", () => {
    const { manager, recorder } = setup();
    const { conduit, link } = dialIn(manager, 'x', nonceOf(1));
    send(link, deltaFrame(1));
    expect(recorder.rejects().map((r) => [r.who, r.reason])).toEqual([['x', 'unexpected']]);
    expect(conduit.closedWith).toBe('unexpected');
    expect(recorder.events.filter((e) => e.kind === 'frame' || e.kind === 'up')).toEqual([]);
  });

  it("refuses a wrong proof with 'auth', closes, and never delivers what follows", () => {
    const { manager, recorder } = setup();
    const { conduit, link, auth } = dialIn(manager, 'x', nonceOf(1));
    auth('wrong secret');
    send(link, deltaFrame(1));
    expect(recorder.rejects().map((r) => r.reason)).toEqual(['auth']);
    expect(conduit.closedWith).toBe('auth');
    expect(recorder.events.filter((e) => e.kind !== 'reject')).toEqual([]);
    expect(manager.send('x', deltaFrame(2))).toBe(false);
  });

  it("times out a connection that does not finish the handshake in 5 s with 'timeout'", () => {
    const { clock, manager, recorder } = setup();
    const { conduit } = dialIn(manager, 'x', nonceOf(1));
    clock.advance(4_999);
    expect(conduit.closedWith).toBeNull();
    clock.advance(1);
    expect(conduit.closedWith).toBe('timeout');
    expect(recorder.rejects().map((r) => r.reason)).toEqual(['timeout']);
  });

  it("refuses a HELLO with its own node id as 'self', after answering with its own HELLO", () => {
    const { manager, recorder } = setup();
    const { conduit } = dialIn(manager, 'm', nonceOf(1));
    expect(conduit.written.map((f) => f.type)).toEqual([FrameType.HELLO]);
    expect(conduit.closedWith).toBe('self');
    expect(recorder.rejects().map((r) => r.reason)).toEqual(['self']);
  });

  it("refuses a HELLO after the handshake with 'unexpected' and reports the peer down", () => {
    const { manager, recorder } = setup();
    const { link, auth } = dialIn(manager, 'x', nonceOf(1));
    auth();
    send(link, hello('x', nonceOf(2)));
    expect(recorder.rejects().map((r) => r.reason)).toEqual(['unexpected']);
    expect(recorder.downs()).toEqual([{ nodeId: 'x', reason: 'unexpected' }]);
  });

  it("refuses a frame above 1 KiB before authentication with 'too-large', without decoding it", () => {
    const { manager, recorder } = setup();
    const link = manager.accept(new FakeConduit()) as Link;
    link.receive(new Uint8Array(1_025)); // decoded, these zeros would be 'malformed'
    expect(recorder.rejects().map((r) => r.reason)).toEqual(['too-large']);
  });

  it("refuses bytes of another protocol version with 'version'", () => {
    const { manager, recorder } = setup();
    const link = manager.accept(new FakeConduit()) as Link;
    link.receive(Uint8Array.of(0x94, 0x07, 0x09, 0x00, 0x90));
    expect(recorder.rejects().map((r) => r.reason)).toEqual(['version']);
  });

  it("reports a peer of another protocol version that closes with 'version' during the handshake, saying why", () => {
    const { manager, recorder } = setup();
    const { link } = dialIn(manager, 'x', nonceOf(1));
    link.remoteClosed('version');
    expect(recorder.rejects()).toEqual([{ who: 'x', reason: 'version', detail: expect.stringMatching(/another protocol version/) }]);
  });

  it("reports a peer that closes with 'auth' during the handshake as an 'auth' refusal", () => {
    const { manager, recorder } = setup();
    const { link } = dialIn(manager, 'x', nonceOf(1));
    link.remoteClosed('auth');
    expect(recorder.rejects()).toEqual([{ who: 'x', reason: 'auth', detail: 'refused by the peer' }]);
  });

  it('refuses handshake frames from its owner', () => {
    const { manager } = setup();
    dialIn(manager, 'x', nonceOf(1)).auth();
    expect(manager.send('x', { type: FrameType.AUTH, hlc: 0, body: { mac: nonceOf(0) } })).toBe(false);
    expect(manager.send('x', pingFrame())).toBe(true);
  });
});

describe('LinkManager duplicate links', () => {
  it('keeps the link with the larger dialer nonce when one node dialed twice, reporting down then up', () => {
    const { manager, recorder } = setup();
    const first = dialIn(manager, 'x', nonceOf(1));
    first.auth();
    const second = dialIn(manager, 'x', nonceOf(2));
    second.auth();
    expect(first.conduit.closedWith).toBe('duplicate');
    expect(second.conduit.closedWith).toBeNull();
    expect(recorder.events.map((e) => e.kind)).toEqual(['up', 'reject', 'down', 'up']);
    expect(manager.peers()).toHaveLength(1);
  });

  it('refuses the newer link when the older one has the larger dialer nonce, without peer events', () => {
    const { manager, recorder } = setup();
    const first = dialIn(manager, 'x', nonceOf(9));
    first.auth();
    const second = dialIn(manager, 'x', nonceOf(2));
    second.auth();
    expect(second.conduit.closedWith).toBe('duplicate');
    expect(first.conduit.closedWith).toBeNull();
    expect(recorder.events.map((e) => e.kind)).toEqual(['up', 'reject']);
  });

  it('replaces the link of an older incarnation of the peer', () => {
    const { manager, recorder } = setup();
    const old = dialIn(manager, 'x', nonceOf(9), 'x-old');
    old.auth();
    const fresh = dialIn(manager, 'x', nonceOf(1), 'x-new');
    fresh.auth();
    expect(old.conduit.closedWith).toBe('restarted');
    expect(recorder.downs()).toEqual([{ nodeId: 'x', reason: 'restarted' }]);
    expect(manager.peers()).toEqual([{ nodeId: 'x', address: 'x.example:7070', incarnation: 'x-new' }]);
  });
});

describe('LinkManager dialing', () => {
  /** Open the pending dial and play the listener `peer`; returns the conduit. */
  function answer(dials: Array<{ attempt: DialAttempt }>, peer: string, secret = 'k') {
    const conduit = new FakeConduit();
    const link = dials[dials.length - 1].attempt.opened(conduit) as Link;
    const dialerHello = conduit.written[0];
    if (dialerHello.type !== FrameType.HELLO) throw new Error('dialer did not start with HELLO');
    const listenerNonce = nonceOf(0x55);
    send(link, hello(peer, listenerNonce));
    if (peer !== 'm') {
      const mac = computeMac(secret, 'listener', dialerHello.body.nonce, listenerNonce, 'm', peer);
      send(link, { type: FrameType.AUTH, hlc: 0, body: { mac } });
    }
    return { conduit, link };
  }

  it('sends HELLO first, verifies the listener, then proves itself', () => {
    const { manager, recorder, dials } = setup();
    manager.connect('x.example:7070');
    manager.connect('x.example:7070'); // idempotent
    expect(dials).toHaveLength(1);
    const { conduit } = answer(dials, 'x');
    expect(conduit.written.map((f) => f.type)).toEqual([FrameType.HELLO, FrameType.AUTH]);
    expect(recorder.ups().map((p) => p.nodeId)).toEqual(['x']);
  });

  it("refuses a listener with the wrong proof as 'auth' and keeps redialing", () => {
    const { clock, manager, recorder, dials } = setup();
    manager.connect('x.example:7070');
    answer(dials, 'x', 'other secret');
    expect(recorder.rejects().map((r) => r.reason)).toEqual(['auth']);
    clock.advance(100);
    expect(dials).toHaveLength(2);
  });

  it('stops redialing an address that turned out to be itself', () => {
    const { clock, manager, recorder, dials } = setup();
    manager.connect('10.0.0.1:7070');
    answer(dials, 'm');
    expect(recorder.rejects().map((r) => r.reason)).toEqual(['self']);
    clock.advance(60_000);
    expect(dials).toHaveLength(1);
  });

  it('redials with capped exponential backoff, and starts over after a success', () => {
    const { clock, manager, dials } = setup({ random: () => 0.999 });
    manager.connect('x.example:7070');
    for (let i = 0; i < 9; i++) {
      dials[dials.length - 1].attempt.failed('refused');
      clock.advance(10_000);
    }
    // Failure i happens at i * 10 s; the next dial follows after the backoff delay.
    const delays = dials.slice(1).map((d, i) => d.at - i * 10_000 - dials[0].at);
    expect(delays).toEqual([99, 199, 399, 799, 1598, 3196, 4995, 4995, 4995]);
    const { link } = answer(dials, 'x');
    const at = clock.now();
    link.remoteClosed('connection lost');
    clock.advance(1_000);
    expect(dials[dials.length - 1].at - at).toBe(99);
  });

  it('stops redialing after forget and ignores a late answer of the abandoned attempt', () => {
    const { clock, manager, dials } = setup();
    manager.connect('x.example:7070');
    manager.forget('x.example:7070');
    expect(dials[0].attempt.opened(new FakeConduit())).toBeNull();
    dials[0].attempt.failed('late');
    clock.advance(60_000);
    expect(dials).toHaveLength(1);
  });
});

describe('backoffDelay', () => {
  it('draws from [0, min(maxMs, initialMs * 2^attempt)) (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const delay = backoffDelay(attempt, { initialMs: 100, maxMs: 5_000 }, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.min(5_000, 100 * 2 ** attempt));
      }),
      fcParams(),
    );
  });
});

describe('chooseLink', () => {
  const identity = fc.record({
    dialerId: fc.constantFrom('x', 'y'),
    dialerNonce: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    incarnation: fc.constant('i1'),
  });

  it('picks the same link whichever was authenticated first (property)', () => {
    fc.assert(
      fc.property(identity, identity, (p: LinkIdentity, q: LinkIdentity) => {
        fc.pre(Buffer.compare(p.dialerNonce, q.dialerNonce) !== 0);
        const pFirst = chooseLink(p, q) === 'existing' ? p : q;
        const qFirst = chooseLink(q, p) === 'existing' ? q : p;
        expect(pFirst).toBe(qFirst);
      }),
      fcParams(),
    );
  });

  it('keeps the link dialed by the smaller node id', () => {
    const byX = { dialerId: 'x', dialerNonce: nonceOf(1), incarnation: 'i' };
    const byY = { dialerId: 'y', dialerNonce: nonceOf(9), incarnation: 'i' };
    expect(chooseLink(byX, byY)).toBe('existing');
    expect(chooseLink(byY, byX)).toBe('candidate');
  });

  it('lets a link from another incarnation of the peer replace the existing one', () => {
    const old = { dialerId: 'x', dialerNonce: nonceOf(9), incarnation: 'old' };
    expect(chooseLink(old, { dialerId: 'y', dialerNonce: nonceOf(1), incarnation: 'new' })).toBe('candidate');
  });
});
