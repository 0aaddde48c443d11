/**
 * The RESP server: a TCP (or TLS) listener speaking the Redis protocol, one
 * {@link RespParser} and session per connection, replies written in order.
 * It owns the port's bounds — connections, pending input, output buffer per
 * client — and the graceful close. What commands mean is resp-commands.ts.
 *
 * Flow control: a client that pipelines without reading its replies fills
 * the socket's output buffer; past `maxOutputBytes` the server stops parsing
 * and pauses reading until the buffer drains, so the kernel's TCP window —
 * not the daemon's memory — holds the rest. The parser holds at most one
 * partial command, and at most `maxPipeline` commands run per turn of the
 * event loop, so one client cannot starve the others.
 *
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import { codes } from '../errors.js';
import { encodeError } from './resp-encoder.js';
import { COMMAND_NAMES, runCommand, type CommandName, type RespContext, type RespSession } from './resp-commands.js';
import { RespHttpError, RespParser, RespProtocolError, type RespParserBounds } from './resp-parser.js';

/** Bounds of the RESP port (defaults in docs/resp.md). */
export interface RespBounds extends RespParserBounds {
  /** Open connections at most; one more is answered with an error and closed. */
  maxConnections: number;
  /** Commands run per connection per turn of the event loop before yielding. */
  maxPipeline: number;
  /** Reply bytes buffered for one client before the server stops reading from it. */
  maxOutputBytes: number;
}

/**
 * Default bounds. Every command served fits with room to spare (HELLO takes 7
 * arguments; keys are at most 256 bytes, limiter names 64), and a connection
 * holds at most one incomplete command: 16 × 1 KiB before it authenticates.
 */
export const DEFAULT_RESP_BOUNDS: RespBounds = {
  maxConnections: 10_000,
  maxArgs: 16,
  maxArgBytes: 1024,
  maxLineBytes: 16_384,
  maxPipeline: 1024,
  maxOutputBytes: 1024 * 1024,
};

/** Why the server closed a connection. */
export type RespCloseReason = 'quit' | 'protocol' | 'http' | 'too-many-connections' | 'shutdown';

/** Counters read by the daemon's metrics at scrape time. */
export interface RespStats {
  /** Open connections now. */
  connections: number;
  commands: Map<CommandName, number>;
  errors: Map<string, number>;
  closed: Map<RespCloseReason, number>;
}

/** Options of {@link RespServer}. */
export interface RespServerOptions {
  context: RespContext;
  bounds?: Partial<RespBounds>;
  /** TLS material: the port speaks TLS when given (as the HTTP API does). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** Called for a connection closed by the server (not by the client). */
  onClose?: (reason: RespCloseReason, remoteAddress: string | undefined) => void;
}

/**
 * A Redis-protocol listener.
 *
 * @example
 * const resp = new RespServer({ context });
 * const port = await resp.listen(6380, '127.0.0.1');
 * await resp.close();
 */
export class RespServer {
  readonly bounds: RespBounds;
  readonly stats: RespStats = { connections: 0, commands: new Map(), errors: new Map(), closed: new Map() };
  #ctx: RespContext;
  #server: net.Server;
  #sockets = new Set<net.Socket>();
  #nextId = 1;
  #closing = false;
  #onClose: NonNullable<RespServerOptions['onClose']>;

  constructor(options: RespServerOptions) {
    this.bounds = { ...DEFAULT_RESP_BOUNDS, ...options.bounds };
    this.#ctx = options.context;
    this.#onClose = options.onClose ?? (() => {});
    for (const n of [...COMMAND_NAMES, 'unknown'] as CommandName[]) this.stats.commands.set(n, 0);
    const t = options.tls;
    this.#server =
      t === undefined
        ? net.createServer((s) => this.#accept(s))
        : tls.createServer({ cert: t.cert, key: t.key, ca: t.ca, requestCert: t.ca !== undefined, rejectUnauthorized: t.ca !== undefined }, (s) => this.#accept(s));
    // TLS handshake failures are the client's problem; they must not reach 'error' on the server.
    this.#server.on('tlsClientError', () => {});
  }

  /** Listens; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as net.AddressInfo).port);
      });
    });
  }

  /**
   * Replaces the certificate (and key, and CA) new TLS connections get:
   * rotation without a restart. Connections open now keep theirs. No-op on
   * a plain port.
   */
  setSecureContext(t: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer }): void {
    if (this.#server instanceof tls.Server) this.#server.setSecureContext({ cert: t.cert, key: t.key, ca: t.ca });
  }

  /** Open connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  /**
   * Stops accepting, lets every connection finish the commands it has
   * received (they meet a closed decision path), flushes and ends them.
   * Resolves once all are gone; {@link terminate} cuts the stragglers.
   */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) this.#end(s, 'shutdown');
    await closed;
  }

  /** Destroys every connection now. */
  terminate(): void {
    for (const s of this.#sockets) s.destroy();
  }

  #count<K>(map: Map<K, number>, key: K): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  #end(socket: net.Socket, reason: RespCloseReason): void {
    if (socket.writableEnded) return;
    this.#count(this.stats.closed, reason);
    this.#onClose(reason, socket.remoteAddress);
    socket.end();
    // A client that never reads would keep a half-closed socket: cut it once the output buffer cannot drain.
    socket.setTimeout(10_000, () => socket.destroy());
  }

  #accept(socket: net.Socket): void {
    socket.on('error', () => {}); // resets and TLS errors end the connection; nothing to answer
    if (this.#closing || this.#sockets.size >= this.bounds.maxConnections) {
      const err = new codes.TALLYMESH_ERR_RESP_TOO_MANY_CONNECTIONS(this.bounds.maxConnections);
      socket.write(encodeError('ERR', err.code, err.message));
      this.#end(socket, this.#closing ? 'shutdown' : 'too-many-connections');
      return;
    }
    this.#sockets.add(socket);
    this.stats.connections++;
    socket.setNoDelay(true);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      this.stats.connections--;
    });
    const parser = new RespParser(this.bounds);
    const session: RespSession = { id: this.#nextId++, version: 2, authenticated: !this.#ctx.tokenRequired, name: null, quit: false };
    let scheduled = false;
    let waitingDrain = false;

    const work = (): void => {
      scheduled = false;
      let out = '';
      let ran = 0;
      try {
        for (;;) {
          if (socket.writableEnded || socket.destroyed) return;
          if (ran >= this.bounds.maxPipeline || socket.writableLength + out.length > this.bounds.maxOutputBytes) break;
          const cmd = parser.next();
          if (cmd === undefined) break;
          ran++;
          const r = runCommand(this.#ctx, session, cmd.args, cmd.notUtf8);
          this.#count(this.stats.commands, r.name);
          if (r.error !== undefined) this.#count(this.stats.errors, r.error);
          out += r.reply;
          if (session.quit) {
            socket.write(out);
            this.#end(socket, 'quit');
            return;
          }
        }
      } catch (err) {
        if (err instanceof RespHttpError) {
          // Nothing is answered: an HTTP client must not read a reply it could take for a response.
          this.#count(this.stats.errors, codes.TALLYMESH_ERR_RESP_PROTOCOL.code);
          if (out !== '') socket.write(out);
          this.#count(this.stats.closed, 'http');
          this.#onClose('http', socket.remoteAddress);
          socket.destroy();
          return;
        }
        if (!(err instanceof RespProtocolError)) throw err;
        const e = new codes.TALLYMESH_ERR_RESP_PROTOCOL(err.message);
        this.#count(this.stats.errors, e.code);
        socket.write(out + encodeError('ERR', e.code, e.message));
        this.#end(socket, 'protocol');
        return;
      }
      if (out !== '') socket.write(out);
      if (socket.writableLength > this.bounds.maxOutputBytes) {
        // The client is not reading: stop reading it too until its replies drain.
        socket.pause();
        if (!waitingDrain) {
          waitingDrain = true;
          socket.once('drain', () => {
            waitingDrain = false;
            socket.resume();
            schedule();
          });
        }
        return;
      }
      if (ran >= this.bounds.maxPipeline) {
        // More may be buffered: continue after other connections had their turn.
        socket.pause();
        schedule();
        return;
      }
      if (socket.isPaused()) socket.resume();
    };
    const schedule = (): void => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(work);
    };
    socket.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      if (!scheduled && !waitingDrain) work();
    });
  }
}
