/**
 * A Server-Sent Events client over fetch, parsing the stream itself as the
 * WHATWG HTML "event stream interpretation" describes: fields, comments,
 * `retry`, `id` (the last event id), multi-line `data`, dispatch on a blank line.
 */

export interface SseEvent {
  /** The last event id after this event (as EventSource reports it). */
  lastEventId: string;
  event: string;
  data: string;
}

export class SseClient {
  readonly status: number;
  readonly headers: Headers;
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retryMs: number | undefined;
  lastEventId = '';
  #abort: AbortController;
  #ended = false;
  #waiters: Array<() => void> = [];

  private constructor(res: Response, abort: AbortController) {
    this.status = res.status;
    this.headers = res.headers;
    this.#abort = abort;
    if (res.body !== null) void this.#pump(res.body);
  }

  /** Connects; `lastEventId` is sent as `Last-Event-ID`. */
  static async open(url: string, init: { token?: string; lastEventId?: string } = {}): Promise<SseClient> {
    const abort = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    if (init.lastEventId !== undefined) headers['last-event-id'] = init.lastEventId;
    const res = await fetch(url, { headers, signal: abort.signal });
    return new SseClient(res, abort);
  }

  /** True once the server ended the stream. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Resolves with the first event (from the start of the stream) matching `match`. */
  async next(match: (e: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found !== undefined) return found;
      if (this.#ended) throw new Error('the event stream ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves when the server ends the stream. */
  async whenEnded(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      if (Date.now() > deadline) throw new Error('the event stream did not end');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#abort.abort();
  }

  async #pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let data: string[] = [];
    let event = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        // A line ends at CRLF, LF or CR; keep a trailing partial line (and a lone CR that may precede LF).
        const lines = buffer.split(/\r\n|\n|\r(?!$)/);
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          if (line === '') {
            if (data.length > 0) this.events.push({ lastEventId: this.lastEventId, event: event || 'message', data: data.join('\n') });
            data = [];
            event = '';
            continue;
          }
          if (line.startsWith(':')) {
            this.comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'data') data.push(value);
          else if (field === 'event') event = value;
          else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
          else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
        }
        for (const wake of this.#waiters.splice(0)) wake();
      }
    } catch {
      // aborted by close(), or the connection was cut: either way the stream is over
    }
    this.#ended = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
