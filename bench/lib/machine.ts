/**
 * Describes the machine a benchmark ran on. Every figure in a result file is
 * only meaningful next to this record: ratios are comparable across machines,
 * absolute ops/s are not.
 */
import os from 'node:os';

/** Hardware and runtime of one benchmark run, stored in every result file. */
export interface MachineInfo {
  /** CPU model string as the kernel reports it. */
  cpu: string;
  /** Logical cores visible to the process. */
  cores: number;
  /** Total physical memory in bytes. */
  memoryBytes: number;
  /** `process.version`, e.g. `v20.20.2`. */
  node: string;
  /** Operating system, kernel release and architecture. */
  os: string;
  /** ISO-8601 timestamp of the run. */
  date: string;
  /** One-minute load average at the start: a busy machine explains noisy figures. */
  loadAvg1: number;
}

/** Reads {@link MachineInfo} for the current process. */
export function collectMachineInfo(now: Date = new Date()): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    // availableParallelism honours cgroup/affinity limits that cpus().length ignores.
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: now.toISOString(),
    loadAvg1: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

/** One-line summary used in the console header and in the docs. */
export function formatMachine(m: MachineInfo): string {
  const gib = (m.memoryBytes / 2 ** 30).toFixed(1);
  return `${m.cpu}, ${m.cores} cores, ${gib} GiB RAM, Node ${m.node}, ${m.os}, load ${m.loadAvg1} at start, ${m.date}`;
}
