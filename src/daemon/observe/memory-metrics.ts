/**
 * The memory side of `/metrics`: the memory limit the key bound was sized
 * for and the V8 heap limit the daemon runs with. The resident set and the
 * heap in use come from prom-client's default metrics on the same registry
 * (`process_resident_memory_bytes`, `nodejs_heap_size_used_bytes`), and the
 * key bound is `tallymesh_max_keys`: an alert compares them
 * (deploy/prometheus/alerts.yaml).
 *
 * @module
 */
import { getHeapStatistics } from 'node:v8';
import { Gauge, type Registry } from 'prom-client';
import type { MemoryBudget } from '../memory-budget.js';

/**
 * Registers `tallymesh_memory_limit_bytes{source}` (0 without a limit) and
 * `tallymesh_heap_limit_bytes` on `registry`.
 *
 * @example registerMemoryMetrics(metrics.registry, config.memory);
 */
export function registerMemoryMetrics(registry: Registry, budget: MemoryBudget | undefined): void {
  const registers = [registry];
  new Gauge({
    name: 'tallymesh_memory_limit_bytes',
    help: 'Memory limit the key bound was sized for (--memory-limit or the cgroup memory.max), by source; 0 when there is none.',
    labelNames: ['source'],
    registers,
  }).set({ source: budget?.limitFrom ?? 'none' }, budget?.limitBytes ?? 0);
  new Gauge({
    name: 'tallymesh_heap_limit_bytes',
    help: 'V8 heap size limit of this process (set from the memory limit by tallymesh start).',
    registers,
    collect() {
      this.set(getHeapStatistics().heap_size_limit);
    },
  });
}
