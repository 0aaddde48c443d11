/**
 * envoyproxy/ratelimit's matching rule, on the examples of its README and
 * against an independent oracle that walks the raw YAML lists (no maps) on
 * random trees and requests.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseRlsDocuments } from '../../../src/rls/rls-config.js';
import { matchDescriptor, type RlsEntry } from '../../../src/rls/rls-match.js';
import { fcParams } from '../../helpers/fc.js';
import { EDGE_EXAMPLE, MESSAGING_EXAMPLE } from './readme-examples.js';

const domain = (yaml: string) => parseRlsDocuments(yaml, 'test.yaml')[0].descriptors;
const entries = (...pairs: Array<[string, string]>): RlsEntry[] => pairs.map(([key, value]) => ({ key, value }));

describe('matchDescriptor', () => {
  const messaging = domain(MESSAGING_EXAMPLE);

  it('matches a nested descriptor whatever the value of a key without one', () => {
    expect(matchDescriptor(messaging, entries(['message_type', 'marketing'], ['to_number', '2061111111']))?.rateLimit?.requestsPerUnit).toBe(5);
    expect(matchDescriptor(messaging, entries(['to_number', '2061111111']))?.rateLimit?.requestsPerUnit).toBe(100);
  });

  it('matches nothing when the request has fewer or more entries than the level of the limit', () => {
    // The placeholder level has no limit of its own.
    expect(matchDescriptor(messaging, entries(['message_type', 'marketing']))).toBeUndefined();
    expect(matchDescriptor(messaging, entries(['to_number', '1'], ['extra', 'x']))).toBeUndefined();
    expect(matchDescriptor(messaging, entries(['message_type', 'transactional'], ['to_number', '1']))).toBeUndefined();
  });

  it('prefers the value-specific descriptor to the key’s default', () => {
    const edge = domain(EDGE_EXAMPLE);
    expect(matchDescriptor(edge, entries(['remote_address', '50.0.0.1']))?.rateLimit?.requestsPerUnit).toBe(10);
    expect(matchDescriptor(edge, entries(['remote_address', '50.0.0.5']))?.rateLimit?.requestsPerUnit).toBe(0);
  });

  it('lets a value through when its own descriptor has no limit, even though the key’s default has one', () => {
    const tree = domain(`
domain: d
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 10}
  - key: user
    value: admin
`);
    expect(matchDescriptor(tree, entries(['user', 'admin']))).toBeUndefined();
    expect(matchDescriptor(tree, entries(['user', 'bob']))?.rateLimit?.requestsPerUnit).toBe(10);
  });

  it('returns unlimited and shadow-mode descriptors as they are', () => {
    const tree = domain(`
domain: d
descriptors:
  - key: ldap
    rate_limit: {unlimited: true}
  - key: service
    descriptors:
      - key: user
        value: user-a
        shadow_mode: true
        rate_limit: {unit: second, requests_per_unit: 10}
`);
    expect(matchDescriptor(tree, entries(['ldap', 'x']))?.unlimited).toBe(true);
    expect(matchDescriptor(tree, entries(['service', 'auth'], ['user', 'user-a']))?.shadowMode).toBe(true);
    expect(matchDescriptor(tree, entries(['service', 'auth'], ['user', 'user-b']))).toBeUndefined();
  });

  /** A raw YAML descriptor, as the oracle reads it. */
  interface RawDescriptor {
    key: string;
    value?: string;
    rate_limit?: { unit: string; requests_per_unit: number };
    descriptors?: RawDescriptor[];
  }

  /** The README's rule, on the raw lists: at each level the descriptor with key and value, else the one with the key alone. */
  function oracle(level: RawDescriptor[] | undefined, request: RlsEntry[]): RawDescriptor | undefined {
    let list = level;
    for (let i = 0; i < request.length; i++) {
      const e = request[i];
      const next = list?.find((d) => d.key === e.key && d.value === e.value) ?? list?.find((d) => d.key === e.key && d.value === undefined);
      if (next === undefined) return undefined;
      if (i === request.length - 1) return next.rate_limit === undefined ? undefined : next;
      list = next.descriptors;
    }
    return undefined;
  }

  /** Unique (key, value) per level, as the loader requires; small alphabets so requests hit. */
  const tree = (depth: number): fc.Arbitrary<RawDescriptor[]> =>
    fc.uniqueArray(
      fc.record(
        {
          key: fc.constantFrom('a', 'b'),
          value: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
          rate_limit: fc.option(fc.record({ unit: fc.constant('minute'), requests_per_unit: fc.nat(1000) }), { nil: undefined }),
          descriptors: depth > 1 ? fc.option(tree(depth - 1), { nil: undefined }) : fc.constant(undefined),
        },
        { requiredKeys: ['key'] },
      ),
      { selector: (d) => `${d.key}\u0000${d.value ?? ''}\u0000${d.value === undefined}`, maxLength: 4 },
    );

  it('agrees with the README’s rule on random trees and requests', () => {
    const request = fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), value: fc.constantFrom('x', 'y', 'z') }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(tree(3), fc.array(request, { minLength: 1, maxLength: 10 }), (descriptors, requests) => {
        // Through YAML text, as an operator's file would arrive.
        const parsed = domain(stringify({ domain: 'p', descriptors }));
        for (const r of requests) {
          const want = oracle(descriptors, r);
          const got = matchDescriptor(parsed, r);
          expect(got?.rateLimit?.requestsPerUnit).toBe(want?.rate_limit?.requests_per_unit);
          expect(got?.key).toBe(want?.key);
          expect(got?.value).toBe(want?.value);
        }
      }),
      fcParams(300),
    );
  });
});
