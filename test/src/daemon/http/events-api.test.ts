import { EventEmitter } from 'node:events';
import type http from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EVENT_BUFFER_SIZE, EventHub, KEEP_ALIVE_MS, MAX_CLIENT_BYTES } from '../../../../src/daemon/http/events-api.js';
import { createLimiter } from '../../../../src/limiter/limiter.js';

/** Just enough of a ServerResponse: records what is written and lets a test fake a full socket buffer. */
class FakeResponse extends EventEmitter {
  chunks: string[] = [];
  status = 0;
  destroyed = false;
  writableEnded = false;
  writableLength = 0;
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(): void {
    this.writableEnded = true;
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  get text(): string {
    return this.chunks.join('');
  }
}

const request = (lastEventId?: string) => ({ headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId } }) as unknown as http.IncomingMessage;

function connect(hub: EventHub, lastEventId?: string): FakeResponse {
  const res = new FakeResponse();
  hub.serve(request(lastEventId), res as unknown as http.ServerResponse);
  return res;
}

const ids = (text: string) => [...text.matchAll(/^id: inc:(\d+)$/gm)].map((m) => Number(m[1]));

describe('EventHub', () => {
  let now = 1_000_000;
  let hub: EventHub;
  const dropped: string[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
    dropped.length = 0;
    hub = new EventHub({ incarnation: 'inc', deniedPerSec: 2, hashKey: (k) => `h(${k})`, now: () => now, onDropped: (reason) => dropped.push(reason) });
  });
  afterEach(() => {
    hub.close();
    vi.useRealTimers();
  });

  it('starts each stream with a retry field and sends a keep-alive comment every 15 s', () => {
    const res = connect(hub);
    expect(res.status).toBe(200);
    expect(res.text).toBe('retry: 2000\n\n');
    vi.advanceTimersByTime(KEEP_ALIVE_MS - 1);
    expect(res.text).not.toContain(': keep-alive');
    vi.advanceTimersByTime(1);
    expect(res.text).toBe('retry: 2000\n\n: keep-alive\n\n');
  });

  it('formats events with an id, a type and one line of JSON data', () => {
    const res = connect(hub);
    hub.publish('peer', { nodeId: 'b', note: 'line\nbreak' });
    expect(res.chunks[1]).toBe(`id: inc:1\nevent: peer\ndata: {"nodeId":"b","note":"line\\nbreak","at":${now}}\n\n`);
  });

  it('caps denials per second and tells the next one how many were left out', () => {
    const res = connect(hub);
    const api = createLimiter({ name: 'api', limit: 1, windowMs: 1000 });
    const d = { allowed: false, limit: 1, remaining: 0, resetMs: 1000, retryAfterMs: 1000 };
    for (let i = 0; i < 5; i++) hub.denied(api, `k${i}`, 1, d);
    expect(res.text.match(/event: denied/g)).toHaveLength(2);
    expect(dropped).toEqual(['sampled', 'sampled', 'sampled']);
    now += 1000;
    hub.denied(api, 'k5', 1, d);
    const last = JSON.parse(res.chunks[res.chunks.length - 1].split('data: ')[1]);
    expect(last).toMatchObject({ keyHash: 'h(k5)', suppressed: 3 });
    expect(res.text).not.toMatch(/"k\d"/);
  });

  it('replays from Last-Event-ID and announces a gap past the ring', () => {
    for (let i = 0; i < EVENT_BUFFER_SIZE + 10; i++) hub.publish('ready', {});
    const recent = connect(hub, `inc:${EVENT_BUFFER_SIZE + 5}`);
    expect(ids(recent.text)).toEqual([EVENT_BUFFER_SIZE + 6, EVENT_BUFFER_SIZE + 7, EVENT_BUFFER_SIZE + 8, EVENT_BUFFER_SIZE + 9, EVENT_BUFFER_SIZE + 10]);
    const old = connect(hub, 'inc:3');
    expect(old.text).toContain('event: gap');
    expect(old.text).toContain('"reason":"expired"');
    expect(old.text).toContain('"missed":7');
    expect(ids(old.text)).toEqual([10, ...Array.from({ length: EVENT_BUFFER_SIZE }, (_, i) => i + 11)]);
    const current = connect(hub, `inc:${EVENT_BUFFER_SIZE + 10}`);
    expect(current.text).toBe('retry: 2000\n\n');
  });

  it('drops a client whose unsent backlog passes the bound, without touching the others', () => {
    const slow = connect(hub);
    const fast = connect(hub);
    slow.writableLength = MAX_CLIENT_BYTES;
    hub.publish('ready', {});
    expect(slow.destroyed).toBe(true);
    expect(dropped).toEqual(['slow-client']);
    expect(hub.clients).toBe(1);
    expect(fast.text).toContain('event: ready');
  });

  it('ends every stream on close', () => {
    const res = connect(hub);
    hub.close();
    expect(res.writableEnded).toBe(true);
    expect(hub.clients).toBe(0);
  });
});
