import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { checkDiscoveryOptions, ownAddressCheck } from '../../../src/daemon/dns-discovery.js';
import { isTallymeshError } from '../../../src/errors.js';

describe('ownAddressCheck', () => {
  it('knows the bound and the advertised address, on their port only', () => {
    const isSelf = ownAddressCheck({ host: '127.0.0.11', port: 7070, advertise: '10.0.0.7:7070' });
    expect(isSelf('127.0.0.11:7070')).toBe(true);
    expect(isSelf('10.0.0.7:7070')).toBe(true);
    expect(isSelf('127.0.0.11:7071')).toBe(false);
    expect(isSelf('127.0.0.12:7070')).toBe(false);
  });

  it('on a wildcard bind, knows every local interface address (IPv6 in brackets)', () => {
    const isSelf = ownAddressCheck({ host: '0.0.0.0', port: 7070 });
    const local = Object.values(networkInterfaces()).flatMap((l) => l ?? []);
    expect(local.length).toBeGreaterThan(0);
    for (const a of local) expect(isSelf(a.family === 'IPv6' ? `[${a.address}]:7070` : `${a.address}:7070`), a.address).toBe(true);
    expect(isSelf('192.0.2.1:7070')).toBe(false); // TEST-NET-1: never a local address
  });
});

describe('checkDiscoveryOptions', () => {
  const refused = (o: Parameters<typeof checkDiscoveryOptions>[0]): Error => {
    try {
      checkDiscoveryOptions(o);
    } catch (err) {
      expect(isTallymeshError(err)).toBe(true);
      return err as Error;
    }
    throw new Error(`accepted ${JSON.stringify(o)}`);
  };

  it('accepts what the config loader produces', () => {
    expect(() => checkDiscoveryOptions({ peersDns: ['tallymesh.svc:7070', '[fd00::1]:7070'], dnsIntervalMs: 100, dnsServer: '[::1]:53' })).not.toThrow();
    expect(() => checkDiscoveryOptions({})).not.toThrow();
  });

  it('refuses names without a port, intervals below 100 ms and DNS servers given by name', () => {
    expect(refused({ peersDns: 'tallymesh.svc:7070' })).toMatchObject({ code: 'TALLYMESH_ERR_OPTION_TYPE' });
    expect(refused({ peersDns: ['tallymesh.svc'] })).toMatchObject({ code: 'TALLYMESH_ERR_OPTION_RANGE', message: expect.stringContaining('peersDns') });
    expect(refused({ dnsIntervalMs: 10 })).toMatchObject({ code: 'TALLYMESH_ERR_OPTION_RANGE', message: expect.stringContaining('dnsIntervalMs') });
    expect(refused({ dnsServer: 'dns.example:53' })).toBeInstanceOf(RangeError);
    expect(refused({ dnsServer: '10.0.0.10' }).message).toMatch(/dnsServer.*ip:port/);
  });
});
