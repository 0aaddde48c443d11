/**
 * Process faults: a daemon paused (SIGSTOP/SIGCONT) and a daemon killed
 * (SIGKILL) under load and restarted with the same `--id`.
 */
import { describeViews, type FaultSpec } from './scenario.js';
import { sleep } from './sh.js';

/** SIGSTOP `id` for 4 s, then SIGCONT; load runs on past the resume so its queued requests finish. */
export function pauseFault(id: string): FaultSpec {
  return {
    name: 'pause',
    title: `${id} paused 4 s (SIGSTOP/SIGCONT)`,
    injection: `\`kill -STOP\` of ${id} under load, \`kill -CONT\` 4 s later; load kept running 2 s past the resume so its queued requests finish`,
    faultMs: 4_000,
    inject: async (c) => c.cluster.byId(id).pause(),
    during: async (c) => {
      await sleep(2_500);
      c.notes.push(`While paused: ${await describeViews(c)}.`);
    },
    heal: async (c) => c.cluster.byId(id).resume(),
    loadThroughHealMs: 2_000,
  };
}

/**
 * SIGKILL `id` under load; 2 s later start it again with the same `--id`
 * (a new incarnation) while load continues. What it admitted in its last
 * ~gossip interval may be lost; the scenario measures how much.
 */
export function crashFault(id: string): FaultSpec {
  let killed: { node: string; at: number } | null = null;
  return {
    name: 'crash-kill-9',
    title: `${id} killed (kill -9) under load, restarted with the same --id`,
    injection: `\`kill -9\` of ${id} under load; 2 s later \`tallymesh start --id ${id}\` again (a new incarnation); load kept running 3 s after the restart`,
    faultMs: 2_000,
    inject: async (c) => {
      killed = { node: id, at: Date.now() };
      await c.cluster.byId(id).crash();
    },
    heal: async (c) => {
      const t0 = Date.now();
      await c.cluster.byId(id).start();
      c.notes.push(`Restarted ${id} listened after ${Date.now() - t0} ms.`);
    },
    loadThroughHealMs: 3_000,
    crash: () => killed,
    after: async (c) => ({ restartReadyMs: await c.cluster.waitHealthy(c.members, 30_000) }),
  };
}
