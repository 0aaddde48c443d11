/**
 * The daemon's key bound and memory limit in the configuration: `maxKeys`
 * when given, else sized from `memoryLimit` (`--memory-limit 512MiB`) or,
 * failing that, the cgroup v2 `memory.max`; else the default of 1,000,000
 * keys. The sizing rule and its measured figures are in
 * src/daemon/memory-budget.ts.
 *
 * @module
 */
import { configError, parseInteger, showValue } from './parse.js';
import type { Entry } from './files.js';
import { cgroupMemoryMax, formatBytes, keysForMemory, parseByteSize, RSS_BYTES_PER_KEY, type MemoryBudget } from '../memory-budget.js';

/** Keys per node when neither a key bound nor a memory limit is known. */
export const DEFAULT_MAX_KEYS = 1_000_000;
/** Smallest memory limit accepted: below it no daemon runs anyway. */
const MIN_MEMORY_LIMIT = 16 * 2 ** 20;

/**
 * Resolves the key bound and the memory budget from the `maxKeys` and
 * `memoryLimit` settings and, when neither gives a limit, the cgroup's.
 *
 * @throws TALLYMESH_ERR_CONFIG_INVALID when the limit is not a byte size, or too small for the measured reserve and a thousand keys.
 */
export function memoryBudget(
  maxKeysEntry: Entry | undefined,
  limitEntry: Entry | undefined,
  env: Record<string, string | undefined>,
  warnings: string[],
): { maxKeys: number; budget: MemoryBudget } {
  let limit: { bytes: number; from: 'setting' | 'cgroup'; field: string; file?: string } | null = null;
  if (limitEntry !== undefined) {
    const bytes = parseByteSize(limitEntry.value);
    if (bytes === null || bytes < MIN_MEMORY_LIMIT) {
      configError(limitEntry.field, `must be a byte size of at least 16MiB, like 512MiB, 2GiB or 536870912, got ${showValue(limitEntry.value)}`);
    }
    limit = { bytes, from: 'setting', field: limitEntry.field };
  } else {
    const cgroup = cgroupMemoryMax(env, warnings);
    if (cgroup !== null) limit = { bytes: cgroup.bytes, from: 'cgroup', field: `the cgroup memory limit (${cgroup.file})`, file: cgroup.file };
  }
  const sized = limit === null ? null : keysForMemory(limit.bytes);
  if (limit !== null && sized !== null && 'tooSmall' in sized) {
    const way = limit.from === 'cgroup' ? 'raise the container memory limit' : 'give more memory';
    configError(
      limit.field,
      `${formatBytes(limit.bytes)} leaves no room for keys: a node needs ${formatBytes(sized.minimumBytes)} for itself and ${1000} keys (measured ${RSS_BYTES_PER_KEY} bytes per key, with headroom); ${way}, or set --max-keys`,
    );
  }
  const budget: MemoryBudget = {
    maxKeysFrom: 'default',
    limitBytes: limit?.bytes ?? null,
    limitFrom: limit?.from ?? null,
    heapLimitMiB: sized !== null && !('tooSmall' in sized) ? sized.heapLimitMiB : null,
    bytesPerKey: RSS_BYTES_PER_KEY,
  };
  if (limit?.file !== undefined) budget.cgroupFile = limit.file;
  if (maxKeysEntry !== undefined) {
    // An explicit bound wins; the limit still sets the heap.
    budget.maxKeysFrom = 'setting';
    return { maxKeys: parseInteger(maxKeysEntry.value, maxKeysEntry.field, 1, 1e9), budget };
  }
  if (sized !== null && !('tooSmall' in sized)) {
    budget.maxKeysFrom = 'memory-limit';
    return { maxKeys: sized.maxKeys, budget };
  }
  return { maxKeys: DEFAULT_MAX_KEYS, budget };
}
