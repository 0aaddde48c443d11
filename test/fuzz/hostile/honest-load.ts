/**
 * The honest client of the hostile-client suite: consume requests at a steady
 * rate over one keep-alive connection (as a service with a connection pool
 * does), each latency recorded in an HDR histogram of the phase it was
 * scheduled in.
 *
 * Latency is measured from the moment a request was *due*, not from when it
 * was sent: a request held up behind a slow one counts the wait too (the
 * coordinated-omission correction of HdrHistogram), so a stalled server
 * cannot hide behind a client that politely stopped sending.
 */
import http from 'node:http';
import * as hdr from 'hdr-histogram-js';
import { requestJson } from '../../faults/http.js';

/** An honest request slower than this is a failure. */
const REQUEST_TIMEOUT_MS = 5_000;

/** Latency figures of one phase, in milliseconds. */
export interface LatencyFigures {
  requests: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Options of {@link HonestLoad}. */
export interface HonestLoadOptions {
  url: string;
  limiter: string;
  key: string;
  /** One request every this many milliseconds. */
  intervalMs: number;
}

/** A steady stream of consume requests, with latency per phase. */
export class HonestLoad {
  /** Requests that were not answered 200 in time, with what happened. */
  readonly failures: string[] = [];
  #opts: HonestLoadOptions;
  #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  #phases = new Map<string, hdr.Histogram>();
  #phase = 'baseline';
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(options: HonestLoadOptions) {
    this.#opts = options;
  }

  /** Starts sending; samples go to the current phase. */
  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Samples of requests due from now on go to `phase`. */
  phase(name: string): void {
    this.#phase = name;
  }

  /** Stops after the request in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    this.#agent.destroy();
  }

  /** Latency figures of `phase`. */
  figures(phase: string): LatencyFigures {
    const h = this.#histogram(phase);
    const ms = (us: number): number => Math.round(us / 10) / 100;
    return {
      requests: h.totalCount,
      p50: ms(h.getValueAtPercentile(50)),
      p99: ms(h.getValueAtPercentile(99)),
      p999: ms(h.getValueAtPercentile(99.9)),
      max: ms(h.maxValue),
    };
  }

  #histogram(phase: string): hdr.Histogram {
    let h = this.#phases.get(phase);
    if (h === undefined) {
      // Microseconds from 1 µs to 60 s, three significant digits.
      h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
      this.#phases.set(phase, h);
    }
    return h;
  }

  async #run(): Promise<void> {
    const { url, limiter, key, intervalMs } = this.#opts;
    const start = performance.now();
    for (let i = 0; this.#running; i++) {
      const due = start + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!this.#running) break;
      const phase = this.#phase;
      try {
        const res = await requestJson(`${url}/v1/consume`, {
          method: 'POST',
          body: { limiter, key },
          agent: this.#agent,
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
        if (res.status !== 200 || (res.body as { allowed?: unknown } | null)?.allowed !== true) {
          this.failures.push(`${phase} #${i}: status ${res.status} ${res.text.slice(0, 120)}`);
        }
      } catch (err) {
        this.failures.push(`${phase} #${i}: ${(err as Error).message}`);
      }
      this.#histogram(phase).recordValue(Math.max(1, Math.round((performance.now() - due) * 1000)));
    }
  }
}
