/**
 * Membership and failure detection: the table of peers and of the addresses
 * this node dials, PEERS gossip (joining one seed is enough), suspicion of a
 * peer silent for `suspectAfterMs`, keep-alive pings, the clock check on every
 * frame (the sender's own clock and the HLC it relays) with its skew strikes,
 * BYE, and the peer state machine's transitions (each reported as a `peer`
 * event).
 *
 * @module
 */
import { wallOf } from '../../crdt/hlc.js';
import { FrameType, type PeerAddress } from '../../transport/codec/frame.js';
import type { PeerInfo } from '../../transport/transport.js';
import { Peer, type PeerLinkState } from './peer.js';
import { reportsLinked } from './relay-routes.js';
import type { ReplicationContext } from './replication-context.js';

/** Most peer records kept; past it, the longest-silent down peers are forgotten. */
const MAX_PEERS = 256;
/** Most addresses dialed. */
const MAX_KNOWN_ADDRESSES = 1024;
/** Weight of the newest sample in the replication lag's moving average. */
const LAG_SMOOTHING = 0.2;
/** How fast a link's delay floor may rise (ms per ms): 10 ms a second, so a clock stepped ahead is followed within a minute. */
const FLOOR_DRIFT_PER_MS = 0.01;

/** The peers of one node and what it knows of their health. */
export class Membership {
  /** Peer records, by node id. */
  readonly peers = new Map<string, Peer>();
  /** Addresses of nodes we know (from --peers and PEERS frames). */
  readonly known = new Set<string>();
  #ctx: ReplicationContext;

  constructor(ctx: ReplicationContext) {
    this.#ctx = ctx;
  }

  /** Keeps a link to `address` (ignored for our own address and for one already known). */
  dial(address: string): void {
    if (address === '' || address === this.#ctx.transport.address() || this.known.has(address)) return;
    // PEERS frames come from authenticated peers, but still: a bounded dial list.
    if (this.known.size >= MAX_KNOWN_ADDRESSES) return;
    this.known.add(address);
    this.#ctx.transport.connect(address);
  }

  /**
   * Stops redialing `address` (a discovery source no longer lists it). An open
   * link stays until it drops; PEERS gossip naming the address dials it again.
   */
  forget(address: string): void {
    this.known.delete(address);
    this.#ctx.transport.forget(address);
  }

  /** Dials the peers a PEERS frame names (except ourselves). */
  learn(peers: PeerAddress[]): void {
    for (const p of peers) if (p.nodeId !== this.#ctx.nodeId) this.dial(p.address);
  }

  /** True when a transport link to some peer is up. */
  anyLinked(): boolean {
    for (const peer of this.peers.values()) if (peer.linked) return true;
    return false;
  }

  /**
   * Records that the transport brought a link to `info` up, creating the
   * record for a new node id. The caller sets the peer's state once the rest
   * of the link's consequences are in.
   */
  linkUp(info: PeerInfo): Peer {
    let peer = this.peers.get(info.nodeId);
    if (peer === undefined) {
      peer = new Peer(info.nodeId, info.address);
      this.peers.set(info.nodeId, peer);
    }
    peer.linked = true;
    peer.left = false;
    peer.address = info.address || peer.address;
    if (peer.address !== '') this.known.add(peer.address);
    peer.lastHeardAt = this.#ctx.scheduler.now();
    peer.skewStrikes = 0;
    return peer;
  }

  /** Records that the link to `peer` went down, and bounds the peer table. */
  linkDown(peer: Peer, reason: string): void {
    const reported = reportsLinked(peer);
    peer.linked = false;
    // A peer dropped for its clock stays `skewed`, so the cluster view keeps saying why.
    if (peer.state === 'skewed' || reason === 'clock-skew') this.setState(peer, 'skewed', `disconnected: clock ${peer.clockOffsetMs} ms ahead`);
    else this.setState(peer, 'down', reason);
    if (reported) this.onLinksChanged();
    this.#forgetStalePeers();
  }

  /** Marks `peer` suspect once it has been silent for `suspectAfterMs`. */
  checkSilence(peer: Peer, now: number): void {
    if (peer.state !== 'suspect' && now - peer.lastHeardAt > this.#ctx.options.suspectAfterMs) {
      this.setState(peer, 'suspect', `silent for ${now - peer.lastHeardAt} ms`);
    }
  }

  /** Pings `peer` when nothing went to it for a quarter of `suspectAfterMs`, so that it does not suspect us. */
  keepAlive(peer: Peer, now: number): void {
    if (now - peer.lastSentAt >= this.#ctx.options.suspectAfterMs / 4) this.#ctx.send(peer, { type: FrameType.PING, hlc: 0, body: {} });
  }

  /**
   * Takes a frame's clocks from `peer`: its HLC and its own physical clock.
   * Returns false when the frame must be refused (see `Hlc.judge` and
   * `docs/window-math.md`). A peer is blamed only for what it can be blamed
   * for — its own clock running more than `maxClockOffsetMs` ahead of ours,
   * or an HLC further ahead of its own clock than any honest node holds:
   * `clock-skew`, the peer marked `skewed`, and after `maxSkewStrikes` such
   * frames in a row it is disconnected. An HLC relayed from further ahead
   * than we adopt is refused without blame (`clock-relayed`): it passes once
   * our clock catches up, within `maxClockOffsetMs`.
   */
  hear(peer: Peer, hlc: number, physicalMs: number, now: number): boolean {
    const verdict = this.#ctx.hlc.receive(hlc, physicalMs, now);
    // The peer's own clock against ours (one-way latency makes it look behind): what clockProblem() weighs.
    peer.clockOffsetMs = physicalMs - now;
    if (verdict === 'accepted') {
      peer.skewStrikes = 0;
      peer.lastHeardAt = now;
      // Every frame is stamped when sent (deltas at the tick that drained them), so every frame
      // samples the delay; heartbeats keep it current when the peer has nothing to send. The
      // sender's own clock, not its HLC: an HLC may carry a faster third node's time through a
      // relay, which is no delay of this link.
      const sentMs = physicalMs > 0 ? physicalMs : wallOf(hlc);
      const sample = now - sentMs;
      peer.replicationLagMs = peer.replicationLagMs * (1 - LAG_SMOOTHING) + Math.max(0, sample) * LAG_SMOOTHING;
      // The delay beyond this link's floor: `sample` is the one-way delay plus the two clocks'
      // offset, which is constant, so its least recent value (rising by FLOOR_DRIFT_PER_MS, so a
      // clock correction is followed) takes the offset and the base delay out. What is left is
      // queueing: a peer or link falling behind, whatever the clocks say (the partition guard's lag).
      const floor = Math.min(sample, peer.lagFloorMs + (now - peer.lagFloorAt) * FLOOR_DRIFT_PER_MS);
      peer.lagFloorMs = floor;
      peer.lagFloorAt = now;
      peer.excessLagMs = peer.excessLagMs * (1 - LAG_SMOOTHING) + (sample - floor) * LAG_SMOOTHING;
      return true;
    }
    this.#ctx.counters.skewRejections++;
    if (verdict === 'hlc-beyond-bound') {
      // Not its fault: it relays a clock from further ahead. It is alive, so it is heard; no strike.
      peer.lastHeardAt = now;
      this.#ctx.refuse(peer, 'clock-relayed', `HLC ${wallOf(hlc) - now} ms ahead of this node's clock (at most ${this.#ctx.hlc.maxLeadMs}); its own clock ${peer.clockOffsetMs} ms`);
      return false;
    }
    peer.reject('clock-skew');
    // Its own clock, or an HLC no honest node at its clock holds: taking its buckets would drag ours.
    const reason =
      verdict === 'sender-clock-ahead'
        ? `clock ${peer.clockOffsetMs} ms ahead`
        : `HLC ${wallOf(hlc) - physicalMs} ms ahead of its own clock (at most ${this.#ctx.hlc.maxLeadMs})`;
    this.#ctx.emit({ type: 'skew', nodeId: peer.nodeId, offsetMs: verdict === 'sender-clock-ahead' ? peer.clockOffsetMs : wallOf(hlc) - now });
    if (peer.state !== 'skewed') this.setState(peer, 'skewed', reason);
    if (++peer.skewStrikes >= this.#ctx.options.maxSkewStrikes) {
      peer.skewStrikes = 0;
      this.#ctx.transport.disconnect(peer.nodeId, 'clock-skew');
    }
    return false;
  }

  /**
   * Tells every linked peer the peers we know, so joining one seed is enough,
   * and which of them we have a live link to (what targets relaying: see
   * `relay-routes.ts`). A peer without a dialable address is listed with ''.
   */
  sendPeers(): void {
    const list: PeerAddress[] = [];
    for (const peer of this.peers.values()) {
      list.push({ nodeId: peer.nodeId, address: peer.address, linked: reportsLinked(peer) });
    }
    for (const peer of this.peers.values()) {
      if (peer.linked) this.#ctx.send(peer, { type: FrameType.PEERS, hlc: 0, body: { peers: list } });
    }
  }

  /** Sends BYE to every linked peer. */
  goodbye(reason: string): void {
    for (const peer of this.peers.values()) {
      if (peer.linked) this.#ctx.send(peer, { type: FrameType.BYE, hlc: 0, body: { reason } });
    }
  }

  /** Moves `peer` to `state` and reports it (nothing when it is there already). */
  setState(peer: Peer, state: PeerLinkState, reason: string): void {
    if (peer.state === state) return;
    const reported = reportsLinked(peer);
    peer.state = state;
    peer.reason = reason;
    this.#ctx.emit({ type: 'peer', nodeId: peer.nodeId, address: peer.address, state, reason });
    // Our live links changed: tell the peers at once, so that relaying to us starts (or stops) within a latency.
    if (reportsLinked(peer) !== reported) this.onLinksChanged();
  }

  /** Called when this node's live links change (the replicator re-targets relays and sends PEERS). */
  onLinksChanged: () => void = () => this.sendPeers();

  /**
   * Bounds the peer table: forgets peers down for longer than `forgetAfterMs`
   * and, past MAX_PEERS records, the longest-silent down ones. A node id that
   * authenticated once must not cost memory for ever.
   */
  #forgetStalePeers(): void {
    const now = this.#ctx.scheduler.now();
    const down = [...this.peers.values()].filter((p) => !p.linked).sort((a, b) => a.lastHeardAt - b.lastHeardAt);
    let excess = this.peers.size - MAX_PEERS;
    for (const p of down) {
      if (excess <= 0 && now - p.lastHeardAt < this.#ctx.options.forgetAfterMs) break;
      this.peers.delete(p.nodeId);
      excess--;
    }
  }
}
