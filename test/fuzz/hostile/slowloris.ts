/**
 * Slowloris clients: connections that start a request and then feed it one
 * byte at a time, so it never completes, for as long as the server lets
 * them. One timer drives every connection of a group, so hundreds of them
 * cost the test almost nothing.
 */
import { randomBytes } from 'node:crypto';
import { RawConn } from './raw-conn.js';

/** What a group of slow clients sends. */
export interface SlowRequest {
  /** Sent at once on connecting ('' for none). */
  head: string;
  /** Then sent one byte per tick… */
  trickle: string;
  /** …and then this, one byte per tick, over and over ('' to fall silent). */
  filler: string;
}

/** A group of slow clients of one kind. */
export interface SlowGroup {
  readonly name: string;
  readonly conns: RawConn[];
  /** Stops writing and closes what the server left open. */
  stop(): void;
}

/** The request head of a WebSocket upgrade to `path`, without the blank line that would end it. */
export function upgradeHead(host: string, path: string): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    '',
  ].join('\r\n');
}

/** The slow requests of the suite, one per path of the daemon's port. */
export function slowRequests(host: string): Record<string, SlowRequest> {
  return {
    // Connects and never sends a byte.
    idle: { head: '', trickle: '', filler: '' },
    // An API request whose headers arrive one byte at a time and never end.
    headers: { head: '', trickle: `GET /v1/cluster HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `, filler: 'a' },
    // Complete headers, then a JSON body one byte at a time, never reaching its Content-Length.
    body: {
      head: `POST /v1/consume HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`,
      trickle: '{"limiter":"api","key":"',
      filler: 'k',
    },
    // WebSocket upgrades whose request never ends, on both WebSocket paths.
    'upgrade-stream': { head: '', trickle: `${upgradeHead(host, '/v1/stream')}X-Slow: `, filler: 'a' },
    'upgrade-mesh': { head: '', trickle: `${upgradeHead(host, '/v1/mesh')}X-Slow: `, filler: 'a' },
  };
}

/** Opens `count` connections to 127.0.0.1:`port` sending `request` slowly, one byte per socket every `tickMs`. */
export async function startSlowGroup(name: string, port: number, request: SlowRequest, count: number, tickMs: number): Promise<SlowGroup> {
  const conns = await Promise.all(Array.from({ length: count }, () => RawConn.connect(port)));
  const sent = new Array<number>(count).fill(0);
  for (const conn of conns) if (request.head !== '') conn.write(request.head);
  const timer = setInterval(() => {
    conns.forEach((conn, i) => {
      if (!conn.open) return;
      const at = sent[i]++;
      if (at < request.trickle.length) conn.write(request.trickle[at]);
      else if (request.filler !== '') conn.write(request.filler[(at - request.trickle.length) % request.filler.length]);
    });
  }, tickMs);
  return {
    name,
    conns,
    stop: () => {
      clearInterval(timer);
      for (const conn of conns) conn.destroy();
    },
  };
}
