/**
 * The key budget from a memory limit: when `--max-keys` is not given, the
 * daemon sizes it from `--memory-limit` or, failing that, the cgroup v2
 * `memory.max` of its own cgroup (a container's or a systemd unit's limit),
 * so that a node at its key bound still fits in its memory. The same figure
 * sets the V8 heap limit (`--max-old-space-size`): V8 otherwise sizes its
 * heap from the host's memory, not the container's, and would let garbage
 * pile up until the kernel kills the process.
 *
 * The sizing rule, from the figures measured by `npm run bench -- memory`
 * (bench/results/memory.json; test/src/daemon/memory-budget.test.ts fails
 * when these constants fall below the measured ones):
 *
 *     spare   = limit − RESERVE_BYTES            (the processes before their first key)
 *     maxKeys = min(2^24, spare × KEY_SHARE / RSS_BYTES_PER_KEY)
 *     heap    = spare × HEAP_SHARE                (--max-old-space-size)
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Resident bytes one key costs a node, measured with three replicas' cells per
 * key (a three-node cluster whose clients spread every key over the nodes),
 * the costliest row of bench/results/memory.json, rounded up.
 */
export const RSS_BYTES_PER_KEY = 800;
/**
 * Resident bytes before the first key: an idle daemon (its code, the HTTP and
 * WebSocket stacks, V8's young generation) plus the launcher process that
 * re-executes it with the heap limit (cli/heap-limit.ts), both measured
 * (bench/results/memory.json, row "processes"), rounded up.
 */
export const RESERVE_BYTES = 160 * 2 ** 20;
/**
 * Share of the memory past the reserve that keys may fill. The rest is
 * headroom: garbage between collections, send queues up to their bounds,
 * snapshots encoded for joining peers, request buffers under load.
 */
export const KEY_SHARE = 0.5;
/** Share of the memory past the reserve given to the V8 heap; the rest holds the cells' typed arrays (outside the heap) and buffers. */
export const HEAP_SHARE = 0.75;
/** Most keys the key index holds: a JavaScript `Map` holds at most 2^24 entries (V8), and a limiter may use the whole node's bound. */
export const KEY_INDEX_CAP = 2 ** 24;
/** Fewest keys a memory limit must leave room for. */
export const MIN_KEYS = 1000;
/** Where the cgroup v2 hierarchy is mounted. */
export const CGROUP_ROOT = '/sys/fs/cgroup';
/** Test-only: a file read instead of the cgroup's `memory.max` (the test fakes a container's limit with it). */
export const CGROUP_FILE_ENV = 'TALLYMESH_TEST_CGROUP_MEMORY_MAX';

/** Where the daemon's key bound and memory limit came from (shown in `/v1/cluster` under `keys`, and logged). */
export interface MemoryBudget {
  /** `setting`: `--max-keys`/`maxKeys`; `memory-limit`: derived from the limit below; `default`: 1,000,000. */
  maxKeysFrom: 'setting' | 'memory-limit' | 'default';
  /** The memory limit in bytes, or null when there is none. */
  limitBytes: number | null;
  /** `setting`: `--memory-limit`/`memoryLimit`; `cgroup`: read from `cgroupFile`. */
  limitFrom: 'setting' | 'cgroup' | null;
  /** The cgroup file the limit was read from. */
  cgroupFile?: string;
  /** The V8 heap limit (MiB) `tallymesh start` runs the daemon with, or null for V8's default. */
  heapLimitMiB: number | null;
  /** The measured figure the bound was sized with ({@link RSS_BYTES_PER_KEY}). */
  bytesPerKey: number;
}

/** What a memory limit allows: the key bound and the heap limit, or how much it would take. */
export type KeysForMemory = { maxKeys: number; heapLimitMiB: number } | { tooSmall: true; minimumBytes: number };

/**
 * Sizes the key bound and the heap for `limitBytes` of memory.
 *
 * @example
 * keysForMemory(512 * 2 ** 20); // { maxKeys: 230_686, heapLimitMiB: 264 }
 */
export function keysForMemory(limitBytes: number): KeysForMemory {
  const spare = limitBytes - RESERVE_BYTES;
  const keys = Math.floor((spare * KEY_SHARE) / RSS_BYTES_PER_KEY);
  if (keys < MIN_KEYS) return { tooSmall: true, minimumBytes: RESERVE_BYTES + Math.ceil((MIN_KEYS * RSS_BYTES_PER_KEY) / KEY_SHARE) };
  return { maxKeys: Math.min(KEY_INDEX_CAP, keys), heapLimitMiB: Math.floor((spare * HEAP_SHARE) / 2 ** 20) };
}

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 2 ** 10, kib: 2 ** 10, mi: 2 ** 20, mib: 2 ** 20, gi: 2 ** 30, gib: 2 ** 30, ti: 2 ** 40, tib: 2 ** 40,
};

/**
 * Reads a byte size: a number of bytes, or a number with a unit —
 * `512MiB`/`512Mi` (binary, as Kubernetes writes limits), `1GiB`, `2G`/`2GB`
 * (decimal). Null when it is not one.
 *
 * @example parseByteSize('512Mi') // 536870912
 */
export function parseByteSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  if (typeof value !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(value.trim().replace(/_/g, ''));
  const unit = m === null ? undefined : UNITS[m[2].toLowerCase()];
  if (m === null || unit === undefined) return null;
  const bytes = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** Writes a byte count for people: `512 MiB`, `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  const [unit, size] = bytes >= 2 ** 30 ? ['GiB', 2 ** 30] : bytes >= 2 ** 20 ? ['MiB', 2 ** 20] : ['KiB', 2 ** 10];
  return `${Math.round((bytes / (size as number)) * 10) / 10} ${unit}`;
}

/** The `memory.max` files that bound this process: its own cgroup's and its ancestors', nearest first. */
function cgroupFiles(): string[] {
  let own: string | undefined;
  try {
    // cgroup v2: the one line "0::/path/of/the/cgroup" (in a container, usually "0::/").
    own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  } catch {
    own = undefined;
  }
  const files: string[] = [];
  let dir = own === undefined ? CGROUP_ROOT : join(CGROUP_ROOT, own);
  for (;;) {
    files.push(join(dir, 'memory.max'));
    if (dir === CGROUP_ROOT || !dir.startsWith(CGROUP_ROOT)) break;
    dir = dirname(dir);
  }
  return files;
}

/**
 * The memory limit of this process's cgroup v2 (the smallest `memory.max` on
 * the way up from its own cgroup; `max` is no limit), or null when there is
 * none or no cgroup v2. `env[CGROUP_FILE_ENV]`, for tests, names the one file
 * to read instead. A file that holds something else is reported in `warnings`.
 */
export function cgroupMemoryMax(env: Record<string, string | undefined>, warnings: string[]): { bytes: number; file: string } | null {
  const override = env[CGROUP_FILE_ENV];
  const files = override !== undefined && override !== '' ? [override] : cgroupFiles();
  let best: { bytes: number; file: string } | null = null;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch {
      continue; // no cgroup v2 here, or no memory controller at this level
    }
    if (text === 'max') continue;
    const bytes = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
      warnings.push(`${file} holds ${JSON.stringify(text.slice(0, 40))}, not a byte count or "max": the cgroup memory limit is ignored`);
      continue;
    }
    if (best === null || bytes < best.bytes) best = { bytes, file };
  }
  return best;
}
