/**
 * Issue 9, a weakness the hostile-client suite found: the port a library
 * mesh opens (createMesh without a daemon) kept Node's server defaults —
 * 60 s for the headers, checked every 30 s, no connection cap — so a
 * slowloris client held a socket for up to 90 s. It must be held to the
 * daemon's bounds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMesh, type Mesh } from '../../../src/mesh/mesh.js';
import { HEADERS_TIMEOUT_MS, TIMEOUT_CHECK_INTERVAL_MS } from '../../../src/mesh/port/server-bounds.js';
import { slowRequests, startSlowGroup, type SlowGroup } from '../../fuzz/hostile/slowloris.js';

/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 2_000;
/** A slow connection must be cut by then (Node's defaults: up to 90 s). */
const CUT_BOUND_MS = HEADERS_TIMEOUT_MS + TIMEOUT_CHECK_INTERVAL_MS + SLACK_MS;

const open: Mesh[] = [];
const groups: SlowGroup[] = [];
afterEach(async () => {
  for (const g of groups.splice(0)) g.stop();
  await Promise.all(open.splice(0).map((m) => m.close()));
});

describe("a library mesh's port", () => {
  it('cuts slowloris connections — silent, trickled headers, a trickled upgrade — by the headers timeout', async () => {
    const mesh = await createMesh({ nodeId: 'a', host: '127.0.0.1', port: 0, peers: [], secret: 'mesh-port-bounds-secret' });
    open.push(mesh);
    const port = Number(mesh.address().split(':').at(-1));
    const kinds = slowRequests(mesh.address());
    for (const name of ['idle', 'headers', 'upgrade-mesh'] as const) groups.push(await startSlowGroup(name, port, kinds[name], 5, 100));
    const started = Date.now();
    await Promise.all(groups.flatMap((g) => g.conns.map((c) => c.waitClosed(CUT_BOUND_MS - (Date.now() - started)))));
    const held = Object.fromEntries(groups.map((g) => [g.name, g.conns.map((c) => (c.heldMs === null ? 'open' : Math.round(c.heldMs)))]));
    console.log(`held (ms): ${JSON.stringify(held)}`);
    for (const g of groups) {
      for (const c of g.conns) {
        expect(c.heldMs, `${g.name}: not cut within ${CUT_BOUND_MS} ms`).not.toBeNull();
        expect(c.heldMs, `${g.name}: cut before the headers timeout`).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 500);
      }
      // Answered like the daemon's port answers: 408, or nothing for a connection that never sent a byte.
      expect([...new Set(g.conns.map((c) => c.statuses().join('+') || 'none'))], g.name).toEqual(g.name === 'idle' ? [expect.stringMatching(/^(408|none)$/)] : ['408']);
    }
  }, 30_000);
});
