/**
 * Hand-written HTTP for the hostile-client suite: oversized headers, and
 * pipelined requests followed by junk, and junk where a request line should
 * be — each one connection whose outcome (statuses, who closed it, when) is
 * checked against what the case allows.
 */
import type { Prng } from '../../../transport/sim/prng.js';
import { RawConn } from './raw-conn.js';
import { upgradeHead } from './slowloris.js';

/** One connection's worth of hostile bytes and what the server may answer. */
export interface RawCase {
  name: string;
  /** Written at once on connecting. */
  send: Buffer;
  /** Written once `afterResponses` answers arrived: junk after pipelined requests that were answered. */
  then?: { afterResponses: number; send: Buffer };
  /** Exactly this many 2xx answers, first (default: none required). */
  okFirst?: number;
  /** At most this many 2xx answers in all (0 for a request that must be refused). */
  maxOk: number;
  /** The server must have closed the connection within this. */
  closeWithinMs: number;
  /** The first answer must be 101 (the upgrade was admitted before the junk was refused). */
  upgraded?: boolean;
}

/** What happened on one case's connection. */
export interface RawOutcome {
  name: string;
  statuses: number[];
  /** The server closed the connection in time. */
  closed: boolean;
  heldMs: number | null;
  /** What the case allowed and did not get (empty when it passed). */
  problems: string[];
}

const KB = 1024;

/** A request with a body (keep-alive). */
function consume(host: string, key: string): string {
  const body = JSON.stringify({ limiter: 'api', key });
  return `POST /v1/consume HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Bytes from the PRNG. */
function junk(rng: Prng, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = rng.int(256);
  return bytes;
}

/**
 * A WebSocket frame the receiver must refuse on its first byte: FIN with all
 * three reserved bits set (RFC 6455 §5.2: no extension was negotiated), then junk.
 */
function badFrame(rng: Prng): Buffer {
  return Buffer.concat([Buffer.from([0xff]), junk(rng, 512)]);
}

/**
 * Oversized headers: a 100 KB header line on every path, thousands of
 * headers, a 100 KB request target. Past node's 16 KiB header bound each is
 * answered 431 (or closed); a request with 3,000 tiny headers that stays
 * under the bound is answered as usual (node keeps the first 2,000).
 */
export function oversizedCases(host: string): RawCase[] {
  const big = `X-Big: ${'a'.repeat(100 * KB)}\r\n`;
  const refused = (name: string, text: string): RawCase => ({ name, send: Buffer.from(text, 'latin1'), maxOk: 0, closeWithinMs: 5_000 });
  const manyHeaders = Array.from({ length: 5_000 }, (_, i) => `X-H-${i}: v\r\n`).join('');
  return [
    refused('100 KB header on /healthz', `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n${big}\r\n`),
    refused('100 KB header on POST /v1/consume', `POST /v1/consume HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n${big}\r\n{}`),
    refused('100 KB header on /v1/events', `GET /v1/events HTTP/1.1\r\nHost: ${host}\r\n${big}\r\n`),
    refused('100 KB header on the /v1/stream upgrade', `${upgradeHead(host, '/v1/stream')}${big}\r\n`),
    refused('100 KB header on the /v1/mesh upgrade', `${upgradeHead(host, '/v1/mesh')}${big}\r\n`),
    refused('5,000 headers on POST /v1/consume', `POST /v1/consume HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\n${manyHeaders}\r\n`),
    refused('5,000 headers on the /v1/mesh upgrade', `${upgradeHead(host, '/v1/mesh')}${manyHeaders}\r\n`),
    refused('100 KB request target', `GET /${'a'.repeat(100 * KB)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`),
    {
      name: '3,000 tiny headers under the size bound',
      send: Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${'a:b\r\n'.repeat(3_000)}\r\n`, 'latin1'),
      okFirst: 1,
      maxOk: 1,
      closeWithinMs: 5_000,
    },
  ];
}

/**
 * Pipelined valid requests followed by junk on the same connection, junk
 * before any request line, and junk right after a WebSocket upgrade. The
 * server may answer the valid requests (200, never 5xx), must answer the
 * junk with at most a 4xx, and must close the connection. A connection that
 * sends only CRLFs (which HTTP lets a server skip before a request line) is
 * held no longer than the headers timeout.
 */
export function garbageCases(host: string, rng: Prng, headersBoundMs: number): RawCase[] {
  const pipelined = [consume(host, 'pipe:1'), consume(host, 'pipe:2'), consume(host, 'pipe:3')].join('');
  const probes = `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`.repeat(3);
  const cases: RawCase[] = [
    { name: 'three pipelined consumes and junk in one write', send: Buffer.concat([Buffer.from(pipelined), junk(rng, 4 * KB)]), maxOk: 3, closeWithinMs: 5_000 },
    {
      name: 'six pipelined requests answered, then junk',
      send: Buffer.from(probes + pipelined),
      then: { afterResponses: 6, send: junk(rng, 4 * KB) },
      okFirst: 6,
      maxOk: 6,
      closeWithinMs: 5_000,
    },
    { name: 'TLS ClientHello on the plain port', send: Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), junk(rng, 505)]), maxOk: 0, closeWithinMs: 5_000 },
    { name: '4 KB of NUL bytes', send: Buffer.alloc(4 * KB), maxOk: 0, closeWithinMs: 5_000 },
    { name: 'a 20 KB request line without spaces', send: Buffer.from(`${'A'.repeat(20 * KB)}\r\n\r\n`), maxOk: 0, closeWithinMs: 5_000 },
    { name: '8,000 CRLFs and then silence', send: Buffer.from('\r\n'.repeat(8_000)), maxOk: 0, closeWithinMs: headersBoundMs },
    { name: 'upgrade to /v1/stream with junk frames in the same write', send: Buffer.concat([Buffer.from(`${upgradeHead(host, '/v1/stream')}\r\n`), badFrame(rng)]), maxOk: 0, upgraded: true, closeWithinMs: 5_000 },
  ];
  for (const size of [1, 64, 1 * KB, 64 * KB]) {
    cases.push({ name: `${size} random bytes before any request line`, send: junk(rng, size), maxOk: 0, closeWithinMs: headersBoundMs });
  }
  return cases;
}

/**
 * An upgrade to /v1/mesh with a junk frame in the same write: upgraded (101),
 * then closed on the frame. Run it while the pending-handshake cap has room
 * (at the cap the upgrade is refused with 503 before the junk is read).
 */
export function meshGarbageCase(host: string, rng: Prng): RawCase {
  return { name: 'upgrade to /v1/mesh with junk frames in the same write', send: Buffer.concat([Buffer.from(`${upgradeHead(host, '/v1/mesh')}\r\n`), badFrame(rng)]), maxOk: 0, upgraded: true, closeWithinMs: 5_000 };
}

/** Runs one case on its own connection to 127.0.0.1:`port`. */
export async function runRawCase(port: number, c: RawCase): Promise<RawOutcome> {
  const conn = await RawConn.connect(port);
  conn.write(c.send);
  if (c.then !== undefined && (await conn.waitStatuses(c.then.afterResponses, c.closeWithinMs))) conn.write(c.then.send);
  const closed = await conn.waitClosed(c.closeWithinMs);
  conn.destroy();
  const statuses = conn.statuses();
  const ok = statuses.filter((s) => s >= 200 && s < 300).length;
  const problems: string[] = [];
  if (statuses.some((s) => s >= 500)) problems.push(`a 5xx answer: ${statuses.join(',')}`);
  if (ok > c.maxOk) problems.push(`${ok} 2xx answers (at most ${c.maxOk})`);
  if (c.okFirst !== undefined && !statuses.slice(0, c.okFirst).every((s) => s === 200)) problems.push(`the first ${c.okFirst} answers are not all 200: ${statuses.join(',')}`);
  if (c.okFirst !== undefined && statuses.length < c.okFirst) problems.push(`${statuses.length} answers (expected ${c.okFirst} first)`);
  if (c.upgraded === true && statuses[0] !== 101) problems.push(`not upgraded: ${statuses.join(',') || 'no answer'}`);
  if (!closed) problems.push(`still open after ${c.closeWithinMs} ms`);
  return { name: c.name, statuses, closed, heldMs: conn.heldMs === null ? null : Math.round(conn.heldMs), problems };
}
