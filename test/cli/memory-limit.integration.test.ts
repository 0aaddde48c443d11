/**
 * `tallymesh start` sized by memory, with real processes: `--memory-limit`
 * or a cgroup `memory.max` (faked through the test-only
 * TALLYMESH_TEST_CGROUP_MEMORY_MAX file) sizes the key bound, the daemon runs
 * in a child with the matching V8 heap limit, /metrics and /v1/cluster say
 * so, and signals reach the daemon through its launcher.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CGROUP_FILE_ENV, keysForMemory, RSS_BYTES_PER_KEY } from '../../src/daemon/memory-budget.js';
import { parsePrometheusText, sampleValue } from '../helpers/prom-parse.js';
import { CLI, eventually, runCli, startCli, type DaemonProcess } from './cli-process.js';

const MiB = 2 ** 20;
const LIMITER = ['--limiter', 'name=api,limit=100,window=60s'];
const dir = mkdtempSync(join(tmpdir(), 'tallymesh-memory-cli-'));
const started: DaemonProcess[] = [];
afterEach(() => {
  for (const d of started.splice(0)) d.proc.kill();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(args: string[], env: Record<string, string> = {}): Promise<DaemonProcess> {
  const d = await startCli(['--port', '0', ...LIMITER, ...args], env);
  started.push(d);
  return d;
}

async function metrics(d: DaemonProcess): Promise<ReturnType<typeof parsePrometheusText>> {
  return parsePrometheusText(await (await fetch(`${d.url}/metrics`)).text());
}

/** The pid the daemon logs its lines with (the launcher logs none). */
function daemonPid(d: DaemonProcess): number {
  const line = d.proc.stdout.split('\n').find((l) => l.includes('"event":"listening"'));
  return (JSON.parse(line ?? '{}') as { pid: number }).pid;
}

/** True while `pid` runs (a zombie waiting for its parent counts as gone). */
function alive(pid: number): boolean {
  try {
    return existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('tallymesh start --memory-limit', () => {
  it('sizes the key bound and the heap from the limit, runs the daemon under it, and exports RSS, heap and the budget', async () => {
    const d = await start(['--memory-limit', '512MiB']);
    const sized = keysForMemory(512 * MiB);
    if (!('maxKeys' in sized)) throw new Error('512 MiB is too small');
    const cluster = (await (await fetch(`${d.url}/v1/cluster`)).json()) as { keys: { max: number; budget: Record<string, unknown> } };
    expect(cluster.keys.max).toBe(sized.maxKeys);
    expect(cluster.keys.budget).toEqual({ maxKeysFrom: 'memory-limit', limitBytes: 512 * MiB, limitFrom: 'setting', heapLimitMiB: sized.heapLimitMiB, bytesPerKey: RSS_BYTES_PER_KEY });

    // The daemon is a child of the process we started, with the heap limit on its command line.
    const pid = daemonPid(d);
    expect(pid).not.toBe(d.proc.child.pid);
    const m = await metrics(d);
    expect(sampleValue(m, 'tallymesh_max_keys')).toBe(sized.maxKeys);
    expect(sampleValue(m, 'tallymesh_memory_limit_bytes', { source: 'setting' })).toBe(512 * MiB);
    // V8's limit is the old space we set plus the young generation (a few dozen MiB at most).
    const heapLimit = sampleValue(m, 'tallymesh_heap_limit_bytes') ?? 0;
    expect(heapLimit).toBeGreaterThanOrEqual(sized.heapLimitMiB * MiB);
    expect(heapLimit).toBeLessThan((sized.heapLimitMiB + 96) * MiB);
    expect(sampleValue(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sampleValue(m, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

    // SIGTERM to the launcher reaches the daemon, which shuts down cleanly; both exit 0.
    d.proc.child.kill('SIGTERM');
    const exit = await d.proc.wait();
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/"event":"shutdown","reason":"SIGTERM"/);
    expect(alive(pid)).toBe(false);
  });

  it('takes the limit from the cgroup when none is given', async () => {
    const file = join(dir, 'memory.max');
    writeFileSync(file, `${768 * MiB}\n`);
    const d = await start([], { [CGROUP_FILE_ENV]: file });
    const sized = keysForMemory(768 * MiB);
    const cluster = (await (await fetch(`${d.url}/v1/cluster`)).json()) as { keys: { max: number; budget: Record<string, unknown> } };
    expect(cluster.keys.max).toBe('maxKeys' in sized ? sized.maxKeys : NaN);
    expect(cluster.keys.budget).toMatchObject({ limitFrom: 'cgroup', cgroupFile: file, limitBytes: 768 * MiB });
    expect(sampleValue(await metrics(d), 'tallymesh_memory_limit_bytes', { source: 'cgroup' })).toBe(768 * MiB);
  });

  it('runs in one process with the default bound when the cgroup has no limit', async () => {
    const file = join(dir, 'memory.max.none');
    writeFileSync(file, 'max\n');
    const d = await start([], { [CGROUP_FILE_ENV]: file });
    expect(daemonPid(d)).toBe(d.proc.child.pid);
    const m = await metrics(d);
    expect(sampleValue(m, 'tallymesh_max_keys')).toBe(1_000_000);
    expect(sampleValue(m, 'tallymesh_memory_limit_bytes', { source: 'none' })).toBe(0);
  });

  it('leaves an operator\'s own --max-old-space-size alone (no relaunch)', async () => {
    const d = await start(['--memory-limit', '1GiB'], { NODE_OPTIONS: '--max-old-space-size=300' });
    expect(daemonPid(d)).toBe(d.proc.child.pid);
    const heapLimit = sampleValue(await metrics(d), 'tallymesh_heap_limit_bytes') ?? 0;
    expect(heapLimit).toBeGreaterThanOrEqual(300 * MiB);
    expect(heapLimit).toBeLessThan(400 * MiB);
  });

  it('relays Ctrl-C to the daemon once: a signal to the launcher\'s process group is one graceful stop', async () => {
    // The launcher leads its own process group here, as a shell's foreground job does.
    const child = spawn(process.execPath, [CLI, 'start', '--port', '0', ...LIMITER, '--memory-limit', '512MiB'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => out.includes('tallymesh listening on'), 15_000, 'listening');
      process.kill(-(child.pid as number), 'SIGINT');
      expect(await exited).toBe(0);
      expect(out.match(/"event":"shutdown"/g)).toHaveLength(1);
      expect(out).not.toMatch(/second signal/);
    } finally {
      if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
    }
  });

  it('stops the daemon when its launcher is killed outright', async () => {
    const d = await start(['--memory-limit', '512MiB']);
    const pid = daemonPid(d);
    expect(alive(pid)).toBe(true);
    d.proc.child.kill('SIGKILL');
    await d.proc.exited;
    await eventually(() => !alive(pid), 15_000, `daemon ${pid} gone after its launcher was killed`);
  });

  it('refuses a limit with no room for keys, naming the setting (exit 2)', async () => {
    const r = await runCli(['start', '--port', '0', ...LIMITER, '--memory-limit', '100MiB']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--memory-limit: 100 MiB leaves no room for keys/);
    const file = join(dir, 'memory.max.small');
    writeFileSync(file, `${100 * MiB}`);
    const c = await runCli(['start', '--port', '0', ...LIMITER], { [CGROUP_FILE_ENV]: file });
    expect(c.code).toBe(2);
    expect(c.stderr).toContain(`the cgroup memory limit (${file}): 100 MiB leaves no room for keys`);
    expect(c.stderr).toMatch(/raise the container memory limit, or set --max-keys/);
  });
});
