import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/daemon/config/load-config.js';
import {
  CGROUP_FILE_ENV,
  cgroupMemoryMax,
  HEAP_SHARE,
  KEY_INDEX_CAP,
  KEY_SHARE,
  keysForMemory,
  MIN_KEYS,
  parseByteSize,
  RESERVE_BYTES,
  RSS_BYTES_PER_KEY,
} from '../../../src/daemon/memory-budget.js';
import { isTallymeshError } from '../../../src/errors.js';

const MiB = 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), 'tallymesh-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function cgroupFile(text: string): string {
  const path = join(dir, `memory.max.${++n}`);
  writeFileSync(path, text);
  return path;
}

interface Row {
  name: string;
  rssBytesPerKey?: number;
  totalRssMb?: number;
}
const measured = (JSON.parse(readFileSync(new URL('../../../bench/results/memory.json', import.meta.url), 'utf8')) as { results: Row[] }).results;

describe('the measured figures the budget uses', () => {
  it('covers the costliest bytes per key measured by the memory benchmark', () => {
    const perKey = measured.flatMap((r) => (r.rssBytesPerKey === undefined ? [] : [r.rssBytesPerKey]));
    expect(perKey.length).toBeGreaterThanOrEqual(4);
    expect(RSS_BYTES_PER_KEY).toBeGreaterThanOrEqual(Math.max(...perKey));
    // Headroom, not a blind guess: within twice the measurement.
    expect(RSS_BYTES_PER_KEY).toBeLessThanOrEqual(2 * Math.max(...perKey));
  });

  it('reserves at least what the launcher and an idle daemon were measured to hold', () => {
    const processes = measured.find((r) => r.name === 'processes');
    expect(processes?.totalRssMb).toBeGreaterThan(0);
    expect(RESERVE_BYTES).toBeGreaterThanOrEqual((processes?.totalRssMb ?? Infinity) * MiB);
  });
});

describe('keysForMemory', () => {
  it('gives keys half the memory past the reserve at the measured cost, and the heap three quarters', () => {
    const r = keysForMemory(512 * MiB);
    expect(r).toEqual({ maxKeys: Math.floor(((512 * MiB - RESERVE_BYTES) * KEY_SHARE) / RSS_BYTES_PER_KEY), heapLimitMiB: Math.floor(((512 * MiB - RESERVE_BYTES) * HEAP_SHARE) / MiB) });
    // Keys at the bound fit in the memory with the reserve.
    if ('maxKeys' in r) expect(r.maxKeys * RSS_BYTES_PER_KEY + RESERVE_BYTES).toBeLessThan(512 * MiB);
  });

  it('grows with the limit and stops at what a Map can index (2^24 keys)', () => {
    let last = 0;
    for (const gib of [0.25, 0.5, 1, 2, 4, 8, 16, 64, 1024]) {
      const r = keysForMemory(gib * 1024 * MiB);
      if (!('maxKeys' in r)) throw new Error(`${gib} GiB: too small`);
      expect(r.maxKeys).toBeGreaterThanOrEqual(last);
      expect(r.maxKeys).toBeLessThanOrEqual(KEY_INDEX_CAP);
      last = r.maxKeys;
    }
    expect(last).toBe(KEY_INDEX_CAP);
  });

  it('says how much memory it takes when the limit leaves no room for a thousand keys', () => {
    const r = keysForMemory(RESERVE_BYTES);
    expect(r).toEqual({ tooSmall: true, minimumBytes: RESERVE_BYTES + Math.ceil((MIN_KEYS * RSS_BYTES_PER_KEY) / KEY_SHARE) });
    if ('minimumBytes' in r) expect(keysForMemory(r.minimumBytes)).toMatchObject({ maxKeys: MIN_KEYS });
  });
});

describe('parseByteSize', () => {
  it.each([
    [536870912, 536870912],
    ['536870912', 536870912],
    ['512MiB', 512 * MiB],
    ['512Mi', 512 * MiB],
    ['1.5GiB', 1.5 * 1024 * MiB],
    ['2G', 2e9],
    ['2 GB', 2e9],
    ['64k', 64_000],
    ['1_000_000', 1_000_000],
  ])('reads %j as %d bytes', (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes);
  });

  it.each([['lots'], ['-1GiB'], ['1 parsec'], [''], [1.5], [null], [{}]])('refuses %j', (input) => {
    expect(parseByteSize(input)).toBeNull();
  });
});

describe('cgroupMemoryMax', () => {
  it('reads a byte count, treats "max" as no limit, and warns about anything else', () => {
    const warnings: string[] = [];
    const file = cgroupFile('1073741824\n');
    expect(cgroupMemoryMax({ [CGROUP_FILE_ENV]: file }, warnings)).toEqual({ bytes: 1073741824, file });
    expect(cgroupMemoryMax({ [CGROUP_FILE_ENV]: cgroupFile('max\n') }, warnings)).toBeNull();
    expect(cgroupMemoryMax({ [CGROUP_FILE_ENV]: join(dir, 'absent') }, warnings)).toBeNull();
    expect(warnings).toEqual([]);
    const odd = cgroupFile('12 apples');
    expect(cgroupMemoryMax({ [CGROUP_FILE_ENV]: odd }, warnings)).toBeNull();
    expect(warnings).toEqual([`${odd} holds "12 apples", not a byte count or "max": the cgroup memory limit is ignored`]);
  });

  it('reads the real cgroup of this process, agreeing with libuv where cgroup v2 sets a limit', () => {
    const warnings: string[] = [];
    const real = cgroupMemoryMax({}, warnings);
    expect(warnings).toEqual([]);
    const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
    console.info(`cgroup v2 ${v2 ? 'mounted' : 'not mounted'} at /sys/fs/cgroup; memory limit read: ${real === null ? 'none' : `${real.bytes} bytes from ${real.file}`}`);
    if (real !== null) {
      expect(Number.isSafeInteger(real.bytes) && real.bytes > 0).toBe(true);
      // libuv reads the same hierarchy (and cgroup v1 too): where v2 gives a limit, it is the one libuv reports.
      const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
      if (constrained !== undefined && constrained > 0) expect(real.bytes).toBe(constrained);
    } else if (!v2) {
      expect(existsSync('/sys/fs/cgroup/memory.max')).toBe(false);
    }
  });
});

describe('the key bound in the configuration', () => {
  const API = 'name=api,limit=100,window=60s';
  const load = (flags: Record<string, string>, env: Record<string, string> = {}) => loadConfig({ flags: { limiter: [API], ...flags }, env, cwd: dir });

  it('sizes maxKeys and the heap from --memory-limit, and the limiters get the same bound', () => {
    const { config } = load({ memoryLimit: '1GiB' });
    const expected = keysForMemory(1024 * MiB);
    expect(config.maxKeys).toBe('maxKeys' in expected ? expected.maxKeys : NaN);
    expect(config.limiters[0].maxKeys).toBe(config.maxKeys);
    expect(config.memory).toEqual({ maxKeysFrom: 'memory-limit', limitBytes: 1024 * MiB, limitFrom: 'setting', heapLimitMiB: 'maxKeys' in expected ? expected.heapLimitMiB : NaN, bytesPerKey: RSS_BYTES_PER_KEY });
  });

  it('falls back to the cgroup limit, which --memory-limit overrides', () => {
    const file = cgroupFile('805306368');
    const env = { [CGROUP_FILE_ENV]: file };
    expect(load({}, env).config.memory).toMatchObject({ maxKeysFrom: 'memory-limit', limitBytes: 805306368, limitFrom: 'cgroup', cgroupFile: file });
    expect(load({ memoryLimit: '2GiB' }, env).config.memory).toMatchObject({ limitBytes: 2048 * MiB, limitFrom: 'setting' });
  });

  it('keeps an explicit --max-keys, still sizing the heap from the limit', () => {
    const { config } = load({ maxKeys: '5000', memoryLimit: '1GiB' });
    expect(config.maxKeys).toBe(5000);
    expect(config.memory).toMatchObject({ maxKeysFrom: 'setting', limitBytes: 1024 * MiB });
    expect(config.memory?.heapLimitMiB).toBeGreaterThan(0);
  });

  it('keeps the default of 1,000,000 keys and V8\'s heap without any limit', () => {
    const { config } = load({}, { [CGROUP_FILE_ENV]: cgroupFile('max') });
    expect(config.maxKeys).toBe(1_000_000);
    expect(config.memory).toMatchObject({ maxKeysFrom: 'default', limitBytes: null, limitFrom: null, heapLimitMiB: null });
  });

  it('refuses a limit too small for a node, naming where it came from', () => {
    const err = (fn: () => unknown): Error => {
      try {
        fn();
      } catch (e) {
        expect(isTallymeshError(e, 'TALLYMESH_ERR_CONFIG_INVALID')).toBe(true);
        return e as Error;
      }
      throw new Error('no error');
    };
    expect(err(() => load({ memoryLimit: '100MiB' })).message).toMatch(/^Invalid configuration: --memory-limit: 100 MiB leaves no room for keys: a node needs 161\.5 MiB .*; give more memory, or set --max-keys$/);
    const file = cgroupFile('104857600');
    expect(err(() => load({}, { [CGROUP_FILE_ENV]: file })).message).toContain(`the cgroup memory limit (${file}): 100 MiB leaves no room for keys`);
    expect(err(() => load({ memoryLimit: 'plenty' })).message).toMatch(/--memory-limit: must be a byte size of at least 16MiB, like 512MiB/);
    expect(err(() => load({ memoryLimit: '1MiB' })).message).toMatch(/--memory-limit: must be a byte size of at least 16MiB/);
  });

  it('reads memoryLimit from YAML and TALLYMESH_MEMORY_LIMIT', () => {
    const yaml = join(dir, 'c.yaml');
    writeFileSync(yaml, `memoryLimit: 768Mi\nlimiters: [{ name: api, limit: 10, window: 60s }]\n`);
    expect(loadConfig({ flags: { config: yaml }, env: {}, cwd: dir }).config.memory?.limitBytes).toBe(768 * MiB);
    expect(loadConfig({ flags: { limiter: [API] }, env: { TALLYMESH_MEMORY_LIMIT: '640MiB' }, cwd: dir }).config.memory?.limitBytes).toBe(640 * MiB);
  });
});

describe('the sizing table in docs/operations.md', () => {
  it('says what keysForMemory picks for every limit it lists', () => {
    const doc = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| (\d+) (MiB|GiB) \| ([\d,]+|refused \(needs ([\d.]+) MiB\)) \| (\d+ MiB|—) \|$/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const [line, size, unit, keys, needs, heap] of rows) {
      const r = keysForMemory(Number(size) * (unit === 'GiB' ? 1024 : 1) * MiB);
      if ('tooSmall' in r) expect(needs, line).toBe((r.minimumBytes / MiB).toFixed(1));
      else expect([keys, heap], line).toEqual([r.maxKeys.toLocaleString('en-US'), `${r.heapLimitMiB} MiB`]);
    }
  });
});
