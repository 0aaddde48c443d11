/**
 * The replication delays lag-aware admission weighs each replica's hits by
 * (docs/accuracy.md, Lag-aware admission), and its tick.
 *
 * A hit admitted on peer p waits for p's next gossip tick (half an interval
 * on average) and then travels one way to us: `D_p = gossip / 2 + rtt_p / 2`,
 * with `rtt_p` the transport's measured round trip (WebSocket ping/pong,
 * answered by the peer's WebSocket layer: no tallymesh frame, so peers of any
 * version answer it). Not the frames' clock stamps: those hold the clocks'
 * offset too. A replica of a node with no direct link (its hits come through
 * a relay) or no round trip measured yet waits for two ticks and two one-way
 * delays, taking the mean one-way delay of the measured links (half a gossip
 * interval when none is measured). A replica of this node (an earlier
 * incarnation) is not in flight: 0.
 *
 * @module
 */
import type { Limiter } from '../../limiter/limiter.js';
import type { Peer } from '../peer.js';

/** What the tick needs from the mesh. */
export interface LagDelaysHost {
  nodeId: string;
  gossipIntervalMs: number;
  peers(): Iterable<Peer>;
  /** The transport's round trip to a linked peer (undefined: unknown). */
  roundTripMs(nodeId: string): number | undefined;
  limiters(): Iterable<Limiter>;
}

/** The node id of a replica id (`nodeId#incarnation`). */
function nodeOf(replicaId: string): string {
  const i = replicaId.lastIndexOf('#');
  return i < 0 ? replicaId : replicaId.slice(0, i);
}

/**
 * One tick of lag-aware admission: reads every linked peer's round trip
 * (kept on the peer for `/v1/cluster`), then ticks every limiter's estimates
 * with the delays of its replicas.
 */
export function tickLagEstimates(host: LagDelaysHost): void {
  const g = host.gossipIntervalMs;
  const direct = new Map<string, number>();
  let sum = 0;
  for (const peer of host.peers()) {
    const rtt = peer.linked ? host.roundTripMs(peer.nodeId) : undefined;
    peer.roundTripMs = rtt ?? null;
    if (rtt === undefined || peer.state !== 'live') continue;
    direct.set(peer.nodeId, rtt / 2);
    sum += rtt / 2;
  }
  const meanOneWay = direct.size > 0 ? sum / direct.size : g / 2;
  const cache = new Map<string, number>();
  const delayOf = (replicaId: string): number => {
    const node = nodeOf(replicaId);
    let d = cache.get(node);
    if (d === undefined) {
      const oneWay = direct.get(node);
      d = node === host.nodeId ? 0 : oneWay !== undefined ? g / 2 + oneWay : g + 2 * meanOneWay;
      cache.set(node, d);
    }
    return d;
  };
  for (const limiter of host.limiters()) limiter.replica.tickEstimate(delayOf);
}
