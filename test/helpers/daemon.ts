/**
 * Starting in-process daemons for integration tests: a config with test
 * timings on 127.0.0.1 port 0, log lines captured in memory, and a list of
 * everything started so `afterEach` can close it.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import type { DaemonConfig } from '../../src/daemon/config/daemon-config.js';

export const SECRET = 'integration-secret';

/** A daemon with the JSON lines it logged. */
export interface TestDaemon extends Daemon {
  logs: Array<Record<string, unknown>>;
}

const running: TestDaemon[] = [];

/** A complete config for node `id`, with fast gossip and readiness timings. */
export function testConfig(id: string, overrides: Partial<DaemonConfig> = {}): DaemonConfig {
  return {
    id,
    host: '127.0.0.1',
    port: 0,
    peers: [],
    secret: SECRET,
    apiToken: '',
    limiters: [{ name: 'api', limit: 5, windowMs: 60_000 }],
    maxKeys: 1_000_000,
    eventsDeniedPerSec: 10,
    logLevel: 'info',
    gossipIntervalMs: 20,
    suspectAfterMs: 500,
    maxClockOffsetMs: 500,
    joinTimeoutMs: 300,
    shutdownTimeoutMs: 3_000,
    ...overrides,
  };
}

/** Starts a daemon in this process; its log lines are parsed into `logs`. */
export async function startTestDaemon(id: string, overrides: Partial<DaemonConfig> = {}): Promise<TestDaemon> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const config = testConfig(id, overrides);
  const daemon = await startDaemon(config, { logger: pino({ level: config.logLevel }, sink) });
  const test: TestDaemon = { ...daemon, logs };
  running.push(test);
  return test;
}

/** Closes every daemon started since the last call. */
export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((d) => d.close('test over')));
}

/** JSON POST helper. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

/** GET (or another method) returning status and parsed JSON body. */
export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

/** Polls `check` until it returns a value that is not undefined, or fails at the deadline. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
