/**
 * Clients of the daemon scenario, all in the benchmark's own process: the
 * daemon's `POST /v1/consume` (single and batch) over keep-alive
 * `http.Agent` sockets, `/v1/stream` over one WebSocket with pipelined
 * MessagePack frames, and the package's own `tallymesh/client` one consume
 * per call. The ioredis clients (Redis scripts and the daemon's RESP port)
 * are in redis-clients.ts.
 *
 * Each client exposes `issue()`: send one request (one decision, or one
 * batch), resolve with the number of decisions it got back once the answer
 * is read, parsed and checked. The closed-loop driver (daemon-load.ts) keeps
 * a fixed number of `issue()` calls in flight.
 */
import http from 'node:http';
import { Packr, Unpackr } from 'msgpackr';
import { WebSocket, type RawData } from 'ws';
import { createClient } from '../../src/client/index.js';

/** A load target: issue one request, resolve with the decisions it carried. */
export interface Client {
  issue(): Promise<number>;
  close(): Promise<void>;
}

/** `count` keys named like real ones, drawn uniformly by {@link KeyPicker}. */
export class KeyPicker {
  readonly keys: string[];
  constructor(count: number, prefix = 'user:') {
    this.keys = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  }
  next(): string {
    return this.keys[(Math.random() * this.keys.length) | 0];
  }
}

// --- HTTP -------------------------------------------------------------------

/** Keep-alive sockets to the daemon, at most `sockets` of them. */
export function keepAliveAgent(sockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'fifo' });
}

function postJson(agent: http.Agent, url: URL, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: '/v1/consume',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`POST /v1/consume answered ${res.statusCode}: ${text.slice(0, 200)}`));
          else resolve(text);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `POST /v1/consume` with one request per call, over `agent`. */
export function httpSingleClient(baseUrl: string, agent: http.Agent, limiter: string, keys: KeyPicker): Client {
  const url = new URL(baseUrl);
  return {
    async issue() {
      const d = JSON.parse(await postJson(agent, url, JSON.stringify({ limiter, key: keys.next() }))) as { allowed?: boolean };
      if (d.allowed !== true) throw new Error(`http-single: expected an admitted decision, got ${JSON.stringify(d)}`);
      return 1;
    },
    async close() {
      agent.destroy();
    },
  };
}

/** `POST /v1/consume` with `{ requests: [...] }` of `batchSize` requests per call, over `agent`. */
export function httpBatchClient(baseUrl: string, agent: http.Agent, limiter: string, keys: KeyPicker, batchSize: number): Client {
  const url = new URL(baseUrl);
  return {
    async issue() {
      const requests = new Array<{ limiter: string; key: string }>(batchSize);
      for (let i = 0; i < batchSize; i++) requests[i] = { limiter, key: keys.next() };
      const { results } = JSON.parse(await postJson(agent, url, JSON.stringify({ requests }))) as { results: Array<{ allowed?: boolean }> };
      if (results.length !== batchSize) throw new Error(`http-batch: ${results.length} results for ${batchSize} requests`);
      for (const r of results) if (r.allowed !== true) throw new Error(`http-batch: expected admitted decisions, got ${JSON.stringify(r)}`);
      return batchSize;
    },
    async close() {
      agent.destroy();
    },
  };
}

// --- /v1/stream ----------------------------------------------------------------

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

/**
 * One `/v1/stream` WebSocket. Frames are pipelined; answers come back in order
 * and are matched by id. `send()` resolves with the decoded, checked answer.
 */
export class StreamConnection {
  #ws: WebSocket;
  #nextId = 0;
  #pending = new Map<number, { n: number; resolve: (n: number) => void; reject: (e: Error) => void }>();
  #failure: Error | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data: RawData) => this.#onMessage(data as Buffer));
    ws.on('close', (code, reason) => this.#fail(new Error(`stream closed (${code} ${reason.toString()})`)));
    ws.on('error', (err) => this.#fail(err));
  }

  /** Opens `/v1/stream` on the daemon at `baseUrl`. */
  static open(baseUrl: string): Promise<StreamConnection> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/stream`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new StreamConnection(ws));
      });
      ws.once('error', reject);
    });
  }

  /** Frames sent and not answered yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends `[1, id, [[limiter, key], ...]]`; resolves with the number of decisions once its answer is read and checked. */
  send(requests: ReadonlyArray<readonly [string, string]>): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const frame = packr.pack([1, id, requests]);
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { n: requests.length, resolve, reject });
      this.#ws.send(frame, { binary: true });
    });
  }

  #onMessage(data: Buffer): void {
    const frame = unpackr.unpack(data) as [number, number, Array<[boolean, number, number, number, number] | null>, unknown[]];
    const [version, id, decisions, errors] = frame;
    const p = this.#pending.get(id);
    if (p === undefined) return this.#fail(new Error(`stream answered unknown id ${id}`));
    this.#pending.delete(id);
    if (version !== 1 || decisions.length !== p.n || errors.length !== 0) {
      return p.reject(new Error(`stream: bad answer to frame ${id}: ${decisions.length}/${p.n} decisions, errors ${JSON.stringify(errors).slice(0, 200)}`));
    }
    for (const d of decisions) if (d === null || d[0] !== true) return p.reject(new Error(`stream: expected admitted decisions, got ${JSON.stringify(d)}`));
    p.resolve(p.n);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** Closes the WebSocket and waits for it to be closed. */
  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    this.#failure ??= new Error('stream closed by the client');
    await new Promise<void>((resolve) => {
      this.#ws.once('close', () => resolve());
      this.#ws.close(1000, 'done');
    });
  }
}

/** A batch of `size` requests for `limiter` with keys from `keys`. */
export function streamBatch(limiter: string, keys: KeyPicker, size: number): Array<[string, string]> {
  const batch = new Array<[string, string]>(size);
  for (let i = 0; i < size; i++) batch[i] = [limiter, keys.next()];
  return batch;
}

/** `/v1/stream` frames of `batchSize` requests, pipelined on one connection. */
export async function streamClient(baseUrl: string, limiter: string, keys: KeyPicker, batchSize: number): Promise<Client> {
  const conn = await StreamConnection.open(baseUrl);
  return {
    issue: () => conn.send(streamBatch(limiter, keys, batchSize)),
    close: () => conn.close(),
  };
}

/**
 * `tallymesh/client` as a Node service uses it: one `consume()` per call,
 * each awaited. The client itself coalesces the calls made in one tick into
 * one frame, so with many calls in flight its frames carry several requests.
 */
export function streamSingleClient(baseUrl: string, limiter: string, keys: KeyPicker): Client {
  // A generous deadline: a slow answer on a loaded machine is a figure, not a failure.
  const client = createClient({ urls: [baseUrl], timeoutMs: 10_000, failMode: 'error' });
  return {
    async issue() {
      const d = await client.consume(limiter, keys.next());
      if (!d.allowed || d.source !== 'daemon') throw new Error(`stream-single: expected an admitted decision from the daemon, got ${JSON.stringify(d)}`);
      return 1;
    },
    close: () => client.close(),
  };
}
