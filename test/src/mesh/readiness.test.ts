import { describe, expect, it } from 'vitest';
import { createNodeClock, SimClock } from '../../../transport/sim/sim-clock.js';
import { Peer, type PeerLinkState } from '../../../src/mesh/peer.js';
import { Readiness, syncedState } from '../../../src/mesh/readiness.js';

const JOIN_TIMEOUT_MS = 1_000;

function peer(nodeId: string, state: PeerLinkState, syncedFrom: boolean): Peer {
  const p = new Peer(nodeId, `sim:${nodeId}`);
  p.state = state;
  p.syncedFrom = syncedFrom;
  return p;
}

function setup(seeds: number, peers: Peer[]): { clock: SimClock; readiness: Readiness; readyEvents: () => number } {
  const clock = new SimClock(Date.UTC(2026, 0, 1));
  const { scheduler } = createNodeClock(clock, () => 0);
  let events = 0;
  const readiness = new Readiness({
    scheduler,
    peers: () => peers,
    seeds,
    joinTimeoutMs: JOIN_TIMEOUT_MS,
    startedAt: scheduler.now(),
    onReady: () => events++,
  });
  return { clock, readiness, readyEvents: () => events };
}

describe('readiness', () => {
  it('calls a peer live once synced from, else syncing', () => {
    expect(syncedState(peer('a', 'down', true))).toBe('live');
    expect(syncedState(peer('a', 'down', false))).toBe('syncing');
  });

  it('is ready at once when every seed is reached and synced from', async () => {
    const { readiness, readyEvents } = setup(2, [peer('a', 'live', true), peer('b', 'live', true)]);
    readiness.start();
    expect(readiness.ready).toBe(true);
    expect(readyEvents()).toBe(1);
    await readiness.whenReady();
  });

  it('waits out the join timeout for seeds it has not reached', () => {
    const { clock, readiness } = setup(2, [peer('a', 'live', true)]);
    readiness.start();
    expect(readiness.ready).toBe(false);
    clock.advance(JOIN_TIMEOUT_MS);
    expect(readiness.ready).toBe(true);
  });

  it('stops waiting for an unfinished snapshot at five times the join timeout', () => {
    const { clock, readiness, readyEvents } = setup(1, [peer('a', 'syncing', false)]);
    readiness.start();
    clock.advance(4 * JOIN_TIMEOUT_MS);
    expect(readiness.ready).toBe(false);
    clock.advance(JOIN_TIMEOUT_MS);
    expect(readiness.ready).toBe(true);
    expect(readyEvents()).toBe(1);
  });

  it('never turns ready once closed', () => {
    const { clock, readiness } = setup(1, []);
    readiness.start();
    readiness.close();
    clock.advance(10 * JOIN_TIMEOUT_MS);
    expect(readiness.ready).toBe(false);
  });
});
