/**
 * Soak load: keep-alive `POST /v1/consume` over the daemons, either as fast
 * as `concurrency` allows (peak) or paced at a steady rate. Counts admitted
 * hits per key of the exact limiter (the truth for the final check), errors
 * by kind, and per-second throughput and latency.
 */
import http from 'node:http';
import type { SoakDaemon } from './soak-cluster.js';

/** A key choice: limiter and key. */
export type KeyPicker = (i: number) => { limiter: string; key: string };

/** One second of client-side figures. */
export interface LoadSecond {
  decisions: number;
  errors: number;
  p99Ms: number;
}

/** What a load run saw. */
export class LoadStats {
  decisions = 0;
  admitted = 0;
  errors: Record<string, number> = {};
  /** Admitted hits per key of the exact limiter. */
  readonly truth = new Map<string, number>();
  /** Requests whose outcome is unknown (connection broke mid-request), per exact key. */
  readonly unknown = new Map<string, number>();
  #second: number[] = [];
  #secondErrors = 0;

  /** Takes the figures of the second that just ended. */
  takeSecond(): LoadSecond {
    const lat = this.#second.sort((a, b) => a - b);
    const out = { decisions: lat.length, errors: this.#secondErrors, p99Ms: lat.length === 0 ? 0 : lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] };
    this.#second = [];
    this.#secondErrors = 0;
    return out;
  }

  get errorCount(): number {
    return Object.values(this.errors).reduce((a, b) => a + b, 0);
  }

  record(ms: number): void {
    this.#second.push(ms);
  }

  error(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    this.#secondErrors++;
  }
}

function consume(d: SoakDaemon, agent: http.Agent, body: string): Promise<{ status: number; allowed: boolean | null }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${d.url}/v1/consume`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { allowed?: unknown };
            resolve({ status: res.statusCode ?? 0, allowed: typeof parsed.allowed === 'boolean' ? parsed.allowed : null });
          } catch {
            resolve({ status: res.statusCode ?? 0, allowed: null });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs load until `until()` is false. `ratePerSec` 0: as fast as `concurrency` allows. */
export async function runLoad(
  daemons: SoakDaemon[],
  pick: KeyPicker,
  exactLimiter: string,
  stats: LoadStats,
  options: { ratePerSec: number; concurrency: number; until: () => boolean },
): Promise<void> {
  const agents = daemons.map(() => new http.Agent({ keepAlive: true, maxSockets: options.concurrency }));
  const interval = options.ratePerSec > 0 ? (1000 * options.concurrency * daemons.length) / options.ratePerSec : 0;
  let seq = 0;
  const worker = async (di: number, w: number): Promise<void> => {
    const d = daemons[di];
    let next = Date.now() + (interval * w) / options.concurrency;
    // Bounded by until(): the caller's deadline.
    for (let n = 0; options.until() && n < 100_000_000; n++) {
      if (interval > 0) {
        const wait = next - Date.now();
        next = Math.max(next + interval, Date.now());
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (!options.until()) break;
      }
      const { limiter, key } = pick(seq++);
      const t0 = performance.now();
      try {
        const r = await consume(d, agents[di], `{"limiter":"${limiter}","key":"${key}"}`);
        if (r.status === 200 && r.allowed !== null) {
          stats.decisions++;
          stats.record(performance.now() - t0);
          if (r.allowed) {
            stats.admitted++;
            if (limiter === exactLimiter) stats.truth.set(key, (stats.truth.get(key) ?? 0) + 1);
          }
        } else stats.error(`http ${r.status}`);
      } catch (err) {
        stats.error((err as NodeJS.ErrnoException).code ?? (err as Error).message);
        if (limiter === exactLimiter) stats.unknown.set(key, (stats.unknown.get(key) ?? 0) + 1);
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let di = 0; di < daemons.length; di++) for (let w = 0; w < options.concurrency; w++) workers.push(worker(di, w));
  await Promise.all(workers);
  for (const a of agents) a.destroy();
}
