/**
 * The RLS server and service on their own, over embedded limiters (the real
 * ones; the daemon hands over a mesh's instead): the connection bound, the
 * health status following `serving`, keys that stay apart where names or
 * lengths could merge them, and the bound on remembered unknown domains.
 */
import net from 'node:net';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createLimiter, type Limiter } from '../../../src/limiter/limiter.js';
import { parseRlsDocuments } from '../../../src/rls/rls-config.js';
import { RlsServer } from '../../../src/rls/rls-server.js';
import { descriptorKey, limiterName, RlsService, type RateLimitRequest, type RlsDecisions } from '../../../src/rls/rls-service.js';
import { MAX_KEY_BYTES } from '../../../src/validate.js';
import { waitFor } from '../../helpers/wait-for.js';
import { descriptor, RlsClient } from '../../helpers/rls-client.js';

/** The decision path over embedded limiters, created on demand as the mesh does. */
function embedded(): RlsDecisions & { limiters: Map<string, Limiter> } {
  const limiters = new Map<string, Limiter>();
  return {
    limiters,
    ensure: (spec) => void (limiters.has(spec.name) || limiters.set(spec.name, createLimiter(spec))),
    consume: (name, key, cost) => (limiters.get(name) as Limiter).consume(key, cost),
    peek: (name, key) => (limiters.get(name) as Limiter).peek(key),
  };
}

const config = (yaml: string) => ({ domains: parseRlsDocuments(yaml, 't.yaml'), files: ['t.yaml'] });
const ONE = 'domain: a b\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 2}\n---\ndomain: a_b\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 2}\n';

const servers: RlsServer[] = [];
const clients: RlsClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) s.terminate();
});

describe('RlsServer', () => {
  it('closes connections past its bound at accept and counts them', async () => {
    const server = new RlsServer({ service: new RlsService({ config: config(ONE), decisions: embedded() }), serving: () => true, bounds: { maxConnections: 2 } });
    servers.push(server);
    const port = await server.listen(0, '127.0.0.1');
    const sockets = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
    })));
    await waitFor(() => server.connections === 2);
    const third = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => third.on('close', () => resolve()));
    expect(server.stats.refusedConnections).toBe(1);
    expect(server.connections).toBe(2);
    for (const s of sockets) s.destroy();
    await waitFor(() => server.connections === 0);
    // Room again: a gRPC client is served.
    const c = new RlsClient(port);
    clients.push(c);
    expect((await c.decide({ domain: 'a b', descriptors: [descriptor(['k', 'v'])] })).overall_code).toBe('OK');
  });

  it('answers NOT_SERVING while `serving` says no, and refuses calls once closed', async () => {
    let serving = false;
    const server = new RlsServer({ service: new RlsService({ config: config(ONE), decisions: embedded() }), serving: () => serving });
    servers.push(server);
    const port = await server.listen(0, '127.0.0.1');
    const c = new RlsClient(port);
    clients.push(c);
    expect(await c.health()).toEqual({ status: 'NOT_SERVING' });
    serving = true;
    expect(await c.health()).toEqual({ status: 'SERVING' });
    await server.close();
    expect((await c.call({ domain: 'a b', descriptors: [descriptor(['k', 'v'])] }, undefined, 2_000)).error?.code).toBe(grpcStatus.UNAVAILABLE);
  });
});

describe('RlsService', () => {
  const request = (domain: string, ...pairs: Array<[string, string]>): RateLimitRequest => ({ domain, descriptors: [{ entries: pairs.map(([key, value]) => ({ key, value })), limit: null }], hits_addend: 0 });

  it('keeps two domains apart that share a limiter name once cut to the name’s alphabet', () => {
    const decisions = embedded();
    const service = new RlsService({ config: config(ONE), decisions });
    expect(limiterName('a b', 'minute', 2)).toBe(limiterName('a_b', 'minute', 2));
    expect([...decisions.limiters.keys()]).toEqual(['rls.m2.a_b']);
    for (let i = 0; i < 2; i++) expect(service.shouldRateLimit(request('a b', ['k', 'v'])).overall_code).toBe(1);
    expect(service.shouldRateLimit(request('a b', ['k', 'v'])).overall_code).toBe(2);
    // The other domain's count is its own.
    expect(service.shouldRateLimit(request('a_b', ['k', 'v'])).statuses[0].limit_remaining).toBe(1);
  });

  it('hashes a descriptor past the key bound, and long descriptors differing only at the end count apart', () => {
    const long = 'v'.repeat(250);
    const a = descriptorKey('d', [{ key: 'k', value: `${long}a` }]);
    const b = descriptorKey('d', [{ key: 'k', value: `${long}b` }]);
    expect(a).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(Buffer.byteLength(descriptorKey('d', Array.from({ length: 16 }, () => ({ key: 'k'.repeat(256), value: '€'.repeat(85) }))))).toBeLessThanOrEqual(MAX_KEY_BYTES);
    // Entries that would read alike when joined with separators stay apart.
    expect(descriptorKey('d', [{ key: 'a', value: 'b","c' }])).not.toBe(descriptorKey('d', [{ key: 'a', value: 'b' }, { key: 'c', value: '' }]));
    const service = new RlsService({ config: config('domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 1}\n'), decisions: embedded() });
    expect(service.shouldRateLimit(request('d', ['k', `${long}a`])).overall_code).toBe(1);
    expect(service.shouldRateLimit(request('d', ['k', `${long}b`])).overall_code).toBe(1);
    expect(service.shouldRateLimit(request('d', ['k', `${long}a`])).overall_code).toBe(2);
  });

  it('remembers at most 1,000 unknown domains, saying so once', () => {
    const seen: Array<[string, boolean]> = [];
    const service = new RlsService({ config: config(ONE), decisions: embedded(), onUnknownDomain: (d, capped) => seen.push([d, capped]) });
    for (let i = 0; i < 1500; i++) service.shouldRateLimit(request(`unknown-${i % 1200}`, ['k', 'v']));
    expect(seen).toHaveLength(1000);
    expect(seen.filter(([, capped]) => capped)).toEqual([['unknown-999', true]]);
    expect(service.results.get('unknown_domain')).toBe(1500);
  });
});
