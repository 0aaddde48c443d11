import { describe, expect, it } from 'vitest';
import { parseJson } from '../../../src/daemon/http-body.js';

describe('parseJson', () => {
  it('parses UTF-8 JSON and ignores a leading byte order mark', () => {
    expect(parseJson(Buffer.from('{"key":"é"}'))).toEqual({ key: 'é' });
    expect(parseJson(Buffer.from('\uFEFF[1]'))).toEqual([1]);
  });

  it.each([
    ['an empty body', Buffer.alloc(0)],
    ['invalid UTF-8', Buffer.from([0x22, 0xc3, 0x28, 0x22])],
    ['invalid JSON', Buffer.from('{"a":')],
  ])('refuses %s with TALLYMESH_ERR_HTTP_BAD_JSON', (_name, body) => {
    expect(() => parseJson(body)).toThrow(expect.objectContaining({ code: 'TALLYMESH_ERR_HTTP_BAD_JSON', statusCode: 400 }));
  });
});
