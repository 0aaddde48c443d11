/**
 * Issue 10, defect 9, at the daemon: SIGTERM while a peer reads slowly hands
 * that peer every admitted hit and the BYE within `shutdownTimeoutMs`, and
 * what a peer that never reads could not take is logged, naming it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fillSendQueue, startPausableProxy, type PausableProxy } from '../../helpers/backpressure.js';
import { closeAll, startTestDaemon, type TestDaemon } from '../../helpers/daemon.js';
import { waitFor } from '../../helpers/wait-for.js';

const LIMITERS = [{ name: 'api', limit: 100, windowMs: 60_000 }];
const proxies: PausableProxy[] = [];

afterEach(async () => {
  for (const p of proxies) p.resume();
  await closeAll();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

const peerOf = (d: TestDaemon, nodeId: string) => d.mesh.cluster().peers.find((p) => p.nodeId === nodeId);

/** Daemon `a` linked to `b` through a relay that stopped reading, with frames waiting in a's send queue. */
async function backedUpDaemons(shutdownTimeoutMs: number) {
  const b = await startTestDaemon('b', { limiters: LIMITERS });
  const proxy = await startPausableProxy(b.address);
  proxies.push(proxy);
  const a = await startTestDaemon('a', { limiters: LIMITERS, peers: [proxy.address], shutdownTimeoutMs });
  await waitFor(() => peerOf(a, 'b')?.state === 'live' && peerOf(b, 'a')?.state === 'live');
  const admitted = new Map<string, number>();
  const api = a.mesh.get('api')!;
  const admit = (key: string): void => {
    expect(api.consume(key).allowed).toBe(true);
    admitted.set(key, (admitted.get(key) ?? 0) + 1);
  };
  proxy.pause();
  await fillSendQueue(a.mesh, 'b', admit);
  expect(peerOf(a, 'b')?.framesDropped).toBe(0);
  for (let i = 0; i < 50; i++) admit(`final:${i}`);
  return { a, b, proxy, admitted };
}

describe('daemon shutdown behind a slow peer (issue 10, defect 9)', () => {
  it('hands the slow peer every admitted hit and the BYE before closing', async () => {
    const { a, b, proxy, admitted } = await backedUpDaemons(10_000);
    const closed = a.close('SIGTERM');
    await new Promise((resolve) => setImmediate(resolve));
    proxy.resume();
    await closed;
    await waitFor(() => peerOf(b, 'a')?.state === 'down');
    const api = b.mesh.get('api')!;
    const lost = [...admitted].filter(([key, hits]) => Math.round(api.count(key)) !== hits).length;
    expect({ reason: peerOf(b, 'a')?.reason, lost }).toEqual({ reason: 'left: shutdown', lost: 0 });
    expect(a.logs.filter((l) => l.event === 'shutdown-unsent' || l.event === 'shutdown-timeout')).toEqual([]);
  });

  it('logs, naming the peer, the frames a peer that never reads could not take', async () => {
    const { a } = await backedUpDaemons(800);
    const started = Date.now();
    await a.close('SIGTERM');
    expect(Date.now() - started).toBeLessThan(800 + 500);
    const warnings = a.logs.filter((l) => l.event === 'shutdown-unsent');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, peer: 'b' });
    expect(warnings[0].frames).toBeGreaterThan(0);
    expect(String(warnings[0].msg)).toMatch(/frames .* queued for peer b were not sent/);
    // The mesh gave up inside the daemon's own deadline.
    expect(a.logs.filter((l) => l.event === 'shutdown-timeout')).toEqual([]);
    expect(a.mesh.cluster().replication.framesUnsent).toBe(warnings[0].frames);
  });
});
