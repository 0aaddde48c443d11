import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { checkMediaType, parseJson } from '../../../../src/daemon/http/http-body.js';

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

describe('checkMediaType', () => {
  const req = (headers: Record<string, string>): http.IncomingMessage => ({ headers }) as unknown as http.IncomingMessage;

  it.each(['application/json', 'Application/JSON; charset=utf-8', 'application/merge-patch+json', 'application/vnd.api+json'])(
    'accepts %s, from anyone',
    (type) => {
      expect(() => checkMediaType(req({ 'content-type': type, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }))).not.toThrow();
    },
  );

  it('accepts form-urlencoded (curl -d) only without Origin and Sec-Fetch-Site', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect(() => checkMediaType(req({ ...form, 'user-agent': 'curl/8.5.0' }))).not.toThrow();
    // Node's fetch sends Sec-Fetch-Mode: it is not a browser marker.
    expect(() => checkMediaType(req({ ...form, 'sec-fetch-mode': 'cors' }))).not.toThrow();
    for (const marker of [{ origin: 'http://127.0.0.1:7070' }, { 'sec-fetch-site': 'same-origin' }] as Array<Record<string, string>>) {
      expect(() => checkMediaType(req({ ...form, ...marker }))).toThrow(
        expect.objectContaining({ code: 'TALLYMESH_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', statusCode: 415 }),
      );
    }
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['text/plain with a JSON-looking charset', { 'content-type': 'text/plain; charset=application/json' }],
    ['multipart/form-data', { 'content-type': 'multipart/form-data; boundary=x' }],
    ['a json-ish type that is not JSON', { 'content-type': 'application/jsonp' }],
    ['no type at all', {}],
  ])('refuses %s with 415, naming the type and what to send', (_name, headers) => {
    let thrown: unknown;
    try {
      checkMediaType(req(headers));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'TALLYMESH_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', statusCode: 415 });
    expect((thrown as Error).message).toContain('application/json');
  });
});
