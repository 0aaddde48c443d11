/**
 * The partition policy's watch (docs/accuracy.md, Partition policy): every
 * gossip interval it looks at the members — the peers heard within
 * `forgetAfterMs` that did not leave with a BYE — and puts each
 * `partition: 'share'` limiter on its share when contact with any member is
 * lost (the peer is `suspect`, `skewed` or `down`) or a member's replication
 * lag passes the limiter's `maxLagMs`, and off it when every member is back
 * and the lag has recovered. A share begun on lost contact ends only once
 * every member has been reachable for `healAfterMs` (one suspicion period):
 * long enough for both sides to have heard each other and swapped what they
 * retained, so no node admits on a count that still misses the other side's
 * hits. Each change is reported as a `share` event.
 *
 * Decision-side only: it never touches a cell, so counts are exact again as
 * soon as the share ends. `local` limiters are never looked at, and a mesh
 * without a `share` limiter never starts the watch.
 *
 * @module
 */
import type { Limiter } from '../../limiter/limiter.js';
import type { Peer } from '../peer.js';

/** A share that began on lag ends only once the lag is back under this fraction of `maxLagMs`, so that it does not flap. */
export const LAG_RECOVERY_FRACTION = 0.75;

/** A `share` limiter went onto its share (`active`) or off it. */
export interface ShareEvent {
  type: 'share';
  limiter: string;
  active: boolean;
  /** Why: the members lost, the lag, or what ended it. */
  reason: string;
  /** `contact` (a member unreachable) or `lag` (a member lagging past `maxLagMs`); the cause that ended it when `active` is false. */
  cause: 'contact' | 'lag' | 'healed';
  /** Members, this node included; its share is 1 / members. */
  members: number;
  /** The largest replication lag among reachable members (ms). */
  lagMs: number;
  /** The limiter's `maxLagMs`. */
  maxLagMs: number;
}

/** What the guard reads and reports to. */
export interface PartitionGuardOptions {
  /** Physical ms now. */
  now: () => number;
  peers: () => Iterable<Peer>;
  limiters: () => Iterable<Limiter>;
  forgetAfterMs: number;
  /** How long every member must be reachable again before a share begun on lost contact ends. */
  healAfterMs: number;
  emit: (event: ShareEvent) => void;
}

/** What the guard found among the members in one look. */
interface Contact {
  members: number;
  /** Unreachable members, as `node (state)`. */
  lost: string[];
  /** Largest replication lag among reachable members, and whose. */
  lagMs: number;
  laggard: string;
}

/** Puts `share` limiters on and off their share. */
export class PartitionGuard {
  #o: PartitionGuardOptions;
  /** Physical ms since which no member has been unreachable (null: one is now). */
  #reachableSince: number | null = Number.NEGATIVE_INFINITY;

  constructor(options: PartitionGuardOptions) {
    this.#o = options;
  }

  /** The members and their contact now. */
  contact(): Contact {
    const now = this.#o.now();
    const c: Contact = { members: 1, lost: [], lagMs: 0, laggard: '' };
    for (const p of this.#o.peers()) {
      // Never heard, gone with a BYE, or silent past forgetAfterMs: holds no share.
      if (p.lastHeardAt === 0 || p.left || now - p.lastHeardAt > this.#o.forgetAfterMs) continue;
      c.members++;
      if (p.state !== 'live' && p.state !== 'syncing') c.lost.push(`${p.nodeId} (${p.state})`);
      else if (p.excessLagMs > c.lagMs) {
        // The delay beyond the link's own floor: a constant clock offset (up to maxClockOffsetMs) is not lag.
        c.lagMs = p.excessLagMs;
        c.laggard = p.nodeId;
      }
    }
    return c;
  }

  /** One look: every `share` limiter onto or off its share. */
  check(): void {
    let c: Contact | undefined;
    const now = this.#o.now();
    for (const limiter of this.#o.limiters()) {
      if (limiter.partition !== 'share') continue;
      if (c === undefined) {
        c = this.contact();
        if (c.lost.length > 0) this.#reachableSince = null;
        else this.#reachableSince ??= now;
      }
      const lagMs = Math.round(c.lagMs * 10) / 10;
      const report = (active: boolean, cause: ShareEvent['cause'], reason: string): void =>
        this.#o.emit({ type: 'share', limiter: limiter.name, active, reason, cause, members: c!.members, lagMs, maxLagMs: limiter.maxLagMs });
      const current = limiter.share;
      const lagging = c.lagMs > limiter.maxLagMs || (current?.cause === 'lag' && c.lagMs > limiter.maxLagMs * LAG_RECOVERY_FRACTION);
      if (c.lost.length > 0) {
        const reason = `lost contact with ${c.lost.sort().join(', ')}`;
        if (limiter.enterShare(c.members, 'contact', reason)) report(true, 'contact', reason);
      } else if (lagging) {
        const reason = `replication lag ${lagMs} ms from ${c.laggard} (max ${limiter.maxLagMs} ms)`;
        if (limiter.enterShare(c.members, 'lag', reason)) report(true, 'lag', reason);
      } else if (current?.cause === 'contact' && now - (this.#reachableSince ?? now) < this.#o.healAfterMs) {
        // Back in contact, but what the other side retained may still be on its way.
      } else if (limiter.leaveShare()) {
        report(false, 'healed', current?.cause === 'lag' ? `replication lag back to ${lagMs} ms` : 'contact with every member');
      }
    }
  }
}
