/**
 * One measurement of the "memory" scenario, in a process of its own (a fresh
 * heap): `node --expose-gc dist/bench/memory/fill-keys.js <nodes> <keys>`.
 *
 * Starts `nodes` mesh nodes in this process, linked over loopback WebSockets,
 * each with one limiter (60 buckets; a window of an hour, so no hit expires
 * while a million keys replicate on a loaded machine), reads the heap and
 * RSS after a full GC, then has every node take one hit on each of `keys`
 * distinct keys — so with three nodes every key holds three replicas' cells on
 * every node, as in a cluster whose clients spread each key over the nodes —
 * waits until every node holds every key and its peers' hits have arrived,
 * and reads the heap and RSS again. Prints one JSON line: the bytes each node
 * spends per key.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMesh, type Mesh } from '../../src/index.js';

const WINDOW_MS = 3_600_000;
/** The default bucket count of a 60 s window; every key touches one bucket per replica, as a key hit once a minute does. */
const BUCKETS = 60;
/** Keys consumed between two yields to the event loop (so replication keeps up). */
const CHUNK = 5_000;

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run with node --expose-gc');
  collect();
  collect();
}

/** The V8 heap, the memory V8 holds outside it (typed arrays' backing stores: the window cells), and the RSS. */
function usage(): { heap: number; external: number; rss: number } {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

async function main(): Promise<void> {
  const nodes = Number(process.argv[2]);
  const keys = Number(process.argv[3]);
  if (!(nodes >= 1 && keys >= 1)) throw new Error('usage: fill-keys.js <nodes> <keys>');
  const secret = nodes > 1 ? randomBytes(16).toString('hex') : undefined;
  const meshes: Mesh[] = [];
  for (let i = 0; i < nodes; i++) {
    const peers = meshes.map((m) => m.address());
    meshes.push(await createMesh({ nodeId: `m${i}`, port: 0, peers, secret, maxKeys: keys * 2 }));
  }
  const limiters = meshes.map((m) => m.limiter({ name: 'api', limit: 1_000_000, windowMs: WINDOW_MS, buckets: BUCKETS, maxKeys: keys * 2 }));
  await Promise.all(meshes.map((m) => m.whenReady()));
  const before = usage();
  const started = Date.now();
  for (let k = 0; k < keys; k += CHUNK) {
    for (let i = k; i < Math.min(keys, k + CHUNK); i++) {
      for (const l of limiters) l.consume(`user:${i}`, 1);
    }
    await sleep(1);
  }
  // Done when every node holds every key and counts every node's hit on a sample of them.
  const probes = [0, Math.floor(keys / 2), keys - 1].map((i) => `user:${i}`);
  for (;;) {
    const full = limiters.every((l) => l.size >= keys && probes.every((p) => l.count(p) >= nodes - 0.01));
    if (full) break;
    if (Date.now() - started > 600_000) throw new Error('replication did not converge in 10 min');
    await sleep(200);
  }
  // Let send queues and snapshot buffers empty before reading the heap.
  await sleep(1_000);
  const after = usage();
  const held = limiters.reduce((n, l) => n + l.size, 0);
  console.log(
    JSON.stringify({
      nodes,
      keys,
      buckets: limiters[0].buckets,
      heapBytesPerKey: (after.heap - before.heap) / held,
      externalBytesPerKey: (after.external - before.external) / held,
      rssBytesPerKey: (after.rss - before.rss) / held,
      baseHeapBytes: before.heap,
      baseRssBytes: before.rss,
      fillMs: Date.now() - started,
    }),
  );
  await Promise.all(meshes.map((m) => m.close()));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
