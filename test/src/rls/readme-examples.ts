/**
 * Two configurations from envoyproxy/ratelimit's README (examples 2 and 3),
 * shared by the RLS tests: a nested descriptor under a placeholder level
 * beside a key's default, and a key's default beside a value-specific entry
 * that blocks.
 */

/** Example 2: 5 marketing messages a day per number, 100 messages a day per number. */
export const MESSAGING_EXAMPLE = `
domain: messaging
descriptors:
  - key: message_type
    value: marketing
    descriptors:
      - key: to_number
        rate_limit: {unit: day, requests_per_unit: 5}
  - key: to_number
    rate_limit: {unit: day, requests_per_unit: 100}
`;

/** Example 3: 10 requests a second per address, none from 50.0.0.5. */
export const EDGE_EXAMPLE = `
domain: edge
descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 10}
  - key: remote_address
    value: 50.0.0.5
    rate_limit: {unit: second, requests_per_unit: 0}
`;
