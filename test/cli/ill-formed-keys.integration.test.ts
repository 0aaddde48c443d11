/**
 * Issue 9, defect 5 ("Ill-formed keys"), against two real daemons started
 * through the CLI. A key with a lone surrogate (JSON `"user:\ud800"`) has no
 * UTF-8 form: before the fix it was counted, went out as WTF-8 and arrived as
 * U+FFFD — another key — so each node enforced the limit alone (20 of 20
 * admitted with limit 10), the peer held a phantom key, and anti-entropy
 * repaired the same shard forever. Now every front door refuses it with
 * TALLYMESH_ERR_KEY_MALFORMED, a peer frame whose strings are not UTF-8 is
 * refused as malformed, and well-formed astral keys are limited cluster-wide.
 */
import { decode, encode } from '@msgpack/msgpack';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { encodeHlc } from '../../crdt/hlc.js';
import { decodeFrame, encodeFrame } from '../../transport/codec/codec.js';
import { FrameType, type Frame } from '../../transport/codec/frame.js';
import { computeMac, createNonce } from '../../transport/handshake.js';
import { CliProcess, eventually, startCli, type DaemonProcess } from './cli-process.js';

const SECRET = 'a-shared-secret-for-the-ill-formed-keys-test';
const dir = mkdtempSync(join(tmpdir(), 'tallymesh-ill-formed-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, SECRET, { mode: 0o600 });
const LIMIT = 10;
const COMMON = ['--port', '0', '--secret-file', secretFile, '--limiter', `name=api,limit=${LIMIT},window=60s`, '--gossip-interval', '20ms'];

const spawned: CliProcess[] = [];
afterAll(() => {
  for (const p of spawned) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** The body as a client writes it: the JSON escape `\ud800` is a lone surrogate once parsed. */
const LONE_HIGH = '{"limiter":"api","key":"user:\\ud800"}';
const LONE_LOW = '{"limiter":"api","key":"user:\\udc00"}';
/** What a lone surrogate turned into on a peer before the fix: WTF-8 bytes decoded as three U+FFFD. */
const PHANTOMS = ['user:\ufffd\ufffd\ufffd', 'user:\ufffd', 'phantom:\ufffd\ufffd\ufffd'];

interface Answer {
  status: number;
  body: any;
}

async function post(url: string, body: string): Promise<Answer> {
  const res = await fetch(`${url}/v1/consume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: await res.json() };
}

async function call(url: string, path: string, method = 'GET'): Promise<Answer> {
  const res = await fetch(`${url}${path}`, { method });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

async function keyCount(url: string): Promise<number> {
  const cluster = (await call(url, '/v1/cluster')).body as { limiters: Array<{ name: string; keys: number }> };
  return cluster.limiters.find((l) => l.name === 'api')?.keys ?? -1;
}

/** Hits of `key` the node counts now (the window is 60 s, so nothing slides out during the test). */
async function counted(url: string, key: string): Promise<number> {
  const peek = await call(url, `/v1/limiters/api/keys/${encodeURIComponent(key)}`);
  return LIMIT - (peek.body as { remaining: number }).remaining;
}

async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** A request frame for `/v1/stream` whose second key holds `bytes` in place of its `@` marker. */
function streamFrameWithKeyBytes(bytes: number[]): Uint8Array {
  const frame = encode([1, 42, [['api', 'stream-ok'], ['api', `user:${'@'.repeat(bytes.length)}`]]]);
  frame.set(bytes, Buffer.from(frame).indexOf(Buffer.alloc(bytes.length, '@')));
  return frame;
}

let a: DaemonProcess;
let b: DaemonProcess;

beforeAll(async () => {
  a = await startCli(['--id', 'a', ...COMMON]);
  spawned.push(a.proc);
  b = await startCli(['--id', 'b', '--peers', a.address, ...COMMON]);
  spawned.push(b.proc);
  await eventually(async () => {
    const [ca, cb] = await Promise.all([a.url, b.url].map(async (u) => (await call(u, '/v1/cluster')).body as { peers: Array<{ nodeId: string; reachable: boolean }> }));
    return ca.peers.some((p) => p.nodeId === 'b' && p.reachable) && cb.peers.some((p) => p.nodeId === 'a' && p.reachable);
  }, 15_000, 'a and b to join');
}, 30_000);

describe('ill-formed keys against two daemons (issue 9, defect 5)', () => {
  it('answers a lone surrogate key with 400 TALLYMESH_ERR_KEY_MALFORMED on both nodes, and admits none of 20 (the audit admitted 20 of 20)', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 20; i++) answers.push(await post(i % 2 === 0 ? a.url : b.url, i % 4 < 2 ? LONE_HIGH : LONE_LOW));
    expect(answers.filter((r) => r.body.allowed === true).length, 'admitted').toBe(0);
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('TALLYMESH_ERR_KEY_MALFORMED');
      // The message shows the key JSON-escaped.
      expect(answer.body.error.message).toMatch(/user:\\ud[8c]00/);
    }
  });

  it('refuses the ill-formed items of a batch with the code and decides the others', async () => {
    for (const node of [a, b]) {
      const answer = await post(
        node.url,
        `{"requests":[{"limiter":"api","key":"user:\\ud800"},{"limiter":"api","key":"batch-ok-${node === a ? 'a' : 'b'}"},{"limiter":"api","key":"\\udfff\\ud800"}]}`,
      );
      expect(answer.status).toBe(200);
      const results = answer.body.results as Array<{ error?: { code: string }; allowed?: boolean }>;
      expect(results.map((r) => r.error?.code ?? r.allowed)).toEqual(['TALLYMESH_ERR_KEY_MALFORMED', true, 'TALLYMESH_ERR_KEY_MALFORMED']);
    }
  });

  it('answers peek and reset of a key whose percent-escapes are not UTF-8 with 400 TALLYMESH_ERR_KEY_MALFORMED', async () => {
    // %ED%A0%80 is "\ud800" written as WTF-8: what a lenient client would put in a path.
    for (const node of [a, b]) {
      for (const method of ['GET', 'DELETE']) {
        const answer = await call(node.url, '/v1/limiters/api/keys/user%3A%ED%A0%80', method);
        expect(answer.status, method).toBe(400);
        expect(answer.body.error.code, method).toBe('TALLYMESH_ERR_KEY_MALFORMED');
      }
      // Escapes that are not escapes at all stay a bad request.
      expect((await call(node.url, '/v1/limiters/api/keys/user%ZZ')).body.error.code).toBe('TALLYMESH_ERR_HTTP_BAD_REQUEST');
    }
  });

  it('refuses a /v1/stream item whose key bytes are not UTF-8 with the code, and decides the rest of the batch', async () => {
    const ws = new WebSocket(`${a.url.replace(/^http/, 'ws')}/v1/stream`);
    await once(ws, 'open');
    try {
      ws.send(streamFrameWithKeyBytes([0xed, 0xa0, 0x80]));
      const [data] = (await once(ws, 'message')) as [Buffer];
      const [version, id, decisions, errors] = decode(data) as [number, number, unknown[], unknown[][]];
      expect([version, id]).toEqual([1, 42]);
      expect(decisions[0]).toEqual([true, LIMIT, LIMIT - 1, expect.any(Number), 0]);
      expect(decisions[1]).toBeNull();
      expect(errors).toEqual([[1, 'TALLYMESH_ERR_KEY_MALFORMED', expect.stringMatching(/UTF-8/)]]);
    } finally {
      ws.close();
    }
  });

  it('limits a well-formed emoji key cluster-wide: 10 of 20 admitted across the two nodes, counted alike on both', async () => {
    const key = 'user:😀';
    let admitted = 0;
    for (let i = 0; i < 20; i++) {
      const answer = await post(i % 2 === 0 ? a.url : b.url, JSON.stringify({ limiter: 'api', key }));
      expect(answer.status).toBe(200);
      if (answer.body.allowed === true) admitted++;
      // Converge before the next request, so the figure measures the limit and not the gossip delay.
      const expected = admitted;
      await eventually(async () => (await counted(a.url, key)) === expected && (await counted(b.url, key)) === expected, 10_000, `both nodes to count ${expected}`);
    }
    expect(admitted).toBe(LIMIT);
    // The JSON escape of the same pair is the same key.
    expect((await post(b.url, '{"limiter":"api","key":"user:\\ud83d\\ude00"}')).body.allowed).toBe(false);
  });

  it('leaves no phantom key on the peer: a marker sent after the refused keys arrives, and both nodes hold the same keys', async () => {
    const before = await keyCount(b.url);
    for (let i = 0; i < 10; i++) expect((await post(a.url, '{"limiter":"api","key":"phantom:\\ud800"}')).status).toBe(400);
    expect((await post(a.url, JSON.stringify({ limiter: 'api', key: 'marker' }))).body.allowed).toBe(true);
    // Deltas from one node arrive in order: once the marker is counted on b, anything sent before it was too.
    await eventually(async () => (await counted(b.url, 'marker')) === 1, 10_000, 'the marker to reach b');
    expect(await keyCount(b.url)).toBe(before + 1);
    for (const phantom of PHANTOMS) {
      const peek = await call(b.url, `/v1/limiters/api/keys/${encodeURIComponent(phantom)}?cells=1`);
      expect(peek.body.remaining, phantom).toBe(LIMIT);
      expect(peek.body.cells, phantom).toEqual([]);
    }
    await eventually(async () => (await keyCount(a.url)) === (await keyCount(b.url)), 10_000, 'both nodes to hold the same keys');
  });

  it('refuses a peer frame whose key is not UTF-8 as malformed: the link is closed (4004), counted, and nothing is merged', async () => {
    const rejectedBefore = await metric(a.url, 'tallymesh_frames_rejected_total{reason="malformed"}');
    const peer = await RoguePeer.join(a.address);
    const bucket = Math.floor(Date.now() / 1000);
    // A valid DELTA with the marker key, then its bytes patched to "user:" + WTF-8 of "\ud800".
    const bad = encodeFrame(peer.delta('user:@@@', bucket));
    bad.set([0xed, 0xa0, 0x80], Buffer.from(bad).indexOf('user:@@@') + 5);
    peer.ws.send(bad);
    // A well-formed frame right behind it: merged only if the link survived the bad one.
    peer.ws.send(encodeFrame(peer.delta('rogue-after', bucket)));
    // Bounded: either the link closes, or (the defect) the frame behind the bad one is merged.
    await eventually(async () => peer.closure !== null || (await counted(a.url, 'rogue-after')) > 0, 10_000, 'the link to close or the next frame to merge');
    expect(peer.closure).toEqual([4004, 'malformed']);
    await eventually(async () => (await metric(a.url, 'tallymesh_frames_rejected_total{reason="malformed"}')) === rejectedBefore + 1, 10_000, 'the refusal to be counted');
    for (const key of [...PHANTOMS, 'rogue-after']) expect(await counted(a.url, key), key).toBe(0);
  });
});

/** A peer that holds the cluster secret and speaks the handshake by hand, so it can send bytes no tallymesh node would. */
class RoguePeer {
  readonly ws: WebSocket;
  readonly closed: Promise<[number, string]>;
  readonly replica = `rogue#${randomBytes(4).toString('hex')}`;
  /** [close code, reason] once the daemon closed the link. */
  closure: [number, string] | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) =>
      ws.once('close', (code: number, reason: Buffer) => {
        this.closure = [code, reason.toString('utf8')];
        resolve(this.closure);
      }),
    );
  }

  /** Dials `address`, proves the secret, and resolves once the listener accepted the proof. */
  static async join(address: string): Promise<RoguePeer> {
    const ws = new WebSocket(`ws://${address}/v1/mesh`);
    ws.binaryType = 'nodebuffer';
    const peer = new RoguePeer(ws);
    const frames: Frame[] = [];
    let arrived: () => void = () => {};
    ws.on('message', (data: RawData) => {
      frames.push(decodeFrame(data as Buffer));
      arrived();
    });
    await once(ws, 'open');
    const nonce = createNonce();
    const id = 'rogue';
    ws.send(encodeFrame({ type: FrameType.HELLO, hlc: 0, body: { nodeId: id, address: '', incarnation: 'x1', nonce } }));
    // The listener answers HELLO then AUTH.
    while (frames.filter((f) => f.type === FrameType.HELLO || f.type === FrameType.AUTH).length < 2) {
      await Promise.race([new Promise<void>((resolve) => (arrived = resolve)), peer.closed.then(([code, reason]) => Promise.reject(new Error(`closed ${code} ${reason}`)))]);
    }
    const hello = frames.find((f) => f.type === FrameType.HELLO);
    if (hello?.type !== FrameType.HELLO) throw new Error('no HELLO');
    const mac = computeMac(SECRET, 'dialer', nonce, hello.body.nonce, id, hello.body.nodeId);
    ws.send(encodeFrame({ type: FrameType.AUTH, hlc: 0, body: { mac } }));
    // The link is open once the listener sends state: anything after the handshake frames.
    while (frames.length < 3) {
      await Promise.race([new Promise<void>((resolve) => (arrived = resolve)), peer.closed.then(([code, reason]) => Promise.reject(new Error(`closed ${code} ${reason}`)))]);
    }
    return peer;
  }

  /** A DELTA of one hit of `key` in `bucket`, stamped with the current time. */
  delta(key: string, bucket: number): Frame {
    return {
      type: FrameType.DELTA,
      hlc: encodeHlc(Date.now(), 0),
      body: { batches: [{ name: 'api', windowMs: 60_000, buckets: 60, limit: null, replicas: [this.replica], keys: [[key, [bucket, 0, 0, 1]]] }] },
    };
  }
}
