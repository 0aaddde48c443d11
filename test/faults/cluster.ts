/**
 * The fault suite's cluster: daemons on test hosts, plus what the checks
 * need to read from them — readiness, each node's view of its peers, each
 * node's count for a key, and RSS sampled every second.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Daemon, REPO_ROOT } from './daemon.js';
import { getJson } from './http.js';
import type { Testbed } from './netns.js';
import { pollUntil } from './sh.js';

/** The port every daemon listens on (each has its own address). */
export const DAEMON_PORT = 7070;

/** Where the suite keeps secrets, clock files and daemon logs (gitignored). */
export const STATE_DIR = join(REPO_ROOT, '.tmp', 'faults');

/** A peer as `/v1/cluster` reports it (the fields the suite reads). */
export interface PeerView {
  nodeId: string;
  state: string;
  reachable?: boolean;
  clockOffsetMs?: number;
  rejected?: Record<string, number>;
}

/** `/v1/cluster`, the fields the suite reads. */
export interface ClusterView {
  node?: { nodeId: string; ready?: boolean; incarnation?: string; clockProblem?: string | null };
  peers: PeerView[];
  /** Per limiter: keys held and overflows counted. */
  limiters?: Array<{ name: string; keys: number; overflows?: number }>;
  /** Keys held over all limiters, and the node's bound. */
  keys?: { total: number; max: number };
}

/** Peek response, the fields the suite reads. */
interface PeekBody {
  limit: number;
  remaining: number;
  count?: number;
}

/** Writes a fresh random secret file (mode 0600) and returns its path. */
export function writeSecret(name: string): string {
  mkdirSync(STATE_DIR, { recursive: true });
  const path = join(STATE_DIR, `${name}.secret`);
  writeFileSync(path, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  return path;
}

/** Daemons on a testbed. */
export class Cluster {
  readonly testbed: Testbed;
  readonly daemons: Daemon[] = [];
  /** Max RSS seen per daemon id since the last {@link Cluster.takeRssPeak}. */
  #rssPeak = new Map<string, number>();
  #sampler: NodeJS.Timeout | null = null;

  constructor(testbed: Testbed) {
    this.testbed = testbed;
  }

  add(daemon: Daemon): Daemon {
    this.daemons.push(daemon);
    return daemon;
  }

  byId(id: string): Daemon {
    const d = this.daemons.find((x) => x.id === id);
    if (d === undefined) throw new Error(`no daemon ${id}`);
    return d;
  }

  /** Samples every running daemon's RSS once a second. */
  startRssSampler(): void {
    this.#sampler ??= setInterval(() => this.sampleRss(), 1_000);
    this.#sampler.unref();
  }

  sampleRss(): void {
    for (const d of this.daemons) {
      const rss = d.rssBytes();
      if (rss !== null) this.#rssPeak.set(d.id, Math.max(rss, this.#rssPeak.get(d.id) ?? 0));
    }
  }

  /** Peak RSS per daemon since the last call, then starts a new period. */
  takeRssPeak(): Record<string, number> {
    this.sampleRss();
    const out = Object.fromEntries(this.#rssPeak);
    this.#rssPeak.clear();
    return out;
  }

  stopRssSampler(): void {
    if (this.#sampler !== null) clearInterval(this.#sampler);
    this.#sampler = null;
  }

  /** `/v1/cluster` of a daemon (null when it does not answer). */
  view(d: Daemon): Promise<ClusterView | null> {
    return getJson<ClusterView>(`${d.url}/v1/cluster`, 3_000, d.agent);
  }

  /**
   * Waits until every daemon in `members` answers /readyz with 2xx and sees
   * every other member as a live peer. Returns the ms it took, or throws
   * naming who is not there yet.
   */
  async waitHealthy(members: Daemon[], timeoutMs = 30_000): Promise<number> {
    let last = '';
    const r = await pollUntil(
      async () => {
        for (const d of members) {
          if (!d.alive) {
            last = `${d.id} is not running`;
            return null;
          }
          const ready = await getJson<unknown>(`${d.url}/readyz`, 2_000, d.agent);
          if (ready === null) {
            last = `${d.id} /readyz is not 2xx`;
            return null;
          }
          const view = await this.view(d);
          if (view === null) {
            last = `${d.id} /v1/cluster does not answer`;
            return null;
          }
          for (const other of members) {
            if (other === d) continue;
            const p = view.peers.find((x) => x.nodeId === other.id);
            if (p === undefined || p.state !== 'live') {
              last = `${d.id} sees ${other.id} as ${p?.state ?? 'unknown'}`;
              return null;
            }
          }
        }
        return true;
      },
      timeoutMs,
      200,
    );
    if (r === null) throw new Error(`cluster not healthy within ${timeoutMs} ms: ${last}`);
    return r.ms;
  }

  /**
   * A daemon's count for `key` of an exact limiter: `count` when the peek
   * carries it, else `limit - remaining` (exact while the count is under the
   * limit and no bucket has begun to leave the window). Null on no answer.
   */
  async count(d: Daemon, limiter: string, key: string): Promise<number | null> {
    const body = await getJson<PeekBody>(`${d.url}/v1/limiters/${limiter}/keys/${encodeURIComponent(key)}`, 3_000, d.agent);
    if (body === null) return null;
    if (typeof body.count === 'number') return body.count;
    if (typeof body.limit === 'number' && typeof body.remaining === 'number') return body.limit - body.remaining;
    return null;
  }

  /** Counts of every key on every daemon in `nodes`: `counts[node][key]` (null: no answer). */
  async counts(nodes: Daemon[], limiter: string, keys: string[]): Promise<Record<string, Record<string, number | null>>> {
    const out: Record<string, Record<string, number | null>> = {};
    await Promise.all(
      nodes.map(async (d) => {
        const row: Record<string, number | null> = {};
        for (const key of keys) row[key] = await this.count(d, limiter, key);
        out[d.id] = row;
      }),
    );
    return out;
  }
}
