import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { UI_SESSION_TTL_MS, UiSession } from '../../../../src/daemon/ui/ui-session.js';

/** The `name=value` part of a Set-Cookie value, as a browser sends it back. */
const sent = (setCookie: string): string => setCookie.split(';')[0]!;
const request = (method: string, cookie?: string): http.IncomingMessage => ({ method, headers: cookie === undefined ? {} : { cookie } }) as http.IncomingMessage;

describe('UiSession', () => {
  it('issues an HttpOnly, SameSite=Strict cookie named after the port, Secure only with TLS', () => {
    const plain = new UiSession({ port: 7070, secure: false }).issue();
    expect(plain).toMatch(/^tallymesh_ui_7070=\d+\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    expect(new UiSession({ port: 7443, secure: true }).issue()).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
  });

  it('accepts its own cookie among others, for GET /v1/cluster and GET /v1/events only', () => {
    const s = new UiSession({ port: 7070, secure: false });
    const cookie = `other=1; ${sent(s.issue())}; theme=dark`;
    expect(s.allows(request('GET', cookie), '/v1/cluster')).toBe(true);
    expect(s.allows(request('GET', cookie), '/v1/events')).toBe(true);
    for (const [method, path] of [['POST', '/v1/consume'], ['GET', '/v1/limiters/api/keys/k'], ['DELETE', '/v1/limiters/api/keys/k'], ['GET', '/metrics'], ['GET', '/v1/stream'], ['POST', '/v1/cluster']]) {
      expect(s.allows(request(method!, cookie), path!), `${method} ${path}`).toBe(false);
    }
    expect(s.allows(request('GET'), '/v1/cluster')).toBe(false);
  });

  it('refuses a cookie past its expiry, a forged or altered one, and one of another process', () => {
    let now = 1_000_000;
    const s = new UiSession({ port: 7070, secure: false, now: () => now });
    const cookie = sent(s.issue());
    expect(s.valid(cookie)).toBe(true);
    const [name, value] = cookie.split('=') as [string, string];
    const [expires, mac] = value.split('.') as [string, string];
    // A later expiry with the old MAC, a flipped MAC character, no MAC, junk.
    expect(s.valid(`${name}=${Number(expires) + 1}.${mac}`)).toBe(false);
    expect(s.valid(`${name}=${expires}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
    expect(s.valid(`${name}=${expires}.`)).toBe(false);
    expect(s.valid(`${name}=${'9'.repeat(200)}`)).toBe(false);
    // Another process (a restart) draws another key.
    expect(new UiSession({ port: 7070, secure: false, now: () => now }).valid(cookie)).toBe(false);
    // Another port's cookie is not this one's.
    expect(new UiSession({ port: 7071, secure: false, now: () => now }).valid(cookie.replace('7070', '7071'))).toBe(false);
    now += UI_SESSION_TTL_MS - 1;
    expect(s.valid(cookie)).toBe(true);
    now += 1;
    expect(s.valid(cookie)).toBe(false);
  });

  it('clears the cookie with an empty value and Max-Age=0', () => {
    expect(new UiSession({ port: 7070, secure: false }).clear()).toBe('tallymesh_ui_7070=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict');
  });
});
