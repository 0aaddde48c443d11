import { describe, expect, it } from 'vitest';
import { pathOf } from '../../../../src/daemon/http/http-api.js';

describe('pathOf', () => {
  it('is the request target without its query', () => {
    expect(pathOf('/v1/limiters/api/keys/k?cells=1')).toBe('/v1/limiters/api/keys/k');
    expect(pathOf('/healthz')).toBe('/healthz');
    expect(pathOf('/v1/stream?')).toBe('/v1/stream');
  });

  it('is the root when the request has no target', () => {
    expect(pathOf(undefined)).toBe('/');
  });
});
