/**
 * Relay routes (issue 10, defect 11): which peer gets which relayed cells,
 * from the PEERS reports of live links, and which pairs are owed an origin's
 * cells when their direct path is lost.
 */
import { describe, expect, it } from 'vitest';
import { Peer } from '../../../src/mesh/peer.js';
import { nodeOfReplica, RelayRoutes } from '../../../src/mesh/relay-routes.js';
import type { ReplicationContext } from '../../../src/mesh/replication-context.js';

function setup(): { routes: RelayRoutes; peers: Map<string, Peer> } {
  const peers = new Map<string, Peer>();
  for (const id of ['a', 'c']) {
    const p = new Peer(id, `sim:${id}`);
    p.linked = true;
    p.state = 'live';
    p.incarnation = '1';
    peers.set(id, p);
  }
  const routes = new RelayRoutes({ nodeId: 'b' } as ReplicationContext, peers);
  return { routes, peers };
}
const report = (links: Record<string, boolean>) => Object.entries(links).map(([nodeId, linked]) => ({ nodeId, address: `sim:${nodeId}`, linked }));

describe('relay routes', () => {
  it('takes the node id of a replica id (node ids may hold #)', () => {
    expect(nodeOfReplica('a#1')).toBe('a');
    expect(nodeOfReplica('x#y#2')).toBe('x#y');
  });

  it('relays while a report is missing, stops once both sides report the link, and never relays to the origin', () => {
    const { routes, peers } = setup();
    const [a, c] = [peers.get('a')!, peers.get('c')!];
    expect(routes.relayTo(c, 'a#1')).toBe(true); // nothing reported yet: relay
    expect(routes.relayTo(a, 'a#1')).toBe(false); // its own cells
    routes.report(c, report({ a: true, b: true }));
    expect(routes.relayTo(c, 'a#1')).toBe(true); // a has not said it hears c
    routes.report(a, report({ c: true, b: true }));
    expect(routes.relayTo(c, 'a#1')).toBe(false);
    expect(routes.wanted('a#1')).toBe(false);
    // An incarnation a no longer runs: only relays carry it.
    expect(routes.relayTo(c, 'a#0')).toBe(true);
  });

  it('owes the origin’s cells to a peer that loses its direct path, either side reporting it (one-way cuts too)', () => {
    const { routes, peers } = setup();
    const [a, c] = [peers.get('a')!, peers.get('c')!];
    routes.report(c, report({ a: true, b: true }));
    routes.report(a, report({ c: true, b: true }));
    // a stops hearing c (c → a cut): a no longer sends c its deltas, so c needs a's cells relayed, and vice versa.
    const owed = routes.report(a, report({ c: false, b: true }));
    expect(owed.map(({ peer, origin }) => `${peer.nodeId}<-${origin}`).sort()).toEqual(['a<-c', 'c<-a']);
    expect(routes.relayTo(c, 'a#1')).toBe(true);
    expect(routes.wanted('a#1')).toBe(true);
    // The same report again changes nothing and owes nothing.
    expect(routes.report(a, report({ c: false, b: true }))).toEqual([]);
  });

  it("relays everything in mode 'all' and nothing in mode 'off'", () => {
    const { routes, peers } = setup();
    routes.mode = 'all';
    expect(routes.relayTo(peers.get('c')!, 'a#1')).toBe(true);
    routes.mode = 'off';
    expect(routes.wanted('a#1')).toBe(false);
  });
});
