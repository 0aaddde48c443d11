/**
 * Latency, jitter and loss on a test host's outgoing packets.
 *
 * With `sch_netem` in the kernel this is `tc qdisc add dev eth0 root netem
 * delay D J loss L` inside the host's namespace. Kernels built without it
 * (this project's CI VM is one) get the same fault in userspace: an iptables
 * NFQUEUE rule hands the namespace's outgoing packets to nfq-delay.py, which
 * holds each one for D±J ms (uniform, as netem's default) or drops it with
 * probability L. Either way the fault sits on the host's egress, as netem on
 * its interface would, so it applies to peer traffic and to API answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { liveChildren } from './daemon.js';
import { SUBNET, type TestHost } from './netns.js';
import { run, tryRun } from './sh.js';

/** A link impairment. */
export interface Impairment {
  delayMs: number;
  jitterMs: number;
  /** Drop probability, 0..1. */
  loss: number;
}

/** How an impairment was put in place. */
export type Injector = 'tc-netem' | 'nfqueue';

const HELPER = join(dirname(fileURLToPath(import.meta.url)), 'nfq-delay.py');

/** True when the kernel has sch_netem (probed in `host`'s namespace, on its loopback). */
export function kernelHasNetem(host: TestHost): boolean {
  const r = tryRun('ip', ['netns', 'exec', host.ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
  if (r.code !== 0) return false;
  tryRun('ip', ['netns', 'exec', host.ns, 'tc', 'qdisc', 'del', 'dev', 'lo', 'root']);
  return true;
}

/** Puts and removes impairments on test hosts. */
export class Impairments {
  readonly injector: Injector;
  #helpers = new Map<string, ChildProcess>();

  constructor(probeHost: TestHost, force?: Injector) {
    this.injector = force ?? (kernelHasNetem(probeHost) ? 'tc-netem' : 'nfqueue');
  }

  /** The command line that reproduces the impairment, for the report. */
  describe(f: Impairment): string {
    return this.injector === 'tc-netem'
      ? `tc qdisc add dev eth0 root netem delay ${f.delayMs}ms ${f.jitterMs}ms loss ${f.loss * 100}%`
      : `iptables -A OUTPUT -d ${SUBNET} -j NFQUEUE + nfq-delay.py --delay ${f.delayMs} --jitter ${f.jitterMs} --loss ${f.loss}`;
  }

  async apply(host: TestHost, f: Impairment, seed = 1): Promise<void> {
    if (this.injector === 'tc-netem') {
      run('ip', ['netns', 'exec', host.ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem',
        'delay', `${f.delayMs}ms`, `${f.jitterMs}ms`, 'loss', `${f.loss * 100}%`]);
      return;
    }
    // Helper first, then the rule: with --queue-bypass nothing is lost in between.
    const helper = spawn(
      'ip',
      ['netns', 'exec', host.ns, 'python3', HELPER, '--queue', '0', '--delay', String(f.delayMs), '--jitter', String(f.jitterMs),
        '--loss', String(f.loss), '--seed', String(seed), '--max-seconds', '300'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    liveChildren.add(helper);
    helper.once('exit', () => liveChildren.delete(helper));
    this.#helpers.set(host.ns, helper);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`nfq-delay in ${host.ns} did not start: ${err}`)), 10_000);
      helper.stderr?.on('data', (c: Buffer) => (err += c.toString()));
      helper.stdout?.on('data', (c: Buffer) => {
        if (c.toString().includes('nfq-delay ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      helper.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nfq-delay in ${host.ns} exited (${code}): ${err}`));
      });
    });
    run('ip', ['netns', 'exec', host.ns, 'iptables', '-A', 'OUTPUT', '-d', SUBNET, '-j', 'NFQUEUE', '--queue-num', '0', '--queue-bypass']);
  }

  /** Removes the impairment (the rule first, then the helper releases what it holds). */
  async clear(host: TestHost): Promise<void> {
    if (this.injector === 'tc-netem') {
      tryRun('ip', ['netns', 'exec', host.ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
      return;
    }
    tryRun('ip', ['netns', 'exec', host.ns, 'iptables', '-D', 'OUTPUT', '-d', SUBNET, '-j', 'NFQUEUE', '--queue-num', '0', '--queue-bypass']);
    const helper = this.#helpers.get(host.ns);
    this.#helpers.delete(host.ns);
    if (helper === undefined || helper.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => helper.once('exit', () => resolve()));
    helper.kill('SIGTERM');
    const timer = setTimeout(() => helper.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}
