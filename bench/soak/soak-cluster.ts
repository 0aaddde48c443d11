/**
 * Soak helpers: three daemons started through the CLI on loopback, their
 * RSS from /proc and event-loop lag from `/metrics`, and counts by peek.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { repoRoot } from '../lib/result-file.js';
import { freeLoopbackPort } from '../lib/free-port.js';

/** One daemon of the soak. */
export interface SoakDaemon {
  id: string;
  url: string;
  proc: ChildProcess;
  agent: http.Agent;
}


/** Starts `count` daemons that peer with each other; resolves once each printed its listening line. */
export async function startSoakCluster(count: number, limiters: string[]): Promise<SoakDaemon[]> {
  const dir = path.join(repoRoot(), '.tmp', 'soak');
  mkdirSync(dir, { recursive: true });
  const secretFile = path.join(dir, 'secret');
  writeFileSync(secretFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freeLoopbackPort());
  const cli = path.join(repoRoot(), 'dist', 'cli', 'main.js');
  return Promise.all(
    ports.map(async (port, i) => {
      const id = `s${i + 1}`;
      const peers = ports.filter((p) => p !== port).map((p) => `127.0.0.1:${p}`);
      const args = [cli, 'start', '--id', id, '--port', String(port), '--secret-file', secretFile, '--peers', peers.join(','),
        ...limiters.flatMap((l) => ['--limiter', l])];
      const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TALLYMESH_LOG_LEVEL: 'warn' } });
      const log = createWriteStream(path.join(dir, `${id}.log`));
      proc.stderr?.pipe(log);
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`${id} did not start within 20 s`)), 20_000);
        proc.stdout?.on('data', (c: Buffer) => {
          log.write(c);
          out = (out + c.toString()).slice(-4096);
          const m = /tallymesh listening on (http:\/\/\S+)/.exec(out);
          if (m !== null) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        proc.once('exit', (code) => reject(new Error(`${id} exited during start (${code}); see .tmp/soak/${id}.log`)));
      });
      return { id, url, proc, agent: new http.Agent({ keepAlive: true, maxSockets: 4 }) };
    }),
  );
}

/** GET a body as text (null on failure). */
export function getText(url: string, agent?: http.Agent, timeoutMs = 3_000): Promise<{ status: number; text: string } | null> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** RSS of a process in bytes (0 if gone). */
export function rssOf(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Event-loop lag figures (ms) from a daemon's Prometheus text (prom-client default metrics). */
export function eventLoopLag(metrics: string): { p99Ms: number; maxMs: number } {
  const read = (name: string): number => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(metrics);
    return m === null ? NaN : Number(m[1]) * 1000;
  };
  return { p99Ms: read('nodejs_eventloop_lag_p99_seconds'), maxMs: read('nodejs_eventloop_lag_max_seconds') };
}

/** A daemon's count of `key` (`count` from the peek, else limit − remaining); null on no answer. */
export async function countOf(d: SoakDaemon, limiter: string, key: string): Promise<number | null> {
  const r = await getText(`${d.url}/v1/limiters/${limiter}/keys/${encodeURIComponent(key)}`, d.agent);
  if (r === null || r.status !== 200) return null;
  try {
    const body = JSON.parse(r.text) as { count?: number; limit: number; remaining: number };
    return typeof body.count === 'number' ? body.count : body.limit - body.remaining;
  } catch {
    return null;
  }
}

/** SIGTERM every daemon; resolves with the exit codes. */
export async function stopSoakCluster(daemons: SoakDaemon[]): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  await Promise.all(
    daemons.map(
      (d) =>
        new Promise<void>((resolve) => {
          d.agent.destroy();
          if (d.proc.exitCode !== null) {
            out[d.id] = d.proc.exitCode;
            resolve();
            return;
          }
          const timer = setTimeout(() => d.proc.kill('SIGKILL'), 15_000);
          d.proc.once('exit', (code) => {
            clearTimeout(timer);
            out[d.id] = code;
            resolve();
          });
          d.proc.kill('SIGTERM');
        }),
    ),
  );
  return out;
}
