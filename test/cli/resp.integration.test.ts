/**
 * The Redis protocol front end (issue 12, item 2) against daemons started
 * through the CLI: ioredis with its default ready check, a raw RESP3 client
 * with its own reply reader, AUTH with the API token, bad input, an HTTP
 * request sent to the port, and a client that pipelines without reading.
 */
import { HAS_OPENSSL, selfSignedCert } from '../helpers/tls.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rssBytes } from '../helpers/raw-ws.js';
import { multibulk, RawResp, type Reply } from '../helpers/resp-client.js';
import { eventually, startCli, type DaemonProcess } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-resp-'));
const tokenFile = join(dir, 'token');
const TOKEN = 'resp-test-token-0123456789';
writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });

const daemons: DaemonProcess[] = [];
const clients: Array<{ disconnect(): void } | RawResp> = [];
afterAll(() => {
  for (const c of clients) (c instanceof RawResp ? c.socket.destroy() : c.disconnect());
  for (const d of daemons) d.proc.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a daemon with a RESP port and reads the port from its output. */
async function startResp(args: string[]): Promise<DaemonProcess & { respPort: number }> {
  const d = await startCli(['--port', '0', '--resp-port', '0', '--log-level', 'warn', ...args]);
  daemons.push(d);
  const [, port] = await d.proc.waitForStdout(/^tallymesh resp listening on port (\d+)$/m);
  return { ...d, respPort: Number(port) };
}

async function raw(port: number): Promise<RawResp> {
  const c = await RawResp.connect(port);
  clients.push(c);
  return c;
}

async function scrape(url: string, re: RegExp): Promise<number> {
  const m = re.exec(await (await fetch(`${url}/metrics`)).text());
  return m === null ? 0 : Number(m[1]);
}

const ints = (r: Reply): number[] => (r.value as Reply[]).map((x) => x.value as number);

describe('RESP port without a token', () => {
  let d: DaemonProcess & { respPort: number };
  beforeAll(async () => {
    d = await startResp(['--limiter', 'name=api,limit=1000,window=60s', '--limiter', 'name=big,limit=1000000000,window=60s']);
  });

  it('serves ioredis with its default ready check, and enforces the limit exactly over 1,000 pipelined commands', async () => {
    const redis = new Redis({ port: d.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    clients.push(redis);
    await redis.connect(); // ready check: INFO, loading:0
    expect(redis.status).toBe('ready');
    const first = (await redis.call('TM.CONSUME', 'api', 'one')) as number[];
    expect(first.slice(0, 3)).toEqual([1, 1000, 999]);
    expect(first[3]).toBeGreaterThan(0);
    expect(first[4]).toBe(0);

    const pipeline = redis.pipeline();
    for (let i = 0; i < 1000; i++) pipeline.call('TM.CONSUME', 'api', 'piped');
    const started = performance.now();
    const results = (await pipeline.exec()) ?? [];
    const ms = performance.now() - started;
    console.log(`resp: 1,000 pipelined TM.CONSUME through ioredis in ${ms.toFixed(1)} ms`);
    expect(results).toHaveLength(1000);
    results.forEach(([err, r], i) => {
      expect(err).toBe(null);
      expect((r as number[]).slice(0, 3)).toEqual([1, 1000, 999 - i]);
    });
    const denied = (await redis.call('TM.CONSUME', 'api', 'piped')) as number[];
    expect(denied[0]).toBe(0);
    expect(denied[2]).toBe(0);
    expect(denied[4]).toBeGreaterThan(0);
    expect(((await redis.call('TM.PEEK', 'api', 'piped')) as number[])[0]).toBe(0);
    // The same decision path as HTTP: the HTTP API sees the count, and the denial is in /metrics.
    const key = (await (await fetch(`${d.url}/v1/limiters/api/keys/piped`)).json()) as { count: number };
    expect(key.count).toBe(1000);
    expect(await scrape(d.url, /^tallymesh_decisions_total\{limiter="api",result="denied"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(await redis.call('TM.RESET', 'api', 'piped')).toBe('OK');
    expect(((await redis.call('TM.CONSUME', 'api', 'piped')) as number[]).slice(0, 3)).toEqual([1, 1000, 999]);
    expect(await redis.ping()).toBe('PONG');
  });

  it('serves ioredis over RESP3 (HELLO 3 on connect)', async () => {
    const redis = new Redis({ port: d.respPort, host: '127.0.0.1', protocol: 3, lazyConnect: true, maxRetriesPerRequest: 0 });
    clients.push(redis);
    await redis.connect();
    expect(((await redis.call('TM.CONSUME', 'api', 'resp3')) as number[]).slice(0, 3)).toEqual([1, 1000, 999]);
  });

  it('answers a raw RESP3 client with RESP3 types after HELLO 3', async () => {
    const c = await raw(d.respPort);
    expect(await c.call('CLIENT', 'GETNAME')).toEqual({ type: '$', value: null });
    const hello = await c.call('HELLO', '3', 'SETNAME', 'raw');
    expect(hello.type).toBe('%');
    const fields = new Map((hello.value as Array<[Reply, Reply]>).map(([k, v]) => [k.value, v]));
    expect(fields.get('server')).toEqual({ type: '$', value: 'tallymesh' });
    expect(fields.get('proto')).toEqual({ type: ':', value: 3 });
    // The version HELLO reports is kept by hand in src/daemon/daemon.ts: it must follow package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(fields.get('version')).toEqual({ type: '$', value: pkg.version });
    expect(await c.call('CLIENT', 'GETNAME')).toEqual({ type: '$', value: 'raw' });
    expect(await c.call('CLIENT', 'SETNAME', 'x')).toEqual({ type: '+', value: 'OK' });
    expect(await c.call('CLIENT', 'SETINFO', 'LIB-NAME', 'raw')).toEqual({ type: '+', value: 'OK' });
    const r = await c.call('TM.CONSUME', 'api', 'raw3', '5');
    expect(r.type).toBe('*');
    expect(ints(r).slice(0, 3)).toEqual([1, 1000, 995]);
    expect((r.value as Reply[]).every((x) => x.type === ':')).toBe(true);
    expect(await c.call('PING')).toEqual({ type: '+', value: 'PONG' });
    expect((await c.call('INFO')).type).toBe('=');
    expect((await c.call('COMMAND', 'DOCS')).type).toBe('%');
    expect(await c.call('SELECT', '0')).toEqual({ type: '+', value: 'OK' });
    expect(await c.call('QUIT')).toEqual({ type: '+', value: 'OK' });
    await c.closed;
  });

  it('answers bad commands, wrong arity, unknown limiters and bad costs with Redis errors and keeps the connection', async () => {
    const c = await raw(d.respPort);
    c.socket.write(
      [
        multibulk('NOPE', 'x'),
        multibulk('TM.CONSUME', 'api'),
        multibulk('TM.CONSUME', 'x', 'k'),
        multibulk('TM.CONSUME', 'api', 'k', 'zero'),
        multibulk('TM.CONSUME', 'api', 'k', '0'),
        multibulk('TM.CONSUME', 'api', ''),
        multibulk('TM.CONSUME', 'api', 'é'.repeat(129)),
        multibulk('SELECT', '1'),
        multibulk('HELLO', '4'),
        multibulk('AUTH', 'whatever'),
        multibulk('PING'),
      ].join(''),
    );
    const replies = await c.take(11);
    expect(replies.map((r) => r.value)).toEqual([
      "ERR TALLYMESH_ERR_RESP_UNKNOWN_COMMAND Unknown command 'NOPE'",
      "ERR TALLYMESH_ERR_RESP_ARITY Wrong number of arguments for 'tm.consume'",
      'ERR TALLYMESH_ERR_LIMITER_UNKNOWN No limiter named "x"',
      expect.stringMatching(/^ERR TALLYMESH_ERR_COST_INVALID /),
      expect.stringMatching(/^ERR TALLYMESH_ERR_COST_INVALID /),
      expect.stringMatching(/^ERR TALLYMESH_ERR_KEY_INVALID /),
      expect.stringMatching(/^ERR TALLYMESH_ERR_KEY_TOO_LONG /),
      'ERR TALLYMESH_ERR_RESP_DB Only database 0 exists, got 1',
      'NOPROTO TALLYMESH_ERR_RESP_NOPROTO Protocol version 4 is not supported (2 or 3)',
      expect.stringMatching(/^ERR TALLYMESH_ERR_RESP_AUTH_NOT_CONFIGURED AUTH called without any password configured for the default user/),
      'PONG',
    ]);
    expect(replies.slice(0, 10).every((r) => r.type === '-')).toBe(true);
    expect(await scrape(d.url, /^tallymesh_resp_errors_total\{code="TALLYMESH_ERR_RESP_ARITY"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
  });

  it('answers an oversized argument or too many arguments with a protocol error and closes', async () => {
    const big = await raw(d.respPort);
    big.socket.write(`*3\r\n$10\r\nTM.CONSUME\r\n$3\r\napi\r\n$5000\r\n`);
    const [r] = await big.take(1);
    expect(r).toEqual({ type: '-', value: 'ERR TALLYMESH_ERR_RESP_PROTOCOL Protocol error: argument too long (at most 1024 bytes, got 5000)' });
    await big.closed;
    const many = await raw(d.respPort);
    many.socket.write('*17\r\n');
    expect((await many.take(1))[0].value).toMatch(/^ERR TALLYMESH_ERR_RESP_PROTOCOL Protocol error: too many arguments/);
    await many.closed;
    const notResp = await raw(d.respPort);
    notResp.socket.write('*1\r\n+PING\r\n');
    expect((await notResp.take(1))[0].value).toMatch(/^ERR TALLYMESH_ERR_RESP_PROTOCOL Protocol error: expected '\$'/);
    await notResp.closed;
  });

  it('closes a connection that sends an HTTP request without answering anything', async () => {
    for (const request of ['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'POST /v1/consume HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}']) {
      const c = await raw(d.respPort);
      c.socket.write(request);
      await c.closed;
      expect(c.received).toBe(0);
    }
    // fetch() sees the connection cut, not a response.
    await expect(fetch(`http://127.0.0.1:${d.respPort}/v1/cluster`)).rejects.toThrow();
    expect(await scrape(d.url, /^tallymesh_resp_closed_total\{reason="http"\} (\d+)$/m)).toBeGreaterThanOrEqual(3);
  });

  it('shows the RESP port in /v1/cluster and its connections and commands in /metrics', async () => {
    const cluster = (await (await fetch(`${d.url}/v1/cluster`)).json()) as { ports: unknown };
    expect(cluster.ports).toEqual({ http: Number(new URL(d.url).port), resp: d.respPort });
    expect(await scrape(d.url, /^tallymesh_resp_commands_total\{command="tm.consume"\} (\d+)$/m)).toBeGreaterThanOrEqual(1000);
    expect(await scrape(d.url, /^tallymesh_resp_connections (\d+)$/m)).toBeGreaterThanOrEqual(1);
  });

  it('stops reading from a client that pipelines without reading its replies, and serves it all once it reads', async () => {
    const COMMANDS = 800_000;
    const one = multibulk('TM.CONSUME', 'big', 'slow');
    const chunk = one.repeat(10_000);
    // Warm up first (a reading client, 200,000 commands), so the heap's young generation is grown before RSS is read.
    const warm = await raw(d.respPort);
    for (let i = 0; i < 20; i++) warm.socket.write(chunk);
    await warm.take(200_000);
    const c = await raw(d.respPort);
    c.socket.pause(); // never read until the end
    const pid = d.proc.child.pid as number;
    const rssBefore = rssBytes(pid);
    const counted = () => scrape(d.url, /^tallymesh_resp_commands_total\{command="tm.consume"\} (\d+)$/m);
    const base = await counted();
    for (let i = 0; i < COMMANDS / 10_000; i++) c.socket.write(chunk);
    // Wait until the daemon stops running commands (the count holds still across three scrapes).
    let last = -1;
    let still = 0;
    await eventually(async () => {
      const n = await counted();
      still = n === last ? still + 1 : 0;
      last = n;
      return still >= 3;
    }, 30_000, 'the daemon to stop reading');
    const ranWhileBlocked = last - base;
    const rssGrowth = rssBytes(pid) - rssBefore;
    console.log(`resp: slow reader: ${ranWhileBlocked} of ${COMMANDS} commands run before the daemon stopped reading; RSS +${(rssGrowth / 2 ** 20).toFixed(1)} MiB`);
    expect(ranWhileBlocked).toBeLessThan(COMMANDS / 2);
    // Unbounded, the daemon would hold every reply (~36 MB as strings) and the input behind them (~30 MB).
    expect(rssGrowth).toBeLessThan(32 * 2 ** 20);
    c.socket.resume();
    const started = performance.now();
    const replies = await c.take(COMMANDS);
    const s = (performance.now() - started) / 1000;
    console.log(`resp: drained ${COMMANDS} pipelined replies in ${s.toFixed(2)} s (${Math.round(COMMANDS / s)} commands/s, one connection)`);
    expect(ints(replies[COMMANDS - 1]).slice(0, 3)).toEqual([1, 1e9, 1e9 - 200_000 - COMMANDS]);
  }, 90_000);
});

describe('RESP port with an API token', () => {
  let d: DaemonProcess & { respPort: number };
  beforeAll(async () => {
    d = await startResp(['--api-token-file', tokenFile, '--limiter', 'name=api,limit=10,window=60s']);
  });

  it('answers NOAUTH before AUTH, WRONGPASS for a wrong token and OK for the API token', async () => {
    const c = await raw(d.respPort);
    expect((await c.call('TM.CONSUME', 'api', 'k')).value).toMatch(/^NOAUTH TALLYMESH_ERR_RESP_NOAUTH /);
    expect((await c.call('PING')).value).toMatch(/^NOAUTH /);
    expect((await c.call('INFO')).value).toMatch(/^NOAUTH /);
    expect((await c.call('HELLO', '3')).value).toMatch(/^NOAUTH /);
    expect(await c.call('AUTH', 'nope')).toEqual({ type: '-', value: 'WRONGPASS TALLYMESH_ERR_RESP_AUTH_FAILED Wrong API token' });
    expect((await c.call('TM.CONSUME', 'api', 'k')).value).toMatch(/^NOAUTH /);
    expect(await c.call('AUTH', TOKEN)).toEqual({ type: '+', value: 'OK' });
    expect(ints(await c.call('TM.CONSUME', 'api', 'k')).slice(0, 3)).toEqual([1, 10, 9]);
    const h = await raw(d.respPort);
    expect((await h.call('HELLO', '3', 'AUTH', 'default', TOKEN)).type).toBe('%');
    expect(ints(await h.call('TM.CONSUME', 'api', 'k')).slice(0, 3)).toEqual([1, 10, 8]);
  });

  it('serves ioredis given the token as its password, and refuses it without one', async () => {
    const ok = new Redis({ port: d.respPort, host: '127.0.0.1', password: TOKEN, lazyConnect: true, maxRetriesPerRequest: 0 });
    clients.push(ok);
    await ok.connect();
    expect(((await ok.call('TM.CONSUME', 'api', 'io')) as number[]).slice(0, 3)).toEqual([1, 10, 9]);
    const bad = new Redis({ port: d.respPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    clients.push(bad);
    const errors: string[] = [];
    bad.on('error', (err: Error) => errors.push(err.message));
    // The ready check's INFO meets NOAUTH: ioredis reports it and gives up (no retry strategy).
    await bad.connect().then(() => bad.call('TM.CONSUME', 'api', 'io')).catch((err: Error) => errors.push(err.message));
    expect(errors.join('\n')).toMatch(/NOAUTH TALLYMESH_ERR_RESP_NOAUTH/);
  });

  it('stops gracefully with the daemon: SIGTERM closes RESP connections and exits 0', async () => {
    const c = await raw(d.respPort);
    expect((await c.call('AUTH', TOKEN)).value).toBe('OK');
    d.proc.child.kill('SIGTERM');
    await c.closed;
    expect((await d.proc.wait()).code).toBe(0);
  });
});


describe.skipIf(!HAS_OPENSSL)('RESP port with TLS', () => {
  it('speaks TLS when the API does: ioredis with the CA decides, a plain client gets no reply', async () => {
    const { certFile: cert, keyFile: key } = selfSignedCert(dir);
    const d = await startResp(['--tls-cert', cert, '--tls-key', key, '--limiter', 'name=api,limit=10,window=60s']);
    expect(d.url).toMatch(/^https:/);
    const redis = new Redis({ port: d.respPort, host: '127.0.0.1', tls: { ca: readFileSync(cert) }, lazyConnect: true, maxRetriesPerRequest: 0 });
    clients.push(redis);
    await redis.connect();
    expect(((await redis.call('TM.CONSUME', 'api', 'tls')) as number[]).slice(0, 3)).toEqual([1, 10, 9]);
    const plain = await raw(d.respPort);
    plain.socket.write(multibulk('PING'));
    await plain.closed;
    expect(plain.buffered).toBe(0);
  });
});
