import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type ConfigFlags } from '../../src/daemon/config/load-config.js';
import { redactConfig } from '../../src/daemon/config/redact-config.js';
import { parseDuration, parseLimiterSpec } from '../../src/daemon/config/parse.js';
import { isTallymeshError } from '../../src/errors.js';
import { MIN_SECRET_LENGTH, resolveMeshOptions } from '../../src/mesh/mesh-options.js';
import { LOG_LEVELS } from '../../src/daemon/config/daemon-config.js';

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes `text` to a fresh file in the temp dir (mode 600) and returns its path. */
function file(text: string, name = `f${++files}`): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

const API = 'name=api,limit=100,window=60s';
const SECRET = 'a-cluster-secret-of-some-length';

function load(opts: { flags?: ConfigFlags; env?: Record<string, string>; yaml?: string }) {
  const flags = { ...opts.flags };
  if (opts.yaml !== undefined) flags.config = file(opts.yaml, `c${++files}.yaml`);
  return loadConfig({ flags, env: opts.env ?? {}, cwd: dir });
}

/** The config error `fn` throws (fails the test when it throws none or another kind). */
function configError(fn: () => unknown): Error & { code: string } {
  try {
    fn();
  } catch (err) {
    expect(isTallymeshError(err, 'TALLYMESH_ERR_CONFIG_INVALID')).toBe(true);
    expect(err).toBeInstanceOf(Error);
    return err as Error & { code: string };
  }
  throw new Error('expected a configuration error');
}

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['60s', 60_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['250', 250],
    [250, 250],
    [' 20ms ', 20],
    ['0', 0],
  ])('reads %j as %d ms', (input, ms) => {
    expect(parseDuration(input, 'x')).toBe(ms);
  });

  it.each(['5 minutes', '-1s', '1d', 'abc', '', '0.0005s', '1.5ms'])('refuses %j, naming the field', (input) => {
    expect(configError(() => parseDuration(input, 'limiters[1].window')).message).toMatch(/^Invalid configuration: limiters\[1\]\.window: must be/);
  });

  it('refuses values outside the bounds', () => {
    expect(configError(() => parseDuration('2m', 'gossipInterval', 1, 60_000)).message).toBe(
      'Invalid configuration: gossipInterval: must be from 1ms to 1m, got "2m"',
    );
    expect(configError(() => parseDuration(true, 'w')).message).toContain('must be a duration like 60s');
  });
});

describe('parseLimiterSpec', () => {
  it('splits a spec into fields', () => {
    expect(parseLimiterSpec('name=api, limit=100,window=60s,overflow=deny', '--limiter[0]')).toEqual({
      name: 'api',
      limit: '100',
      window: '60s',
      overflow: 'deny',
    });
  });

  it('names the spec when a part is not key=value or repeats', () => {
    expect(configError(() => parseLimiterSpec('name=api,100', '--limiter[2]')).message).toContain('--limiter[2]: "100" is not key=value');
    expect(configError(() => parseLimiterSpec('name=a,name=b', '--limiter[0]')).message).toContain('--limiter[0].name: is given twice');
  });
});

describe('loadConfig', () => {
  it('fills in the defaults', () => {
    const { config, warnings, file: path } = load({ flags: { limiter: [API] } });
    expect(path).toBeNull();
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 7070,
      peers: [],
      secret: '',
      apiToken: '',
      maxKeys: 1_000_000,
      eventsDeniedPerSec: 10,
      logLevel: 'info',
      gossipIntervalMs: 20,
      suspectAfterMs: 1000,
      maxClockOffsetMs: 500,
      shutdownTimeoutMs: 5000,
      drainMs: 5000,
      joinTimeoutMs: 2000,
    });
    expect(config.id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*-7070$/);
    expect(config.limiters).toEqual([{ name: 'api', limit: 100, windowMs: 60_000, maxKeys: 1_000_000, onOverflow: 'allow' }]);
    expect(config.tls).toBeUndefined();
  });

  it('reads every setting from a YAML file', () => {
    const cert = file('CERT');
    const key = file('KEY');
    const secret = file(`${SECRET}\n`);
    const token = file('an-api-token-0123456789');
    const { config, origins } = load({
      yaml: `
id: node-a
host: 0.0.0.0
port: 7071
advertise: 10.0.0.5:7071
peers: [10.0.0.6:7071, "10.0.0.7:7071"]
secretFile: ${secret}
apiTokenFile: ${token}
maxKeys: 2000000
eventsDeniedPerSec: 50
logLevel: debug
gossipInterval: 50ms
suspectAfter: 2s
maxClockOffset: 1s
shutdownTimeout: 10s
drainMs: 1500ms
tls: { certFile: ${cert}, keyFile: ${key} }
limiters:
  - { name: api, limit: 100, window: 60s, buckets: 60 }
  - { name: login, limit: 5, window: 1m, overflow: deny }
`,
    });
    expect(config).toMatchObject({
      id: 'node-a',
      host: '0.0.0.0',
      port: 7071,
      advertise: '10.0.0.5:7071',
      peers: ['10.0.0.6:7071', '10.0.0.7:7071'],
      secret: SECRET,
      apiToken: 'an-api-token-0123456789',
      maxKeys: 2_000_000,
      eventsDeniedPerSec: 50,
      logLevel: 'debug',
      gossipIntervalMs: 50,
      suspectAfterMs: 2000,
      maxClockOffsetMs: 1000,
      shutdownTimeoutMs: 10_000,
      drainMs: 1500,
      tls: { cert: 'CERT', key: 'KEY' },
    });
    expect(config.limiters).toEqual([
      { name: 'api', limit: 100, windowMs: 60_000, buckets: 60, maxKeys: 2_000_000, onOverflow: 'allow' },
      { name: 'login', limit: 5, windowMs: 60_000, maxKeys: 2_000_000, onOverflow: 'deny' },
    ]);
    expect(origins.port).toBe('file');
  });

  it('resolves paths in the file against the file, and flag paths against the working directory', () => {
    file(SECRET, 'relative-secret');
    expect(load({ yaml: `secretFile: relative-secret\nlimiters: [{ name: api, limit: 1, window: 1s }]` }).config.secret).toBe(SECRET);
    expect(load({ flags: { secretFile: 'relative-secret', limiter: [API] } }).config.secret).toBe(SECRET);
  });

  it('takes flags over environment variables over the file over defaults', () => {
    const yaml = 'port: 7001\nlogLevel: warn\nlimiters: [{ name: api, limit: 1, window: 1s }]';
    const env = { TALLYMESH_PORT: '7002', TALLYMESH_GOSSIP_INTERVAL: '40ms' };
    const all = load({ yaml, env, flags: { port: '7003' } });
    expect(all.config.port).toBe(7003);
    expect(all.origins).toMatchObject({ port: 'flag', gossipInterval: 'env', logLevel: 'file' });
    expect(all.config.gossipIntervalMs).toBe(40);
    expect(all.config.logLevel).toBe('warn');
    expect(load({ yaml, env }).config.port).toBe(7002);
    expect(load({ yaml }).config.port).toBe(7001);
    expect(load({ flags: { limiter: [API] } }).config.port).toBe(7070);
  });

  it('replaces lists whole but merges limiters by name', () => {
    const yaml = `peers: [a:1, b:2]
limiters:
  - { name: api, limit: 1, window: 1s }
  - { name: login, limit: 5, window: 1m }`;
    const { config } = load({
      yaml,
      env: { TALLYMESH_PEERS: 'c:3', TALLYMESH_SECRET: SECRET, TALLYMESH_LIMITERS: 'name=search,limit=10,window=10s;name=login,limit=7,window=1m' },
      flags: { limiter: ['name=api,limit=200,window=1s'] },
    });
    expect(config.peers).toEqual(['c:3']);
    expect(config.limiters.map((l) => `${l.name}:${l.limit}`)).toEqual(['api:200', 'login:7', 'search:10']);
  });

  it('reads the config path from TALLYMESH_CONFIG and peers from repeated comma-separated flags', () => {
    const path = file('limiters: [{ name: api, limit: 1, window: 1s }]', 'env.yaml');
    const { config, file: used } = loadConfig({ env: { TALLYMESH_CONFIG: path, TALLYMESH_SECRET: SECRET }, flags: { peers: ['a:1,b:2', 'c:3', 'a:1'] } });
    expect(used).toBe(path);
    expect(config.peers).toEqual(['a:1', 'b:2', 'c:3']);
  });

  it('reads an inline secret and token from the environment', () => {
    const { config } = load({ env: { TALLYMESH_SECRET: SECRET, TALLYMESH_API_TOKEN: 'token-token-token-1' }, flags: { limiter: [API] } });
    expect(config.secret).toBe(SECRET);
    expect(config.apiToken).toBe('token-token-token-1');
    expect(redactConfig(config)).toMatchObject({ secret: `(set, ${SECRET.length} characters)`, apiToken: '(set, 19 characters)', tls: '(off)' });
    expect(JSON.stringify(redactConfig(config))).not.toContain(SECRET);
  });

  it('reads allowedHosts from flags, environment and file, normalised; refuses a port or a bad name', () => {
    expect(load({ flags: { allowedHosts: ['Tallymesh.Internal,.svc.example', 'tallymesh.internal'], limiter: [API] } }).config.allowedHosts).toEqual([
      'tallymesh.internal',
      '.svc.example',
    ]);
    expect(load({ env: { TALLYMESH_ALLOWED_HOSTS: 'a.example, [fd00::6]' }, flags: { limiter: [API] } }).config.allowedHosts).toEqual(['a.example', 'fd00::6']);
    const { config, origins } = load({ yaml: 'allowedHosts: [a.example, 10.0.0.5]\nlimiters: [{ name: api, limit: 1, window: 1s }]' });
    expect(config.allowedHosts).toEqual(['a.example', '10.0.0.5']);
    expect(origins.allowedHosts).toBe('file');
    expect(load({ flags: { limiter: [API] } }).config.allowedHosts).toBeUndefined();
    expect(configError(() => load({ flags: { allowedHosts: 'a.example:7070', limiter: [API] } })).message).toContain('--allowed-hosts[0]: must be a host name');
    expect(configError(() => load({ env: { TALLYMESH_ALLOWED_HOSTS: 'ok.example,*' }, flags: { limiter: [API] } })).message).toContain('TALLYMESH_ALLOWED_HOSTS[1]');
  });

  it('accepts a non-loopback host only with a secret', () => {
    const err = configError(() => load({ flags: { host: '0.0.0.0', limiter: [API] } }));
    expect(err.message).toMatch(/^Invalid configuration: --host: binding 0\.0\.0\.0 needs a cluster secret/);
    expect(configError(() => load({ env: { TALLYMESH_HOST: '10.1.2.3' }, flags: { limiter: [API] } })).message).toContain('TALLYMESH_HOST: binding');
    expect(load({ flags: { host: 'localhost', limiter: [API] } }).config.host).toBe('localhost');
    expect(load({ flags: { host: '::1', limiter: [API] } }).config.host).toBe('::1');
    expect(load({ env: { TALLYMESH_SECRET: SECRET }, flags: { host: '0.0.0.0', limiter: [API] } }).config.host).toBe('0.0.0.0');
  });

  it('warns about a secret file others can read, an unknown TALLYMESH_ variable and a clear-text token', () => {
    const secret = file(SECRET);
    chmodSync(secret, 0o644);
    const { warnings } = load({
      env: { TALLYMESH_PROT: '1', TALLYMESH_API_TOKEN: 'token-token-token-1', TALLYMESH_SIM_SEEDS: '5' },
      flags: { secretFile: secret, host: '0.0.0.0', limiter: [API] },
    });
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toContain('readable by group or others (mode 644)');
    expect(warnings.join('\n')).toContain('unknown environment variable TALLYMESH_PROT');
    expect(warnings.join('\n')).toContain('clear text');
  });

  it('warns that a node reachable beyond loopback without an API token lets anyone change its limits', () => {
    const { warnings } = load({ flags: { secretFile: file(SECRET), host: '0.0.0.0', limiter: [API] } });
    expect(warnings).toEqual([expect.stringContaining('no API token (--api-token-file): anyone who reaches 0.0.0.0 can decide, reset keys, change limits')]);
    expect(load({ flags: { secretFile: file(SECRET), limiter: [API] } }).warnings).toEqual([]);
  });

  // [what goes wrong, the source, the field named]
  const cases: Array<[string, { flags?: ConfigFlags; env?: Record<string, string>; yaml?: string }, string]> = [
    ['a bad duration in the file', { yaml: 'limiters:\n  - { name: a, limit: 1, window: 1s }\n  - { name: b, limit: 1, window: soon }' }, 'limiters[1].window: must be a duration like 60s'],
    ['a missing limiter field', { yaml: 'limiters: [{ name: a, window: 1s }]' }, 'limiters[0].limit: is required'],
    ['an unknown limiter field', { yaml: 'limiters: [{ name: a, limit: 1, window: 1s, onOverflow: deny }]' }, 'limiters[0].onOverflow: is not a limiter field'],
    ['a bad limiter name', { flags: { limiter: ['name=no spaces,limit=1,window=1s'] } }, '--limiter[0].name: must be 1-64 characters'],
    ['a limit of zero', { flags: { limiter: [API, 'name=b,limit=0,window=1s'] } }, '--limiter[1].limit: must be an integer from 1'],
    ['more buckets than the window has ms', { flags: { limiter: ['name=a,limit=1,window=5ms,buckets=10'] } }, '--limiter[0].buckets: must be an integer from 1 to 5'],
    ['a bad overflow policy', { env: { TALLYMESH_LIMITERS: 'name=a,limit=1,window=1s,overflow=drop' } }, 'TALLYMESH_LIMITERS[0].overflow: must be one of allow, deny'],
    ['a limiter defined twice in one place', { flags: { limiter: [API, API] } }, '--limiter[1].name: limiter "api" is defined twice'],
    ['no limiter at all', {}, 'limiters: at least one limiter is required'],
    ['a port out of range', { flags: { port: '70000', limiter: [API] } }, '--port: must be an integer from 0 to 65535'],
    ['a port that is not a number', { env: { TALLYMESH_PORT: 'http' } }, 'TALLYMESH_PORT: must be an integer, got "http"'],
    ['a port of the wrong type in the file', { yaml: 'port: [1]' }, 'port: must be an integer, got a list'],
    ['a bad peer', { flags: { peers: 'a:1,nope', limiter: [API] } }, '--peers[1]: must be host:port'],
    ['a bad peer in the file', { yaml: 'peers: { a: 1 }' }, 'peers: must be a list or a comma-separated string'],
    ['a bad advertise address', { flags: { advertise: 'a:0', limiter: [API] } }, '--advertise: must be host:port'],
    ['a bad node id', { flags: { id: '-x', limiter: [API] } }, '--id: must be 1-64 characters'],
    ['a bad host', { flags: { host: 'a b', limiter: [API] } }, '--host: must be a host name or an IP address'],
    ['a bad log level', { flags: { logLevel: 'loud', limiter: [API] } }, '--log-level: must be one of fatal, error, warn, info, debug, trace, silent'],
    ['maxKeys of zero', { yaml: 'maxKeys: 0' }, 'maxKeys: must be an integer from 1 to 1000000000'],
    ['a negative denial rate', { flags: { eventsDeniedPerSec: '-1', limiter: [API] } }, '--events-denied-per-sec: must be an integer from 0'],
    ['a gossip interval of zero', { flags: { gossipInterval: '0', limiter: [API] } }, '--gossip-interval: must be from 1ms to 1m'],
    ['a bad suspect timeout', { env: { TALLYMESH_SUSPECT_AFTER: '5ms' } }, 'TALLYMESH_SUSPECT_AFTER: must be from 10ms to 1h'],
    ['a bad clock offset bound', { yaml: 'maxClockOffset: fast' }, 'maxClockOffset: must be a duration'],
    ['a bad join timeout', { env: { TALLYMESH_JOIN_TIMEOUT: 'soon' } }, 'TALLYMESH_JOIN_TIMEOUT: must be a duration'],
    ['a bad shutdown bound', { flags: { shutdownTimeout: '1d', limiter: [API] } }, '--shutdown-timeout: must be a duration'],
    ['a drain past its bound', { flags: { drainMs: '1h', limiter: [API] } }, '--drain-ms: must be from'],
    ['a missing secret file', { flags: { secretFile: 'nope', limiter: [API] } }, '--secret-file: cannot read'],
    ['a short secret', { env: { TALLYMESH_SECRET: 'short' } }, 'TALLYMESH_SECRET: the value in TALLYMESH_SECRET must be at least 16 characters, got 5'],
    ['two secret sources in the environment', { env: { TALLYMESH_SECRET: SECRET, TALLYMESH_SECRET_FILE: 'x' } }, 'TALLYMESH_SECRET: set either TALLYMESH_SECRET or TALLYMESH_SECRET_FILE'],
    ['an inline secret in the file', { yaml: `secret: ${SECRET}` }, 'secret: secrets are not read inline'],
    ['a missing token file', { env: { TALLYMESH_API_TOKEN_FILE: 'nope' } }, 'TALLYMESH_API_TOKEN_FILE: cannot read'],
    ['a certificate without a key', { flags: { tlsCert: 'cert.pem', limiter: [API] } }, '--tls-cert: needs its pair'],
    ['a CA without a certificate', { yaml: 'tls: { caFile: ca.pem }' }, 'tls.caFile: needs a certificate and key too'],
    ['an unknown TLS setting', { yaml: 'tls: { cert: a.pem }' }, 'tls.cert: is not a TLS setting'],
    ['an unreadable certificate', { env: { TALLYMESH_TLS_CERT_FILE: 'no-cert', TALLYMESH_TLS_KEY_FILE: 'no-key' } }, 'TALLYMESH_TLS_CERT_FILE: cannot read'],
    ['an unknown setting in the file', { yaml: 'prot: 7070' }, 'prot: is not a setting'],
    ['a file that is not a mapping', { yaml: '- a\n- b' }, 'must hold a mapping of settings, got a list'],
    ['a file that is not YAML', { yaml: 'port: [1, 2\nid: x' }, 'is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1'],
    ['a missing config file', { flags: { config: 'missing.yaml' } }, '--config: cannot read'],
  ];

  it.each(cases)('names the field for %s', (_what, input, expected) => {
    const err = configError(() => load(input));
    expect(err.message).toMatch(/^Invalid configuration: /);
    expect(err.message).toContain(expected);
    expect(err.code).toBe('TALLYMESH_ERR_CONFIG_INVALID');
  });
});

describe('rules the daemon config shares with the library', () => {
  const justShort = 'x'.repeat(MIN_SECRET_LENGTH - 1);
  const justLong = 'x'.repeat(MIN_SECRET_LENGTH);

  it('refuses a secret one character short of the minimum in the config and in createMesh alike', () => {
    expect(MIN_SECRET_LENGTH).toBe(16);
    expect(configError(() => load({ env: { TALLYMESH_SECRET: justShort }, flags: { limiter: [API] } })).message).toContain(
      `must be at least ${MIN_SECRET_LENGTH} characters, got ${MIN_SECRET_LENGTH - 1}`,
    );
    expect(() => resolveMeshOptions({ nodeId: 'a', secret: justShort })).toThrow(`Option "secret" must be at least ${MIN_SECRET_LENGTH} characters`);
    expect(load({ env: { TALLYMESH_SECRET: justLong }, flags: { limiter: [API] } }).config.secret).toBe(justLong);
    expect(resolveMeshOptions({ nodeId: 'a', secret: justLong }).secret).toBe(justLong);
  });

  it('reads and refuses the same peer addresses as createMesh', () => {
    const good = ['a:1', '10.0.0.6:7071', '[::1]:7070', '[fe80::1]:65535', 'node-1.example.com:7071'];
    const bad = ['a', 'a:0', 'a:65536', '::1:7070', '[::1]', 'a b:1', 'http://a:1'];
    expect(load({ env: { TALLYMESH_SECRET: SECRET }, flags: { peers: good.join(','), limiter: [API] } }).config.peers).toEqual(good);
    expect(resolveMeshOptions({ nodeId: 'a', peers: good, secret: SECRET }).peers).toEqual(good);
    for (const peer of bad) {
      expect(configError(() => load({ flags: { peers: peer, limiter: [API] } })).message).toContain('--peers[0]: must be host:port');
      expect(() => resolveMeshOptions({ nodeId: 'a', peers: [peer], secret: SECRET })).toThrow(expect.objectContaining({ message: expect.stringContaining('"peers"') }));
    }
  });

  it('refuses peers without a secret in the config and in createMesh alike: a node without one runs on a random secret', () => {
    expect(configError(() => load({ flags: { peers: 'a:1', limiter: [API] } })).message).toMatch(/^Invalid configuration: --peers: joining peers needs a cluster secret/);
    expect(configError(() => load({ yaml: 'peers: [a:1]\nlimiters: [{ name: api, limit: 1, window: 1s }]' })).message).toContain('peers: joining peers needs a cluster secret');
    expect(() => resolveMeshOptions({ nodeId: 'a', peers: ['a:1'] })).toThrow(expect.objectContaining({ code: 'TALLYMESH_ERR_OPTION_RANGE', message: expect.stringContaining('"secret"') }));
    // Alone, it starts: the daemon's "loopback-only without a secret" rule.
    expect(load({ flags: { limiter: [API] } }).config.secret).toBe('');
    expect(resolveMeshOptions({ nodeId: 'a' }).secret).not.toBe('');
  });

  it('reads the RESP port from resp.port, TALLYMESH_RESP_PORT and --resp-port, and leaves it off by default', () => {
    expect(load({ flags: { limiter: [API] } }).config.respPort).toBeUndefined();
    expect(load({ yaml: `resp:\n  port: 6380\nlimiters:\n  - {name: api, limit: 100, window: 60s}\n` }).config.respPort).toBe(6380);
    expect(load({ yaml: 'resp:\n  port: 6380\n', env: { TALLYMESH_RESP_PORT: '6381' }, flags: { limiter: [API] } }).config.respPort).toBe(6381);
    expect(load({ env: { TALLYMESH_RESP_PORT: '6381' }, flags: { limiter: [API], respPort: '0' } }).config.respPort).toBe(0);
    expect(configError(() => load({ flags: { limiter: [API], respPort: '70000' } })).message).toMatch(/--resp-port/);
    expect(configError(() => load({ yaml: 'resp:\n  host: x\n', flags: { limiter: [API] } })).message).toMatch(/resp\.host: is not a RESP setting/);
  });

  it('reads the admin listener from admin.port/admin.host, TALLYMESH_ADMIN_*, --admin-port/--admin-host, and leaves it off by default', () => {
    expect(load({ flags: { limiter: [API] } }).config.adminPort).toBeUndefined();
    const fromFile = load({ yaml: `admin:\n  port: 9090\n  host: 0.0.0.0\nlimiters:\n  - {name: api, limit: 100, window: 60s}\n` }).config;
    expect([fromFile.adminPort, fromFile.adminHost]).toEqual([9090, '0.0.0.0']);
    expect(load({ yaml: 'admin:\n  port: 9090\n', env: { TALLYMESH_ADMIN_PORT: '9091' }, flags: { limiter: [API] } }).config.adminPort).toBe(9091);
    expect(load({ env: { TALLYMESH_ADMIN_PORT: '9091' }, flags: { limiter: [API], adminPort: '0' } }).config.adminPort).toBe(0);
    // Without --admin-host the listener binds --host (the daemon's default): the config keeps it unset.
    expect(load({ flags: { limiter: [API], adminPort: '0' } }).config.adminHost).toBeUndefined();
    expect(configError(() => load({ flags: { limiter: [API], adminPort: '70000' } })).message).toMatch(/--admin-port: must be an integer from 0 to 65535/);
    expect(configError(() => load({ flags: { limiter: [API], adminHost: '127.0.0.1' } })).message).toMatch(/--admin-host: needs an admin port too/);
    expect(configError(() => load({ flags: { limiter: [API], adminPort: '1', adminHost: 'a b' } })).message).toMatch(/--admin-host: must be a host name/);
    expect(configError(() => load({ yaml: 'admin:\n  tls: x\n', flags: { limiter: [API] } })).message).toMatch(/admin\.tls: is not an admin listener setting/);
    expect(configError(() => load({ yaml: 'admin: 9090\n', flags: { limiter: [API] } })).message).toMatch(/admin: must be a mapping/);
  });

  it('warns when the admin listener serves a token-protected node on a non-loopback interface', () => {
    const token = 'an-api-token-of-some-length';
    expect(load({ env: { TALLYMESH_API_TOKEN: token }, flags: { limiter: [API], adminPort: '0' } }).warnings).toEqual([]);
    const warned = load({ env: { TALLYMESH_API_TOKEN: token }, flags: { limiter: [API], adminPort: '0', adminHost: '0.0.0.0' } }).warnings;
    expect(warned).toEqual([expect.stringMatching(/admin listener on 0\.0\.0\.0 serves \/metrics.*without the API token/)]);
  });

  it('takes its log levels from the one list the config type is made of', () => {
    for (const logLevel of LOG_LEVELS) expect(load({ flags: { logLevel, limiter: [API] } }).config.logLevel).toBe(logLevel);
  });
});
