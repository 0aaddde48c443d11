/**
 * What the hostile-client suite watches from outside the daemon process:
 * its resident memory and open sockets (from /proc, Linux), sampled on a
 * timer with the peak kept per phase, and single values of its Prometheus
 * metrics.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { rssBytes } from '../../helpers/raw-ws.js';

/** Open sockets of process `pid`: its file descriptors that are sockets. */
export function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed between the listing and the read
    }
  }
  return n;
}

/** Peaks of one phase. */
export interface PhasePeaks {
  rssBytes: number;
  sockets: number;
}

/** Samples a process's RSS and socket count every `everyMs`, keeping the peak of each phase. */
export class ProcessSampler {
  readonly pid: number;
  #phase = 'baseline';
  #peaks = new Map<string, PhasePeaks>();
  #timer: NodeJS.Timeout;

  constructor(pid: number, everyMs = 50) {
    this.pid = pid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs);
  }

  /** Samples from now on count towards `phase`. */
  phase(name: string): void {
    this.#phase = name;
    this.sample();
  }

  /** Takes one sample now and returns it. */
  sample(): PhasePeaks {
    const now = { rssBytes: rssBytes(this.pid), sockets: socketCount(this.pid) };
    const peak = this.#peaks.get(this.#phase) ?? { rssBytes: 0, sockets: 0 };
    this.#peaks.set(this.#phase, { rssBytes: Math.max(peak.rssBytes, now.rssBytes), sockets: Math.max(peak.sockets, now.sockets) });
    return now;
  }

  /** The peaks of `phase` (zeros when it has no sample). */
  peaks(phase: string): PhasePeaks {
    return this.#peaks.get(phase) ?? { rssBytes: 0, sockets: 0 };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The value of one sample of `/metrics` (0 when absent), e.g. `metricValue(text, 'tallymesh_api_clients', { api: 'events' })`. */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** Fetches `/metrics` of the daemon at `url`. */
export async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  return res.text();
}
