/**
 * Test hosts for the fault suite: one network namespace per daemon, each
 * joined by a veth pair to a bridge in the root namespace, addressed from
 * 198.18.0.0/24 (RFC 2544's benchmarking range: never routed anywhere).
 *
 * ```
 *   root namespace: tm-br0 198.18.0.1/24 (the load generator lives here)
 *     ├─ tm-v1 ══ eth0 198.18.0.11 in tm-n1
 *     ├─ tm-v2 ══ eth0 198.18.0.12 in tm-n2
 *     └─ …
 * ```
 *
 * Partitions are routes inside the namespaces (`ip route add prohibit
 * <peer>/32`): a cut A→B stops every packet A sends to B — data and the ACKs
 * of connections B opened — while B's packets still reach A. Traffic between
 * the root namespace and every host always flows, so clients on both sides
 * of a partition keep being served, as they would be in production.
 *
 * Everything this module creates is named `tm-*`; {@link cleanupStale}
 * removes whatever a crashed earlier run left behind.
 */
import { tryRun, run } from './sh.js';

/** Name prefix of every namespace and link the suite creates. */
export const PREFIX = 'tm-';
/** The bridge in the root namespace. */
export const BRIDGE = 'tm-br0';
/** The root namespace's address on the bridge (where load comes from). */
export const ROOT_ADDR = '198.18.0.1';
/** The test subnet. */
export const SUBNET = '198.18.0.0/24';

/** One test host: a namespace with one address. */
export interface TestHost {
  index: number;
  ns: string;
  addr: string;
  /** The root-namespace end of its veth pair (a bridge port). */
  rootVeth: string;
}

/** Host `i` (1-based): namespace tm-n<i>, address 198.18.0.<10+i>. */
export function testHost(index: number): TestHost {
  return { index, ns: `${PREFIX}n${index}`, addr: `198.18.0.${10 + index}`, rootVeth: `${PREFIX}v${index}` };
}

/** Runs a command inside a host's namespace. */
export function nsRun(host: TestHost, cmd: string, args: readonly string[]): string {
  return run('ip', ['netns', 'exec', host.ns, cmd, ...args]);
}

/**
 * Whether this process can create network namespaces; null when it can,
 * else one line saying why not.
 */
export function probeNamespaces(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the fault suite needs root (CAP_NET_ADMIN) to create network namespaces; run it as root';
  if (tryRun('ip', ['-V']).code !== 0) return '`ip` (iproute2) is not installed';
  const probe = `${PREFIX}probe${process.pid}`;
  const r = tryRun('ip', ['netns', 'add', probe]);
  if (r.code !== 0) return `cannot create a network namespace: ${r.stderr.trim().split('\n')[0]}`;
  tryRun('ip', ['netns', 'del', probe]);
  return null;
}

/** Names of `tm-*` namespaces that exist now. */
function staleNamespaces(): string[] {
  const out = tryRun('ip', ['netns', 'list']).stdout;
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name) => name !== undefined && name.startsWith(PREFIX));
}

/** Names of `tm-*` links in the root namespace. */
function staleLinks(): string[] {
  const out = tryRun('ip', ['-o', 'link', 'show']).stdout;
  const names: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m !== null && m[1].startsWith(PREFIX)) names.push(m[1]);
  }
  return names;
}

/**
 * Removes every `tm-*` namespace (killing what still runs inside) and link:
 * what a crashed earlier run may have left. Returns what it removed.
 */
export function cleanupStale(): string[] {
  const removed: string[] = [];
  for (const ns of staleNamespaces()) {
    const pids = tryRun('ip', ['netns', 'pids', ns]).stdout.split(/\s+/).filter((p) => /^\d+$/.test(p));
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGCONT');
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    tryRun('ip', ['netns', 'del', ns]);
    removed.push(`netns ${ns}${pids.length > 0 ? ` (killed ${pids.join(',')})` : ''}`);
  }
  // Links go last: deleting a namespace frees its veth ends asynchronously.
  for (const link of staleLinks()) {
    tryRun('ip', ['link', 'del', link]);
    removed.push(`link ${link}`);
  }
  return removed;
}

/** The bridge, the hosts on it and the cuts between them. */
export class Testbed {
  readonly hosts = new Map<number, TestHost>();
  /** Active one-way cuts, as `from>to` host indexes. */
  readonly #cuts = new Set<string>();
  #up = false;

  /** Creates the bridge with the root namespace's address. */
  up(): void {
    run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
    this.#up = true;
    run('ip', ['addr', 'add', `${ROOT_ADDR}/24`, 'dev', BRIDGE]);
    run('ip', ['link', 'set', BRIDGE, 'up']);
  }

  /** Creates host `index`: namespace, veth pair into the bridge, address. */
  addHost(index: number): TestHost {
    const host = testHost(index);
    const inner = `${PREFIX}p${index}`;
    run('ip', ['netns', 'add', host.ns]);
    this.hosts.set(index, host);
    run('ip', ['-n', host.ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['link', 'add', host.rootVeth, 'type', 'veth', 'peer', 'name', inner]);
    run('ip', ['link', 'set', inner, 'netns', host.ns]);
    run('ip', ['-n', host.ns, 'link', 'set', inner, 'name', 'eth0']);
    run('ip', ['-n', host.ns, 'addr', 'add', `${host.addr}/24`, 'dev', 'eth0']);
    run('ip', ['-n', host.ns, 'link', 'set', 'eth0', 'up']);
    run('ip', ['link', 'set', host.rootVeth, 'master', BRIDGE]);
    run('ip', ['link', 'set', host.rootVeth, 'up']);
    return host;
  }

  host(index: number): TestHost {
    const host = this.hosts.get(index);
    if (host === undefined) throw new Error(`no test host ${index}`);
    return host;
  }

  /** Cuts one direction: nothing `from` sends to `to` arrives (prohibit route in `from`'s namespace). */
  cut(from: number, to: number): void {
    const key = `${from}>${to}`;
    if (this.#cuts.has(key)) return;
    run('ip', ['-n', this.host(from).ns, 'route', 'add', 'prohibit', `${this.host(to).addr}/32`]);
    this.#cuts.add(key);
  }

  /** Restores one direction cut by {@link Testbed.cut}. */
  restore(from: number, to: number): void {
    const key = `${from}>${to}`;
    if (!this.#cuts.has(key)) return;
    tryRun('ip', ['-n', this.host(from).ns, 'route', 'del', 'prohibit', `${this.host(to).addr}/32`]);
    this.#cuts.delete(key);
  }

  /** Cuts both ways between every host of `a` and every host of `b`. */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cut(x, y);
        this.cut(y, x);
      }
    }
  }

  /** The active cuts, as `from>to`. */
  get cuts(): string[] {
    return [...this.#cuts];
  }

  /** Restores every cut. */
  heal(): void {
    for (const key of [...this.#cuts]) {
      const [from, to] = key.split('>').map(Number);
      this.restore(from, to);
    }
  }

  /** Removes the hosts and the bridge. Safe to call twice and from an exit handler. */
  down(): void {
    for (const host of this.hosts.values()) {
      tryRun('ip', ['netns', 'del', host.ns]);
      tryRun('ip', ['link', 'del', host.rootVeth]);
    }
    this.hosts.clear();
    this.#cuts.clear();
    if (this.#up) tryRun('ip', ['link', 'del', BRIDGE]);
    this.#up = false;
  }
}
