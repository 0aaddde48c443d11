/** createClient's options: checked eagerly, every error naming the option. */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../../src/client/index.js';
import { resolveClientOptions } from '../../../src/client/options.js';

describe('client options', () => {
  it('turns each URL into its stream URL and its HTTP base', () => {
    const o = resolveClientOptions({ urls: ['http://127.0.0.1:7070', 'https://a.example:443/', 'ws://[::1]:7071/v1/stream', 'wss://b.example:9000'] });
    expect(o.streamUrls).toEqual(['ws://127.0.0.1:7070/v1/stream', 'wss://a.example/v1/stream', 'ws://[::1]:7071/v1/stream', 'wss://b.example:9000/v1/stream']);
    expect(o.httpUrls).toEqual(['http://127.0.0.1:7070', 'https://a.example', 'http://[::1]:7071', 'https://b.example:9000']);
    expect(o).toMatchObject({ timeoutMs: 1000, failMode: 'error', strategy: 'first-healthy', connectTimeoutMs: 1000, maxBatch: 1000, backoff: { initialMs: 50, maxMs: 5000 } });
  });

  it.each([
    [{ urls: [] }, 'TALLYMESH_ERR_OPTION_RANGE', /"urls"/],
    [{ urls: 7 }, 'TALLYMESH_ERR_OPTION_TYPE', /"urls"/],
    [{ urls: ['ftp://x:1'] }, 'TALLYMESH_ERR_OPTION_RANGE', /"urls\[0\]"/],
    [{ urls: ['http://x:1/other'] }, 'TALLYMESH_ERR_OPTION_RANGE', /"urls\[0\]"/],
    [{ urls: 'http://x:1', timeoutMs: 0 }, 'TALLYMESH_ERR_OPTION_RANGE', /"timeoutMs"/],
    [{ urls: 'http://x:1', failMode: 'maybe' }, 'TALLYMESH_ERR_OPTION_RANGE', /"failMode"/],
    [{ urls: 'http://x:1', strategy: 'random' }, 'TALLYMESH_ERR_OPTION_RANGE', /"strategy"/],
    [{ urls: 'http://x:1', maxBatch: 1001 }, 'TALLYMESH_ERR_OPTION_RANGE', /"maxBatch"/],
    [{ urls: 'http://x:1', backoff: { initialMs: 100, maxMs: 10 } }, 'TALLYMESH_ERR_OPTION_RANGE', /"backoff.maxMs"/],
    [{ urls: 'http://x:1', token: '' }, 'TALLYMESH_ERR_OPTION_TYPE', /"token"/],
  ])('refuses %j', (options, code, message) => {
    expect(() => createClient(options as never)).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });

  it('never shows the token in an error', () => {
    expect(() => createClient({ urls: 'http://x:1', token: 'secret\nline' })).toThrow(/got string$/);
  });
});
