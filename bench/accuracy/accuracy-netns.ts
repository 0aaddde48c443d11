/**
 * Test hosts for the accuracy scenario's partitions, built as the fault
 * suite builds its own (test/faults/netns.ts): one network namespace per
 * daemon, a veth pair into a bridge in the root namespace (where the load
 * generator runs), addresses from RFC 2544's benchmarking range, and cuts as
 * `prohibit` routes inside the namespaces, so clients on both sides keep
 * being served. Its own prefix (`ta-`) and subnet (198.18.1.0/24), so that
 * it never touches a fault-suite run on the same machine.
 */
import { spawnSync } from 'node:child_process';

const PREFIX = 'ta-';
const BRIDGE = `${PREFIX}br0`;
const ROOT_ADDR = '198.18.1.1';

function sh(cmd: string, args: readonly string[]): { code: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? 127, out: (r.stdout ?? '') + (r.stderr ?? '') + (r.error?.message ?? '') };
}

function must(cmd: string, args: readonly string[]): void {
  const r = sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.out.trim()}`);
}

/** Null when namespaces can be made here; else one line saying why not. */
export function namespacesUnavailable(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'partitions need root (CAP_NET_ADMIN) to create network namespaces';
  if (sh('ip', ['-V']).code !== 0) return '`ip` (iproute2) is not installed';
  const probe = `${PREFIX}probe${process.pid}`;
  const r = sh('ip', ['netns', 'add', probe]);
  if (r.code !== 0) return `cannot create a network namespace: ${r.out.trim().split('\n')[0]}`;
  sh('ip', ['netns', 'del', probe]);
  return null;
}

/** A bridge and `n` hosts on it; host `i` (1-based) is namespace `ta-n<i>` at 198.18.1.<10+i>. */
export class PartitionTestbed {
  readonly addrs: string[] = [];
  readonly #cuts = new Set<string>();

  constructor(readonly n: number) {}

  ns(i: number): string {
    return `${PREFIX}n${i}`;
  }

  /** Creates the bridge and the hosts (removing what an interrupted earlier run left). */
  up(): void {
    this.down();
    must('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    must('ip', ['addr', 'add', `${ROOT_ADDR}/24`, 'dev', BRIDGE]);
    must('ip', ['link', 'set', BRIDGE, 'up']);
    for (let i = 1; i <= this.n; i++) {
      const ns = this.ns(i);
      const addr = `198.18.1.${10 + i}`;
      must('ip', ['netns', 'add', ns]);
      must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      must('ip', ['link', 'add', `${PREFIX}v${i}`, 'type', 'veth', 'peer', 'name', `${PREFIX}p${i}`]);
      must('ip', ['link', 'set', `${PREFIX}p${i}`, 'netns', ns]);
      must('ip', ['-n', ns, 'link', 'set', `${PREFIX}p${i}`, 'name', 'eth0']);
      must('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
      must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      must('ip', ['link', 'set', `${PREFIX}v${i}`, 'master', BRIDGE]);
      must('ip', ['link', 'set', `${PREFIX}v${i}`, 'up']);
      this.addrs.push(addr);
    }
  }

  /** Cuts both ways between every host of `a` and every host of `b` (1-based). */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const x of a) {
      for (const y of b) {
        for (const [from, to] of [[x, y], [y, x]]) {
          must('ip', ['-n', this.ns(from), 'route', 'add', 'prohibit', `${this.addrs[to - 1]}/32`]);
          this.#cuts.add(`${from}>${to}`);
        }
      }
    }
  }

  /** Restores every cut. */
  heal(): void {
    for (const key of this.#cuts) {
      const [from, to] = key.split('>').map(Number);
      sh('ip', ['-n', this.ns(from), 'route', 'del', 'prohibit', `${this.addrs[to - 1]}/32`]);
    }
    this.#cuts.clear();
  }

  /** Removes the hosts (killing what still runs in them) and the bridge. Safe to call twice. */
  down(): void {
    for (let i = 1; i <= this.n; i++) {
      for (const pid of sh('ip', ['netns', 'pids', this.ns(i)]).out.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      sh('ip', ['netns', 'del', this.ns(i)]);
      sh('ip', ['link', 'del', `${PREFIX}v${i}`]);
    }
    sh('ip', ['link', 'del', BRIDGE]);
    this.addrs.length = 0;
    this.#cuts.clear();
  }
}
