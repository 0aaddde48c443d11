/**
 * `tallymesh start --admin-port/--admin-host` through the CLI: a taken admin
 * port fails the start naming that port (not the main one), a host without a
 * port is a usage error, and an admin listener off loopback on a node with a
 * token is a warning the operator sees.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-admin-port-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const LIMITER = ['--limiter', 'name=api,limit=5,window=60s'];

describe('tallymesh start --admin-port', () => {
  it('fails with exit 1 naming the admin address when its port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['start', '--port', '0', '--admin-port', String(taken), ...LIMITER]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`tallymesh: cannot listen on 127.0.0.1:${taken}: the address is in use`);
      expect(r.stdout).not.toMatch(/listening on/);
    } finally {
      blocker.close();
    }
  });

  it('refuses --admin-host without --admin-port as a usage error', async () => {
    const r = await runCli(['start', '--port', '0', '--admin-host', '127.0.0.1', ...LIMITER]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--admin-host: needs an admin port too/);
  });

  it('warns when a node with a token opens its admin listener off loopback, and shows the listener in --check', async () => {
    const token = join(dir, 'token');
    writeFileSync(token, 'an-api-token-for-the-admin-port-test\n', { mode: 0o600 });
    const r = await runCli(['start', '--check', '--api-token-file', token, '--admin-port', '9090', '--admin-host', '0.0.0.0', ...LIMITER]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^tallymesh: warning: the admin listener on 0\.0\.0\.0 serves \/metrics, \/v1\/cluster, \/v1\/events and \/ui without the API token/m);
    expect(JSON.parse(r.stdout)).toMatchObject({ adminPort: 9090, adminHost: '0.0.0.0' });
  });
});
