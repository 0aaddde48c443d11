/**
 * The honest client of the hostile-client suite: consume requests at a steady
 * rate over one keep-alive connection (as a service with a connection pool
 * does), each latency recorded in an HDR histogram of the phase it was
 * scheduled in.
 *
 * The client runs in a worker thread, so the attack the test's main thread
 * drives (hundreds of sockets, megabyte strings) does not delay the honest
 * client's own timers and reads: what it measures is the daemon (and the
 * shared CPU), not the test. Latency is taken from the moment a request was
 * *due*, not from when it was sent: a request held up behind a slow one
 * counts the wait too (HdrHistogram's coordinated-omission correction), so a
 * stalled server cannot hide behind a client that politely stopped sending.
 */
import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';

/** An honest request slower than this is a failure. */
const REQUEST_TIMEOUT_MS = 5_000;

/** The worker: plain JavaScript (a worker cannot load TypeScript), node built-ins only. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, limiter, key, intervalMs, timeoutMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const body = JSON.stringify({ limiter, key });
let phase = 'baseline';
let running = true;
parentPort.on('message', (m) => {
  if (m.phase !== undefined) phase = m.phase;
  if (m.stop === true) running = false;
});
function consume() {
  return new Promise((resolve) => {
    const req = http.request(url + '/v1/consume', {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        clearTimeout(timer);
        let allowed = false;
        try { allowed = JSON.parse(text).allowed === true; } catch {}
        resolve(res.statusCode === 200 && allowed ? null : 'status ' + res.statusCode + ' ' + text.slice(0, 120));
      });
      res.on('error', (err) => resolve(err.message));
    });
    const timer = setTimeout(() => req.destroy(new Error('no response within ' + timeoutMs + ' ms')), timeoutMs);
    req.on('error', (err) => { clearTimeout(timer); resolve(err.message); });
    req.end(body);
  });
}
(async () => {
  const start = performance.now();
  for (let i = 0; running; i++) {
    const due = start + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (!running) break;
    const p = phase;
    const failure = await consume();
    const us = Math.max(1, Math.round((performance.now() - due) * 1000));
    parentPort.postMessage({ phase: p, us, failure: failure === null ? undefined : p + ' #' + i + ': ' + failure });
  }
  agent.destroy();
  parentPort.postMessage({ done: true });
})();
`;

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

/** A steady stream of consume requests from a worker thread, with latency per phase. */
export class HonestLoad {
  /** Requests that were not answered 200 and allowed in time, with what happened. */
  readonly failures: string[] = [];
  #opts: HonestLoadOptions;
  #phases = new Map<string, hdr.Histogram>();
  #worker: Worker | undefined;
  #done: Promise<void> | undefined;

  constructor(options: HonestLoadOptions) {
    this.#opts = options;
  }

  /** Starts sending; samples go to the phase 'baseline' until {@link phase} is called. */
  start(): void {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ...this.#opts, timeoutMs: REQUEST_TIMEOUT_MS } });
    this.#worker = worker;
    this.#done = new Promise((resolve, reject) => {
      worker.on('message', (m: { phase?: string; us?: number; failure?: string; done?: boolean }) => {
        if (m.done === true) resolve();
        if (m.phase === undefined || m.us === undefined) return;
        this.#histogram(m.phase).recordValue(m.us);
        if (m.failure !== undefined) this.failures.push(m.failure);
      });
      worker.once('error', reject);
      worker.once('exit', () => resolve());
    });
  }

  /** Samples of requests due from now on go to `phase`. */
  phase(name: string): void {
    this.#worker?.postMessage({ phase: name });
  }

  /** Stops after the request in flight. */
  async stop(): Promise<void> {
    this.#worker?.postMessage({ stop: true });
    await this.#done;
    await this.#worker?.terminate();
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
}
