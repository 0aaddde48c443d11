import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  allowedHostPattern,
  browserMarker,
  checkRequest,
  checkUpgrade,
  crossOriginWrite,
  guardUpgrades,
  hostOfHeader,
  HostAllowlist,
  isGuarded,
} from '../../../src/mesh/port/port-guard.js';

function req(method: string, headers: Record<string, string>, url = '/v1/consume'): http.IncomingMessage {
  return { method, url, headers } as unknown as http.IncomingMessage;
}

describe('hostOfHeader', () => {
  it.each([
    ['localhost:7070', 'localhost'],
    ['LocalHost.', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]:7070', '::1'],
    ['Node-1.svc.example:80', 'node-1.svc.example'],
    ['my_service:7070', 'my_service'],
  ])('reads %s as %s', (header, name) => {
    expect(hostOfHeader(header)).toBe(name);
  });

  it.each(['', '::1', 'a b', 'evil.example:7070:1', 'evil.example/x', '[::1', '-x.example'])('refuses the malformed %j', (header) => {
    expect(hostOfHeader(header)).toBe(null);
  });
});

describe('allowedHostPattern', () => {
  it('normalises names, addresses and domain suffixes', () => {
    expect(allowedHostPattern('Tallymesh.Internal')).toBe('tallymesh.internal');
    expect(allowedHostPattern('.svc.example')).toBe('.svc.example');
    expect(allowedHostPattern('10.0.0.5')).toBe('10.0.0.5');
    expect(allowedHostPattern('[fd00::6]')).toBe('fd00::6');
  });

  it.each(['a.example:7070', '.', '*', 'evil example', '', 'http://a.example'])('refuses %j', (entry) => {
    expect(allowedHostPattern(entry)).toBe(null);
  });
});

describe('HostAllowlist', () => {
  it('on a loopback bind, answers loopback names, the host and the advertise host, on any port', () => {
    const hosts = new HostAllowlist({ host: '127.0.0.1', advertise: 'tm.local:7071' });
    expect(hosts.enforced).toBe(true);
    for (const h of ['localhost', 'localhost:1', '127.0.0.1:7070', '127.8.9.10', '[::1]:7070', 'tm.local:7071', 'tm.local:9']) expect(hosts.allows(h), h).toBe(true);
    for (const h of ['evil.example', 'evil.example:7070', '127.0.0.1.evil.example', 'localhost.evil.example', '10.0.0.1:7070', 'garbage host']) {
      expect(hosts.allows(h), h).toBe(false);
    }
  });

  it('answers a request without Host (HTTP/1.0: never a browser)', () => {
    expect(new HostAllowlist({ host: '127.0.0.1' }).allows(undefined)).toBe(true);
  });

  it('is off on a wildcard or a non-loopback bind without allowedHosts: such a node cannot know its names', () => {
    for (const host of ['0.0.0.0', '::', '198.18.0.11']) {
      const hosts = new HostAllowlist({ host, boundAddress: host });
      expect(hosts.enforced, host).toBe(false);
      expect(hosts.allows('anything.example:7070')).toBe(true);
    }
  });

  it('turns on with allowedHosts whatever the bind, keeping the host, the bound address and the advertise host', () => {
    const hosts = new HostAllowlist({ host: '198.18.0.11', boundAddress: '198.18.0.11', advertise: 'n1.example:7070', allowedHosts: ['api.example', '.svc.example'] });
    expect(hosts.enforced).toBe(true);
    for (const h of ['198.18.0.11:7070', 'n1.example:7070', 'api.example', 'svc.example', 'a.b.svc.example:1', 'localhost']) expect(hosts.allows(h), h).toBe(true);
    for (const h of ['198.18.0.12:7070', 'xsvc.example', 'api.example.evil']) expect(hosts.allows(h), h).toBe(false);
  });

  it('treats a localhost bind (resolved to 127.0.0.1 or ::1) as loopback', () => {
    expect(new HostAllowlist({ host: 'localhost', boundAddress: '::1' }).enforced).toBe(true);
  });
});

describe('browserMarker', () => {
  it('sees Origin (any value, "null" included) and Sec-Fetch-Site, not Sec-Fetch-Mode', () => {
    expect(browserMarker(req('GET', { origin: 'https://evil.example' }))).toContain('Origin');
    expect(browserMarker(req('GET', { origin: 'null' }))).toContain('Origin');
    expect(browserMarker(req('GET', { 'sec-fetch-site': 'same-origin' }))).toContain('Sec-Fetch-Site');
    // Node's fetch and WebSocket send Sec-Fetch-Mode: they are peers and clients, not browsers.
    expect(browserMarker(req('GET', { 'sec-fetch-mode': 'websocket', 'user-agent': 'node' }))).toBe(null);
  });
});

describe('crossOriginWrite', () => {
  it('lets safe methods through whatever their headers', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) expect(crossOriginWrite(req(method, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }))).toBe(null);
  });

  it('decides by Sec-Fetch-Site first: same-origin and none pass, same-site and cross-site do not', () => {
    expect(crossOriginWrite(req('POST', { 'sec-fetch-site': 'same-origin', origin: 'https://other.example' }))).toBe(null);
    expect(crossOriginWrite(req('POST', { 'sec-fetch-site': 'none' }))).toBe(null);
    expect(crossOriginWrite(req('POST', { 'sec-fetch-site': 'same-site' }))).toContain('same-site');
    expect(crossOriginWrite(req('DELETE', { 'sec-fetch-site': 'cross-site', host: '127.0.0.1:7070', origin: 'http://127.0.0.1:7070' }))).toContain('cross-site');
  });

  it('else compares Origin with Host, and lets a request with neither through', () => {
    expect(crossOriginWrite(req('POST', { host: '127.0.0.1:7070', origin: 'http://127.0.0.1:7070' }))).toBe(null);
    expect(crossOriginWrite(req('POST', { host: '127.0.0.1:7070', origin: 'http://127.0.0.1:7071' }))).toContain('Origin');
    expect(crossOriginWrite(req('POST', { host: '127.0.0.1:7070', origin: 'null' }))).toContain('Origin');
    expect(crossOriginWrite(req('PUT', { host: '127.0.0.1:7070', origin: 'not a url' }))).toContain('Origin');
    expect(crossOriginWrite(req('POST', { host: '127.0.0.1:7070', 'user-agent': 'curl/8.5.0' }))).toBe(null);
  });
});

describe('checkUpgrade and checkRequest', () => {
  const hosts = new HostAllowlist({ host: '127.0.0.1' });

  it('refuse a foreign Host with TALLYMESH_ERR_HTTP_HOST_REFUSED (421) before anything else', () => {
    const r = checkUpgrade(req('GET', { host: 'evil.example:7070', origin: 'https://evil.example' }, '/v1/mesh'), hosts);
    expect(r?.reason).toBe('host');
    expect(r?.error).toMatchObject({ code: 'TALLYMESH_ERR_HTTP_HOST_REFUSED', statusCode: 421 });
    expect(r?.error.message).toContain('evil.example:7070');
    expect(checkRequest(req('GET', { host: 'evil.example' }, '/v1/cluster'), hosts)?.reason).toBe('host');
  });

  it('refuse an upgrade from a browser with TALLYMESH_ERR_HTTP_ORIGIN_REFUSED (403), naming the path', () => {
    const r = checkUpgrade(req('GET', { host: 'localhost:7070', origin: 'http://localhost:7070' }, '/v1/stream?x=1'), hosts);
    expect(r?.reason).toBe('origin');
    expect(r?.error).toMatchObject({ code: 'TALLYMESH_ERR_HTTP_ORIGIN_REFUSED', statusCode: 403 });
    expect(r?.error.message).toContain('/v1/stream');
    expect(r?.error.message).not.toContain('x=1');
    expect(checkUpgrade(req('GET', { host: 'localhost:7070' }, '/v1/stream'), hosts)).toBe(null);
  });

  it('refuse a cross-origin write, and answer a same-origin read', () => {
    expect(checkRequest(req('POST', { host: '127.0.0.1:7070', origin: 'https://evil.example' }), hosts)?.reason).toBe('cross-site');
    expect(checkRequest(req('GET', { host: '127.0.0.1:7070', origin: 'https://evil.example' }, '/v1/cluster'), hosts)).toBe(null);
  });
});

describe('guardUpgrades', () => {
  /** An emitter standing in for http.Server: guardUpgrades only touches emit. */
  function fakeServer(): http.Server {
    return new EventEmitter() as unknown as http.Server;
  }

  it('answers a refused upgrade itself, and no upgrade listener ever sees it', async () => {
    const server = fakeServer();
    const seen: string[] = [];
    server.on('upgrade', (r: http.IncomingMessage) => seen.push(r.url ?? ''));
    const refused: string[] = [];
    const hosts = new HostAllowlist({ host: '127.0.0.1' });
    guardUpgrades(server, (r) => checkUpgrade(r, hosts), (r, refusal) => refused.push(`${r.url} ${refusal.reason}`));
    expect(isGuarded(server)).toBe(true);

    const socket = new PassThrough();
    let written = '';
    socket.on('data', (b: Buffer) => (written += b.toString('latin1')));
    const finished = new Promise((resolve) => socket.once('close', resolve));
    server.emit('upgrade', req('GET', { host: 'localhost', origin: 'https://evil.example' }, '/v1/mesh'), socket, Buffer.alloc(0));
    await finished;
    expect(seen).toEqual([]);
    expect(refused).toEqual(['/v1/mesh origin']);
    expect(written).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(written).toContain('"code":"TALLYMESH_ERR_HTTP_ORIGIN_REFUSED"');

    server.emit('upgrade', req('GET', { host: 'localhost' }, '/v1/mesh'), new PassThrough(), Buffer.alloc(0));
    expect(seen).toEqual(['/v1/mesh']);
  });

  it('guards a server once: the first guard (the daemon) wins over later ones (the mesh default)', () => {
    const server = fakeServer();
    const calls: string[] = [];
    guardUpgrades(server, () => {
      calls.push('first');
      return null;
    });
    guardUpgrades(server, () => {
      calls.push('second');
      return null;
    });
    server.emit('upgrade', req('GET', {}, '/v1/mesh'), new PassThrough(), Buffer.alloc(0));
    expect(calls).toEqual(['first']);
  });
});
