/**
 * Network faults: partitions cut with routes inside the namespaces, and
 * latency/jitter/loss on every node's egress.
 */
import { requestJson } from './http.js';
import { percentile } from './load.js';
import type { Impairment, Impairments } from './netem.js';
import { describeViews, type FaultSpec } from './scenario.js';
import { sleep } from './sh.js';

const PARTITION_MS = 6_000;

const names = (hosts: readonly number[]): string => hosts.map((i) => `n${i}`).join(',');

/** Cuts both ways between hosts `a` and hosts `b`, holds, heals. */
export function partitionFault(name: string, title: string, a: readonly number[], b: readonly number[]): FaultSpec {
  return {
    name,
    title,
    injection: `\`ip route add prohibit <peer>/32\` in each namespace of {${names(a)}} for each of {${names(b)}} and back`,
    faultMs: PARTITION_MS,
    inject: async (c) => c.testbed.partition(a, b),
    during: async (c) => {
      await sleep(PARTITION_MS / 2);
      c.notes.push(`During: ${await describeViews(c)}.`);
    },
    heal: async (c) => c.testbed.heal(),
  };
}

/** Cuts one direction only (`from` → `to`), holds, heals. */
export function oneWayFault(name: string, title: string, from: number, to: number): FaultSpec {
  return {
    name,
    title,
    injection:
      `\`ip route add prohibit 198.18.0.${10 + to}/32\` in n${from}'s namespace only ` +
      `(n${from}→n${to} cut; n${to}'s packets still arrive, but n${from} cannot ACK them, so TCP stalls both ways)`,
    faultMs: PARTITION_MS,
    inject: async (c) => c.testbed.cut(from, to),
    during: async (c) => {
      await sleep(PARTITION_MS / 2);
      c.notes.push(`During: ${await describeViews(c)}.`);
    },
    heal: async (c) => c.testbed.heal(),
  };
}

/** Latency, jitter and loss on every member's egress (tc netem, or its NFQUEUE stand-in). */
export function impairmentFault(impairments: Impairments, f: Impairment): FaultSpec {
  return {
    name: 'latency-loss',
    title: `latency ${f.delayMs} ms ± ${f.jitterMs} ms, ${f.loss * 100}% loss, every node`,
    injection: `on each node's egress: ${impairments.describe(f)}`,
    faultMs: 8_000,
    inject: async (c) => {
      for (const [i, d] of c.members.entries()) await impairments.apply(d.spec.host, f, 100 + i);
    },
    during: async (c) => {
      // Proof the impairment is in effect: a /healthz round trip now takes the injected delay.
      await sleep(1_000);
      const rtts: number[] = [];
      for (const d of c.members) {
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          await requestJson(`${d.url}/healthz`, { timeoutMs: 5_000, agent: d.agent }).catch(() => null);
          rtts.push(performance.now() - t0);
        }
      }
      const median = Math.round(percentile(rtts, 50));
      c.notes.push(`/healthz round trip during the fault: median ${median} ms.`);
      if (median < f.delayMs / 2) c.failures.push(`the impairment is not in effect: /healthz median ${median} ms`);
    },
    heal: async (c) => {
      for (const d of c.members) await impairments.clear(d.spec.host);
    },
  };
}
