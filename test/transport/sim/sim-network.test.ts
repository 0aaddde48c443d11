import { describe, expect, it } from 'vitest';
import { FrameType } from '../../../transport/codec/frame.js';
import type { Frame } from '../../../transport/codec/frame.js';
import { createSimNetwork, SIM_EPOCH_MS } from '../../../transport/sim/sim-network.js';
import type { SimNetwork, SimNetworkOptions, SimNodeOptions } from '../../../transport/sim/sim-network.js';
import { deltaFrame } from '../codec/frames.js';
import { Recorder } from '../recorder.js';
import { describeTransportConformance } from '../transport-conformance.js';
import type { HarnessNode, TransportHarness } from '../transport-conformance.js';

/** Conformance harness on virtual time: waiting is running the event queue. */
function simHarness(seed: number): TransportHarness {
  const net = createSimNetwork({ seed });
  return {
    async spawn(nodeId, options = {}) {
      const incarnation = `${nodeId}-1`;
      const { transport } = net.addNode(nodeId, { secret: options.secret ?? 's', incarnation, maxFrameBytes: options.maxFrameBytes });
      const recorder = new Recorder();
      await transport.start(recorder.handlers);
      return { transport, recorder, incarnation };
    },
    async waitFor(predicate, what) {
      if (!net.runUntil(predicate, 60_000)) throw new Error(`waited 60 s of virtual time for ${what} (seed ${net.seed})`);
    },
    async never(predicate, ms, what) {
      if (net.runUntil(predicate, ms)) throw new Error(`${what}, within ${ms} ms of virtual time (seed ${net.seed})`);
    },
    async deadAddress() {
      const { transport } = net.addNode(`gone-${net.seed}`, { secret: 's', incarnation: 'gone-1' });
      await transport.start(new Recorder().handlers);
      const address = transport.address();
      await transport.close();
      return address;
    },
    async dispose() {},
  };
}

describeTransportConformance('simulated network', () => simHarness(1));
describeTransportConformance('simulated network, another seed', () => simHarness(0xdecafbad));

interface SimPeer extends HarnessNode {
  nodeId: string;
}

async function spawn(net: SimNetwork, nodeId: string, options: SimNodeOptions = {}): Promise<SimPeer> {
  const recorder = new Recorder();
  const { transport } = net.addNode(nodeId, { secret: 's', ...options });
  await transport.start(recorder.handlers);
  return { nodeId, transport, recorder, incarnation: options.incarnation ?? '' };
}

/** Two started nodes, a dialing b, linked. */
async function pair(options: Omit<SimNetworkOptions, 'seed'> & { seed?: number } = {}) {
  const net = createSimNetwork({ seed: 11, ...options });
  const a = await spawn(net, 'a');
  const b = await spawn(net, 'b');
  a.transport.connect('sim:b');
  expect(net.runUntil(() => a.transport.peers().length === 1 && b.transport.peers().length === 1, 10_000)).toBe(true);
  return { net, a, b };
}

const hlcs = (frames: Frame[]): number[] => frames.map((f) => f.hlc);
const range = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => from + i);

/** A seeded three-node run with every fault on; returns its delivery trace. */
async function faultyRun(seed: number): Promise<string[]> {
  const net = createSimNetwork({ seed, latencyMs: [1, 30], loss: 0.1, duplicate: 0.1, reorder: 0.2 });
  const ids = ['a', 'b', 'c'];
  const trace: string[] = [];
  const nodes = [];
  for (const id of ids) {
    const { transport, scheduler } = net.addNode(id, { secret: 's' });
    await transport.start({
      onPeerUp: (p) => trace.push(`${net.now()} ${id} up ${p.nodeId}`),
      onPeerDown: (n, r) => trace.push(`${net.now()} ${id} down ${n} ${r}`),
      onFrame: (n, f) => trace.push(`${net.now()} ${id} <- ${n} ${f.hlc}`),
      onOverflow: () => {},
      onReject: (w, r) => trace.push(`${net.now()} ${id} reject ${w} ${r}`),
    });
    nodes.push({ id, transport, scheduler });
  }
  for (const n of nodes) for (const other of ids) if (other !== n.id) n.transport.connect(`sim:${other}`);
  let seq = 0;
  for (const n of nodes) {
    n.scheduler.every(7, () => {
      for (const other of ids) if (other !== n.id) n.transport.send(other, deltaFrame(++seq));
    });
  }
  net.advance(2_000);
  return trace;
}

describe('createSimNetwork', () => {
  it('replays an identical delivery trace for the same seed', async () => {
    const first = await faultyRun(42);
    expect(first.length).toBeGreaterThan(500);
    expect(await faultyRun(42)).toEqual(first);
  });

  it('gives a different trace for a different seed', async () => {
    expect(await faultyRun(43)).not.toEqual(await faultyRun(42));
  });

  it('starts every run at the same virtual epoch', () => {
    expect(createSimNetwork({ seed: 1 }).now()).toBe(SIM_EPOCH_MS);
  });

  it('keeps each link FIFO without reordering, despite latency jitter', async () => {
    const { net, a, b } = await pair({ latencyMs: [1, 50] });
    for (const i of range(200)) a.transport.send('b', deltaFrame(i));
    net.advance(1_000);
    expect(hlcs(b.recorder.frames('a'))).toEqual(range(200));
  });

  it('drops frames only in the cut direction and keeps the link up', async () => {
    const { net, a, b } = await pair();
    net.cut('a', 'b');
    a.transport.send('b', deltaFrame(1));
    b.transport.send('a', deltaFrame(2));
    net.advance(100);
    expect(b.recorder.frames()).toEqual([]);
    expect(hlcs(a.recorder.frames())).toEqual([2]);
    expect([a.transport.peers().length, b.transport.peers().length]).toEqual([1, 1]);
    expect(net.counters('a').framesLost).toBe(1);
    net.restore('a', 'b');
    a.transport.send('b', deltaFrame(3));
    net.advance(100);
    expect(hlcs(b.recorder.frames())).toEqual([3]);
  });

  it('partitions both ways, then heals', async () => {
    const { net, a, b } = await pair();
    net.partition(['a'], ['b']);
    expect([net.isCut('a', 'b'), net.isCut('b', 'a')]).toEqual([true, true]);
    a.transport.send('b', deltaFrame(1));
    b.transport.send('a', deltaFrame(2));
    net.advance(100);
    expect(a.recorder.frames().concat(b.recorder.frames())).toEqual([]);
    net.heal();
    a.transport.send('b', deltaFrame(3));
    b.transport.send('a', deltaFrame(4));
    net.advance(100);
    expect([hlcs(b.recorder.frames()), hlcs(a.recorder.frames())]).toEqual([[3], [4]]);
  });

  it('fails dials across a cut and connects once it heals', async () => {
    const net = createSimNetwork({ seed: 5 });
    const a = await spawn(net, 'a');
    const b = await spawn(net, 'b');
    net.cut('b', 'a'); // one way is enough: a connection needs both
    a.transport.connect('sim:b');
    net.advance(10_000);
    expect(a.transport.peers()).toEqual([]);
    net.heal();
    expect(net.runUntil(() => a.transport.peers().length === 1 && b.transport.peers().length === 1, 10_000)).toBe(true);
  });

  it('loses about the configured fraction of frames, but never handshake frames', async () => {
    const { net, a, b } = await pair({ loss: 0.9 }); // linking at all proves the handshake is exempt
    net.setFaults({ loss: 0.3 });
    for (const i of range(2_000)) a.transport.send('b', deltaFrame(i));
    net.advance(1_000);
    const got = hlcs(b.recorder.frames());
    expect(got.length).toBeGreaterThan(1_300);
    expect(got.length).toBeLessThan(1_500);
    expect(got).toEqual([...got].sort((x, y) => x - y));
    expect(net.counters('a').framesLost).toBe(2_000 - got.length);
  });

  it('duplicates frames when asked', async () => {
    const { net, a, b } = await pair({ duplicate: 0.5 });
    for (const i of range(1_000)) a.transport.send('b', deltaFrame(i));
    net.advance(1_000);
    const got = hlcs(b.recorder.frames());
    expect(new Set(got)).toEqual(new Set(range(1_000)));
    expect(got.length).toBeGreaterThan(1_400);
    expect(got.length).toBeLessThan(1_600);
  });

  it('reorders frames when asked, losing none', async () => {
    const { net, a, b } = await pair({ reorder: 0.3, latencyMs: [1, 10] });
    for (const i of range(500)) a.transport.send('b', deltaFrame(i));
    net.advance(1_000);
    const got = hlcs(b.recorder.frames());
    expect([...got].sort((x, y) => x - y)).toEqual(range(500));
    expect(got).not.toEqual(range(500));
  });

  it('refuses fault settings outside their range', () => {
    expect(() => createSimNetwork({ seed: 1, loss: 1.5 })).toThrow(RangeError);
    expect(() => createSimNetwork({ seed: 1, latencyMs: [5, 1] })).toThrow(RangeError);
    expect(() => createSimNetwork({ seed: 1 }).setFaults({ reorder: -1 })).toThrow(RangeError);
  });

  it('gives each node its own clock offset, while timers run on virtual durations', () => {
    const net = createSimNetwork({ seed: 1 });
    const { scheduler } = net.addNode('a', { clockOffsetMs: 250 });
    expect(scheduler.now() - net.now()).toBe(250);
    net.setClockOffset('a', -1_000);
    expect(scheduler.now() - net.now()).toBe(-1_000);
    const fired: number[] = [];
    scheduler.after(100, () => fired.push(net.now()));
    net.advance(100);
    expect(fired).toEqual([SIM_EPOCH_MS + 100]);
  });

  it('runs every() on virtual time until cancelled', () => {
    const net = createSimNetwork({ seed: 1 });
    const { scheduler } = net.addNode('a');
    let ticks = 0;
    const stop = scheduler.every(10, () => ticks++);
    net.advance(100);
    expect(ticks).toBe(10);
    stop();
    net.advance(100);
    expect(ticks).toBe(10);
    expect(() => scheduler.every(0, () => {})).toThrow(RangeError);
  });

  it('returns false from runUntil after maxMs of virtual time when the predicate never holds', () => {
    const net = createSimNetwork({ seed: 1 });
    expect(net.runUntil(() => false, 5_000)).toBe(false);
    expect(net.now()).toBe(SIM_EPOCH_MS + 5_000);
  });

  it('crashes a node: peers see its links reset, its timers stop, and it restarts with a new incarnation', async () => {
    const net = createSimNetwork({ seed: 3 });
    const a = await spawn(net, 'a');
    const bNode = net.addNode('b', { secret: 's', incarnation: 'b-1' });
    const bRecorder = new Recorder();
    await bNode.transport.start(bRecorder.handlers);
    let bTicks = 0;
    bNode.scheduler.every(10, () => bTicks++);
    a.transport.connect('sim:b');
    expect(net.runUntil(() => a.transport.peers().length === 1, 5_000)).toBe(true);
    net.crash('b');
    const ticksAtCrash = bTicks;
    expect(net.runUntil(() => a.recorder.downs().length === 1, 1_000)).toBe(true);
    expect(a.recorder.downs()).toEqual([{ nodeId: 'b', reason: 'connection reset' }]);
    expect(bRecorder.downs()).toEqual([]); // a dead process hears nothing
    expect(bNode.transport.send('a', deltaFrame(1))).toBe(false);
    expect(bNode.transport.peers()).toEqual([]);
    net.advance(3_000);
    expect(bTicks).toBe(ticksAtCrash);
    const restarted = await spawn(net, 'b', { incarnation: 'b-2' });
    expect(net.runUntil(() => a.transport.peers().length === 1 && restarted.transport.peers().length === 1, 10_000)).toBe(true);
    expect(a.transport.peers()).toEqual([{ nodeId: 'b', address: 'sim:b', incarnation: 'b-2' }]);
    expect(restarted.recorder.ups().map((p) => p.nodeId)).toEqual(['a']);
  });

  it('leaves a link half-open when the crash happens behind a cut, like TCP', async () => {
    const { net, a } = await pair();
    net.cut('b', 'a');
    net.crash('b');
    net.advance(1_000);
    net.heal();
    net.advance(1_000);
    expect(a.transport.peers().map((p) => p.nodeId)).toEqual(['b']);
    a.transport.disconnect('b', 'silent');
    expect(a.recorder.downs()).toEqual([{ nodeId: 'b', reason: 'silent' }]);
  });

  it('refuses to add a node that is already up', () => {
    const net = createSimNetwork({ seed: 1 });
    net.addNode('a');
    expect(() => net.addNode('a')).toThrow(/already up/);
  });

  it('counts wire bytes per node, handshake included', async () => {
    const { net, a, b } = await pair();
    a.transport.send('b', deltaFrame(1));
    net.advance(100);
    const ca = net.counters('a');
    const cb = net.counters('b');
    expect(ca.bytesSent).toBe(cb.bytesReceived);
    expect(cb.bytesSent).toBe(ca.bytesReceived);
    expect(ca.framesSent).toBe(3); // HELLO, AUTH, DELTA
    expect(ca.bytesSent).toBeGreaterThan(a.transport.stats('b').bytesOut);
  });

  it('delivers a decoded copy, never the object that was sent', async () => {
    const { net, a, b } = await pair();
    const frame = deltaFrame(1);
    a.transport.send('b', frame);
    if (frame.type === FrameType.DELTA) frame.body.batches[0].name = 'mutated after send';
    net.advance(100);
    const [got] = b.recorder.frames();
    expect(got).toEqual(deltaFrame(1));
    expect(got).not.toBe(frame);
  });
});
