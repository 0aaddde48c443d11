/**
 * The wire of the simulated network: connection endpoints, latency, loss,
 * duplication, reordering, one-way cuts and traffic counters. Everything
 * random comes from one seeded stream and every delivery is an event on the
 * {@link SimClock}, so a run is a pure function of its seed.
 *
 * Per direction of a connection the wire is FIFO (a delivery is never
 * scheduled before the previous one), except for frames picked for
 * reordering, which are held back outside that order. A cut swallows what is
 * sent while it lasts, close notifications included (a lost FIN leaves the
 * other end half-open, as TCP would). Loss, duplication and reordering spare
 * handshake frames.
 *
 * @module
 */
import { FrameType } from '../codec/frame.js';
import type { FrameTypeCode } from '../codec/frame.js';
import type { Conduit, Link } from '../link.js';
import type { Prng } from './prng.js';
import type { SimClock } from './sim-clock.js';

/** Address prefix of simulated nodes: node `a` listens on `sim:a`. */
export const SIM_ADDRESS_PREFIX = 'sim:';

/** Fault settings; loss, duplicate and reorder apply to post-handshake frames. */
export interface SimFaults {
  /** Uniform one-way latency range in whole ms, inclusive. */
  latencyMs: [number, number];
  /** Probability a frame is lost. */
  loss: number;
  /** Probability a frame is delivered twice. */
  duplicate: number;
  /** Probability a frame is held back (extra latency, outside FIFO order) so later frames overtake it. */
  reorder: number;
}

/** Wire traffic of a node, handshake included, summed over its restarts. */
export interface SimCounters {
  bytesSent: number;
  bytesReceived: number;
  framesSent: number;
  framesReceived: number;
  /** Frames this node sent that a cut or loss swallowed. */
  framesLost: number;
}

/** Faults of a network created without any. */
export const DEFAULT_SIM_FAULTS: Readonly<SimFaults> = { latencyMs: [1, 5], loss: 0, duplicate: 0, reorder: 0 };

/** The node an endpoint belongs to. */
export interface SimEndpointOwner {
  readonly nodeId: string;
  /** Its open endpoints (a crash resets them all). */
  readonly endpoints: Set<SimEndpoint>;
}

/**
 * One end of a simulated connection: the {@link Conduit} a link writes to.
 *
 * @example
 * ```ts
 * const [local, remote] = wire.connect(hostA, hostB);
 * remote.link = managerB.accept(remote);
 * ```
 */
export class SimEndpoint implements Conduit {
  readonly remote: string;
  readonly owner: SimEndpointOwner;
  /** The other end (set by {@link SimWire.connect}). */
  peer: SimEndpoint | null = null;
  /** Where deliveries go; null once the owner is gone. */
  link: Link | null = null;
  open = true;
  /** Latest delivery time scheduled in this endpoint's outbound direction (the FIFO clamp). */
  lastDeliveryAt = 0;
  #wire: SimWire;

  constructor(wire: SimWire, owner: SimEndpointOwner, remoteId: string) {
    this.#wire = wire;
    this.owner = owner;
    this.remote = SIM_ADDRESS_PREFIX + remoteId;
    owner.endpoints.add(this);
  }

  write(bytes: Uint8Array, type: FrameTypeCode): boolean {
    if (!this.open) return false;
    this.#wire.transmit(this, bytes, type);
    return true;
  }

  close(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.owner.endpoints.delete(this);
    this.#wire.transmitClose(this, reason);
  }

  queuedBytes(): number {
    return 0; // the simulated wire has no backpressure
  }

  /** Smoothed round trip of the probes (NaN: none answered yet). */
  roundTripMs = Number.NaN;

  probe(): void {
    if (this.open) this.#wire.transmitProbe(this);
  }
}

/**
 * Throw a RangeError unless `faults` are usable.
 *
 * @example
 * ```ts
 * checkFaults({ latencyMs: [1, 5], loss: 0.01, duplicate: 0, reorder: 0 });
 * ```
 */
export function checkFaults(faults: SimFaults): void {
  const [lo, hi] = faults.latencyMs;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < lo) {
    throw new RangeError(`sim network: latencyMs must be whole ms [min, max] with 0 <= min <= max, got [${lo}, ${hi}]`);
  }
  for (const name of ['loss', 'duplicate', 'reorder'] as const) {
    const p = faults[name];
    if (!(p >= 0 && p <= 1)) throw new RangeError(`sim network: ${name} must be a probability in [0, 1], got ${p}`);
  }
}

const cutKey = (from: string, to: string): string => `${from}\u0000${to}`;

/**
 * Moves bytes between {@link SimEndpoint}s on virtual time.
 *
 * @example
 * ```ts
 * const wire = new SimWire(clock, createPrng(seed), DEFAULT_SIM_FAULTS);
 * wire.cut('a', 'b');
 * ```
 */
export class SimWire {
  #clock: SimClock;
  #prng: Prng;
  #faults: SimFaults;
  #cuts = new Set<string>();
  #counters = new Map<string, SimCounters>();

  constructor(clock: SimClock, prng: Prng, faults: SimFaults) {
    checkFaults(faults);
    this.#clock = clock;
    this.#prng = prng;
    this.#faults = faults;
  }

  get faults(): SimFaults {
    return this.#faults;
  }

  set faults(faults: SimFaults) {
    checkFaults(faults);
    this.#faults = faults;
  }

  cut(from: string, to: string): void {
    this.#cuts.add(cutKey(from, to));
  }

  restore(from: string, to: string): void {
    this.#cuts.delete(cutKey(from, to));
  }

  restoreAll(): void {
    this.#cuts.clear();
  }

  isCut(from: string, to: string): boolean {
    return this.#cuts.has(cutKey(from, to));
  }

  /** A one-way latency sample in whole ms. */
  latency(): number {
    const [lo, hi] = this.#faults.latencyMs;
    return lo + this.#prng.int(hi - lo + 1);
  }

  /** A fresh pair of connected endpoints: [dialer side, listener side]. */
  connect(dialer: SimEndpointOwner, listener: SimEndpointOwner): [SimEndpoint, SimEndpoint] {
    const local = new SimEndpoint(this, dialer, listener.nodeId);
    const remote = new SimEndpoint(this, listener, dialer.nodeId);
    local.peer = remote;
    remote.peer = local;
    return [local, remote];
  }

  counters(nodeId: string): SimCounters {
    let counters = this.#counters.get(nodeId);
    if (counters === undefined) {
      counters = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0, framesLost: 0 };
      this.#counters.set(nodeId, counters);
    }
    return counters;
  }

  /** Send one encoded frame from `from` to its peer, through cuts and faults. */
  transmit(from: SimEndpoint, bytes: Uint8Array, type: FrameTypeCode): void {
    const to = from.peer as SimEndpoint;
    const sent = this.counters(from.owner.nodeId);
    sent.framesSent++;
    sent.bytesSent += bytes.length;
    const handshake = type === FrameType.HELLO || type === FrameType.AUTH;
    const faults = this.#faults;
    // Both draws happen for every frame, handshake or not, so the stream does not depend on frame types.
    const lost = this.#prng.next() < faults.loss && !handshake;
    const copies = this.#prng.next() < faults.duplicate && !handshake ? 2 : 1;
    if (this.isCut(from.owner.nodeId, to.owner.nodeId) || lost) {
      sent.framesLost++;
      return;
    }
    for (let i = 0; i < copies; i++) {
      const held = this.#prng.next() < faults.reorder && !handshake;
      this.#schedule(from, held, () => {
        if (!to.open || to.link === null) return;
        const received = this.counters(to.owner.nodeId);
        received.framesReceived++;
        received.bytesReceived += bytes.length;
        to.link.receive(bytes); // decoded afresh on every delivery: no object is shared
      });
    }
  }

  /**
   * A round-trip probe from `from` (a WebSocket ping and its pong): one mean
   * latency each way, swallowed by a cut in either direction. It draws
   * nothing from the seeded stream, so probing changes no run's faults.
   */
  transmitProbe(from: SimEndpoint): void {
    const to = from.peer;
    if (to === null || this.isCut(from.owner.nodeId, to.owner.nodeId)) return;
    const [lo, hi] = this.#faults.latencyMs;
    const oneWay = (lo + hi) / 2;
    const sent = this.#clock.now();
    this.#clock.schedule(oneWay, () => {
      if (!to.open || this.isCut(to.owner.nodeId, from.owner.nodeId)) return;
      this.#clock.schedule(oneWay, () => {
        if (!from.open) return;
        const rtt = this.#clock.now() - sent;
        from.roundTripMs = Number.isNaN(from.roundTripMs) ? rtt : from.roundTripMs * 0.8 + rtt * 0.2;
      });
    });
  }

  /** Tell `from`'s peer the connection closed, after the frames already in flight. */
  transmitClose(from: SimEndpoint, reason: string): void {
    const to = from.peer;
    if (to === null || this.isCut(from.owner.nodeId, to.owner.nodeId)) return; // the FIN is lost: a half-open link
    this.#schedule(from, false, () => {
      if (!to.open) return;
      to.open = false;
      to.owner.endpoints.delete(to);
      to.link?.remoteClosed(reason);
    });
  }

  #schedule(from: SimEndpoint, held: boolean, deliver: () => void): void {
    const now = this.#clock.now();
    let at = now + this.latency();
    if (held) {
      at += this.latency() + 1; // late, and outside the FIFO clamp: later frames may overtake it
    } else {
      at = Math.max(at, from.lastDeliveryAt); // equal times keep send order (the clock ties by sequence)
      from.lastDeliveryAt = at;
    }
    this.#clock.schedule(at - now, deliver);
  }
}
