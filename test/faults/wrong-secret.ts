/**
 * The wrong-secret fault: a sixth daemon (host 6) started with another
 * secret, listing every member as a peer, and taking load on the same keys.
 * It must join nothing (no member sees it live, it sees no live peer) and
 * learn nothing (its count of a key is exactly what it admitted itself),
 * and the members must count none of its hits.
 */
import { DAEMON_PORT, STATE_DIR, writeSecret } from './cluster.js';
import { Daemon } from './daemon.js';
import { requestJson } from './http.js';
import { tally } from './load.js';
import { EXACT, faultKeys, LIMITER_SPECS, type FaultContext, type FaultSpec } from './scenario.js';
import { sleep } from './sh.js';

const NAME = 'wrong-secret';
const OUTSIDER = 'n6';
const joined = (state: string): boolean => state === 'live' || state === 'syncing';

export function wrongSecretFault(ctx: FaultContext): FaultSpec {
  const outsider = new Daemon({
    id: OUTSIDER,
    host: ctx.testbed.host(6),
    port: DAEMON_PORT,
    peers: ctx.members.map((d) => d.address),
    secretFile: writeSecret('outsider'),
    limiters: LIMITER_SPECS,
    stateDir: STATE_DIR,
  });
  return {
    name: NAME,
    title: 'a sixth daemon with another secret',
    injection: 'n6 started with its own secret file and `--peers` listing all five members, under the same load as they are',
    faultMs: 6_000,
    setup: async () => {
      await outsider.start();
      ctx.cluster.add(outsider);
      await sleep(2_000); // its dials and handshakes have been refused by now
    },
    targets: (c) => [...c.members, outsider],
    truthFilter: (h) => h.node !== OUTSIDER,
    inject: async () => {},
    heal: async () => {},
    after: async (c, load) => {
      // Learns nothing: its count of each key is what it admitted itself.
      const own = tally(load.hits, (h) => h.node === OUTSIDER && h.limiter === EXACT.name);
      const keys = faultKeys(NAME).exact;
      const counts = await c.cluster.counts([outsider], EXACT.name, keys);
      let learned = 0;
      for (const key of keys) {
        const v = counts[OUTSIDER][key];
        if (v === null) c.failures.push(`${OUTSIDER} did not answer a peek of ${key}`);
        else learned += Math.max(0, v - (own.get(key) ?? 0));
      }
      if (learned > 0) c.failures.push(`${OUTSIDER} learned ${learned} hits it did not admit`);
      // Joins nothing: no live or syncing peer on either side.
      const mine = await c.cluster.view(outsider);
      if (mine === null) c.failures.push(`${OUTSIDER} /v1/cluster did not answer`);
      const itsPeers = mine?.peers.filter((p) => joined(p.state)).map((p) => p.nodeId) ?? [];
      if (itsPeers.length > 0) c.failures.push(`${OUTSIDER} sees live peers: ${itsPeers.join(',')}`);
      const rejected: string[] = [];
      for (const d of c.members) {
        const view = await c.cluster.view(d);
        const p = view?.peers.find((x) => x.nodeId === OUTSIDER);
        if (p !== undefined && joined(p.state)) c.failures.push(`${d.id} sees ${OUTSIDER} as ${p.state}`);
        const auth = p?.rejected?.auth;
        if (auth !== undefined && auth > 0) rejected.push(`${d.id}:${auth}`);
      }
      // What the members' metrics say about the refused handshakes (informative).
      const metrics = await requestJson(`${c.members[0].url}/metrics`, { timeoutMs: 3_000 }).catch(() => null);
      const text = metrics?.text ?? '';
      const authLines = text.split('\n').filter((l) => !l.startsWith('#') && /reject/i.test(l) && /auth/.test(l));
      if (authLines.length > 0) rejected.push(`n1 /metrics: ${authLines.slice(0, 3).join(', ')}`);
      const ownHits = [...own.values()].reduce((a, b) => a + b, 0);
      c.notes.push(
        `n6 admitted ${ownHits} hits of its own and counted nothing else; no member listed it as a peer` +
          `${rejected.length > 0 ? ` (auth rejections ${rejected.join(', ')})` : ''}.`,
      );
      const exit = await outsider.stop();
      if (exit.code !== 0) c.failures.push(`${OUTSIDER} exited with ${JSON.stringify(exit)} on SIGTERM`);
      outsider.dispose();
      c.cluster.daemons.splice(c.cluster.daemons.indexOf(outsider), 1);
      return { learned, outsiderAdmitted: ownHits };
    },
  };
}
