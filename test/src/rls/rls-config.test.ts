/**
 * The envoyproxy/ratelimit configuration format: what it accepts (several
 * domains as YAML documents, a directory of files, nested descriptors,
 * unlimited, shadow_mode) and what it refuses, each refusal naming the file,
 * the document and the path inside it.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRlsDocuments, readRlsConfig } from '../../../src/rls/rls-config.js';
import { EDGE_EXAMPLE } from './readme-examples.js';

const dir = mkdtempSync(join(tmpdir(), 'tallymesh-rls-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The error `fn` throws, checked to be the registry's config error. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as { code: string }).code).toBe('TALLYMESH_ERR_CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error('expected a config error');
}

const TWO_DOMAINS = `${EDGE_EXAMPLE}---
domain: messaging
descriptors:
  - key: message_type
    value: marketing
    descriptors:
      - key: to_number
        rate_limit: {unit: DAY, requests_per_unit: 5, name: marketing}
        shadow_mode: true
  - key: internal
    rate_limit: {unlimited: true}
`;

describe('parseRlsDocuments', () => {
  it('reads one domain per YAML document, with nested descriptors, unlimited and shadow mode', () => {
    const [edge, messaging] = parseRlsDocuments(TWO_DOMAINS, 'rl.yaml');
    expect(edge.domain).toBe('edge');
    expect(edge.origin).toBe('rl.yaml (document 1)');
    const remote = edge.descriptors.get('remote_address');
    expect(remote?.any?.rateLimit).toEqual({ unit: 'second', requestsPerUnit: 10, name: '' });
    expect(remote?.byValue.get('50.0.0.5')?.rateLimit?.requestsPerUnit).toBe(0);
    const toNumber = messaging.descriptors.get('message_type')?.byValue.get('marketing')?.children.get('to_number')?.any;
    // Units are matched case-insensitively, as the Go loader upper-cases them into the proto enum.
    expect(toNumber?.rateLimit).toEqual({ unit: 'day', requestsPerUnit: 5, name: 'marketing' });
    expect(toNumber?.shadowMode).toBe(true);
    expect(messaging.descriptors.get('internal')?.any).toMatchObject({ unlimited: true, shadowMode: false });
    expect(messaging.descriptors.get('internal')?.any?.rateLimit).toBeUndefined();
  });

  it('names the file, the document and the path of a bad unit', () => {
    const bad = TWO_DOMAINS.replace('unit: DAY', 'unit: week');
    expect(configError(() => parseRlsDocuments(bad, 'rl.yaml'))).toBe(
      'Invalid configuration: rl.yaml (document 2): descriptors[0].descriptors[0].rate_limit.unit: must be one of second, minute, hour, day, got "week"',
    );
  });

  it('refuses a key and value defined twice at one level, naming both places', () => {
    const dup = 'domain: d\ndescriptors:\n  - key: a\n    value: x\n  - key: b\n  - key: a\n    value: x\n';
    expect(configError(() => parseRlsDocuments(dup, 'd.yaml'))).toBe(
      'Invalid configuration: d.yaml: descriptors[2]: duplicates descriptors[0]: key "a" with value "x" is defined twice at this level',
    );
    const dupDefault = 'domain: d\ndescriptors:\n  - key: a\n    descriptors:\n      - key: b\n      - key: b\n';
    expect(configError(() => parseRlsDocuments(dupDefault, 'd.yaml'))).toMatch(/d\.yaml: descriptors\[0\]\.descriptors\[1\]: duplicates descriptors\[0\]\.descriptors\[0\]: key "b" without a value/);
  });

  it('keeps the same key with a value and without one apart (the value-specific entry and the default)', () => {
    const [d] = parseRlsDocuments('domain: d\ndescriptors:\n  - key: a\n  - key: a\n    value: x\n', 'd.yaml');
    expect(d.descriptors.get('a')?.any).toBeDefined();
    expect(d.descriptors.get('a')?.byValue.get('x')).toBeDefined();
  });

  it('refuses invalid YAML with the parser’s position', () => {
    expect(configError(() => parseRlsDocuments('domain: d\ndescriptors: [\n', 'broken.yaml'))).toMatch(/^Invalid configuration: broken\.yaml: is not valid YAML: .*line \d+, column \d+/);
  });

  it('refuses unknown fields, replaces and wildcard values rather than ignore them', () => {
    expect(configError(() => parseRlsDocuments('domain: d\ndescriptors:\n  - key: a\n    ratelimit: {}\n', 'f.yaml'))).toMatch(/f\.yaml: descriptors\[0\]\.ratelimit: is not a descriptor field/);
    expect(configError(() => parseRlsDocuments('domain: d\ndescriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: 1, replaces: [{name: x}]}\n', 'f.yaml'))).toMatch(
      /descriptors\[0\]\.rate_limit\.replaces: is not supported/,
    );
    expect(configError(() => parseRlsDocuments('domain: d\ndescriptors:\n  - key: a\n    value: foo*\n', 'f.yaml'))).toMatch(/descriptors\[0\]\.value: wildcard values/);
    expect(configError(() => parseRlsDocuments('domian: d\n', 'f.yaml'))).toBe('Invalid configuration: f.yaml: domian: is not a domain field (known: domain, descriptors)');
  });

  it('refuses a missing domain or key, a bad requests_per_unit, and an unlimited limit with a unit', () => {
    expect(configError(() => parseRlsDocuments('descriptors: []\n', 'f.yaml'))).toMatch(/f\.yaml: domain: must be a non-empty string/);
    expect(configError(() => parseRlsDocuments('domain: d\ndescriptors:\n  - value: x\n', 'f.yaml'))).toMatch(/descriptors\[0\]\.key: must be a non-empty string/);
    expect(configError(() => parseRlsDocuments('domain: d\ndescriptors:\n  - key: a\n    rate_limit: {unit: second, requests_per_unit: -1}\n', 'f.yaml'))).toMatch(
      /rate_limit\.requests_per_unit: must be an integer from 0 to 4294967295, got -1/,
    );
    expect(configError(() => parseRlsDocuments('domain: d\ndescriptors:\n  - key: a\n    rate_limit: {unit: second}\n', 'f.yaml'))).toMatch(/requests_per_unit: must be an integer/);
    expect(configError(() => parseRlsDocuments('domain: d\ndescriptors:\n  - key: a\n    rate_limit: {unlimited: true, unit: second}\n', 'f.yaml'))).toMatch(
      /rate_limit\.unit: must not be set on an unlimited rate_limit/,
    );
  });

  it('refuses a tree nested deeper than 16 levels', () => {
    let yaml = 'domain: d\ndescriptors:\n';
    for (let i = 0; i < 18; i++) yaml += `${'  '.repeat(2 * i)}  - key: k${i}\n${'  '.repeat(2 * i)}    descriptors:\n`;
    expect(configError(() => parseRlsDocuments(yaml, 'deep.yaml'))).toMatch(/nests deeper than 16 levels/);
  });
});

describe('readRlsConfig', () => {
  it('reads every .yaml and .yml file of a directory in name order, and nothing else', () => {
    const d = join(dir, 'runtime');
    mkdirSync(d);
    writeFileSync(join(d, 'b.yml'), 'domain: second\n');
    writeFileSync(join(d, 'a.yaml'), 'domain: first\n');
    writeFileSync(join(d, 'notes.txt'), 'domain: ignored\n');
    const config = readRlsConfig(d, '--rls-config');
    expect(config.domains.map((x) => x.domain)).toEqual(['first', 'second']);
    expect(config.files).toEqual([join(d, 'a.yaml'), join(d, 'b.yml')]);
  });

  it('refuses a domain defined twice, naming both places', () => {
    const d = join(dir, 'twice');
    mkdirSync(d);
    writeFileSync(join(d, 'a.yaml'), 'domain: edge\n');
    writeFileSync(join(d, 'b.yaml'), 'domain: other\n---\ndomain: edge\n');
    expect(configError(() => readRlsConfig(d, '--rls-config'))).toBe(`Invalid configuration: ${join(d, 'b.yaml')} (document 2): domain: "edge" is already defined in ${join(d, 'a.yaml')}`);
  });

  it('names the setting when the path cannot be read or holds no YAML', () => {
    expect(configError(() => readRlsConfig(join(dir, 'missing.yaml'), 'rls.config'))).toBe(`Invalid configuration: rls.config: cannot read ${join(dir, 'missing.yaml')}: ENOENT`);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(configError(() => readRlsConfig(empty, '--rls-config'))).toMatch(/--rls-config: .*holds no \.yaml or \.yml file/);
  });
});
