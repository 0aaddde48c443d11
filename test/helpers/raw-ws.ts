/**
 * A hostile WebSocket client built on a bare `net` socket: it performs the
 * RFC 6455 upgrade by hand and then writes whatever bytes a test wants
 * (a frame header declaring megabytes, half a payload, nothing at all), which
 * no well-behaved client library lets a test do. Used by the pre-auth tests
 * of the transport and of the CLI daemon.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

/** An upgraded (or refused) raw socket. */
export interface RawUpgrade {
  socket: net.Socket;
  /** HTTP status of the upgrade answer (101 when upgraded); 0 when the server closed without answering. */
  status: number;
  /** Bytes that followed the answer's headers in the same read (the first server frames, if any). */
  head: Buffer;
  /** Settles when the socket is closed, by either side. */
  closed: Promise<void>;
}

/** Options of {@link rawUpgrade}. */
export interface RawUpgradeOptions {
  /** Local address to dial from (any of 127.0.0.0/8 works on Linux), so a test can play several remotes. */
  localAddress?: string;
  path?: string;
  /** Give up on an answer after this long. */
  timeoutMs?: number;
}

/**
 * Opens a TCP connection to `address` (`host:port`) and sends a WebSocket
 * upgrade request for `path` (default `/v1/mesh`); resolves once the headers
 * of the answer arrived or the server closed the connection.
 */
export function rawUpgrade(address: string, options: RawUpgradeOptions = {}): Promise<RawUpgrade> {
  const { hostname, port } = new URL(`ws://${address}`);
  const socket = net.connect({ host: hostname, port: Number(port), localAddress: options.localAddress });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {}); // refusals show up as resets; 'close' follows
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade from ${address} within ${options.timeoutMs ?? 5_000} ms`));
    }, options.timeoutMs ?? 5_000);
    let settled = false;
    const settle = (status: number, rest: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      resolve({ socket, status, head: rest, closed });
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      settle(status, received.subarray(end + 4));
    };
    socket.on('data', onData);
    socket.once('close', () => settle(0, Buffer.alloc(0)));
    socket.once('connect', () => {
      socket.write(
        [
          `GET ${options.path ?? '/v1/mesh'} HTTP/1.1`,
          `Host: ${address}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
    });
  });
}

/**
 * The header of one frame (RFC 6455 §5.2) declaring `payloadLength` bytes:
 * opcode 2 (binary) with FIN by default, masked as a client's must be
 * (`masked: false` for a server's).
 */
export function frameHeader(payloadLength: number, opcode = 0x2, fin = true, masked = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  const maskBit = masked ? 0x80 : 0;
  const mask = masked ? randomBytes(4) : Buffer.alloc(0);
  if (payloadLength < 126) return Buffer.concat([Buffer.from([first, maskBit | payloadLength]), mask]);
  if (payloadLength < 0x10000) {
    const header = Buffer.from([first, maskBit | 126, 0, 0]);
    header.writeUInt16BE(payloadLength, 2);
    return Buffer.concat([header, mask]);
  }
  const header = Buffer.alloc(10);
  header[0] = first;
  header[1] = maskBit | 127;
  header.writeBigUInt64BE(BigInt(payloadLength), 2);
  return Buffer.concat([header, mask]);
}

/** A complete masked frame carrying `payload` (masked with a random key, as clients must); binary by default. */
export function maskedFrame(payload: Uint8Array, opcode = 0x2, fin = true): Buffer {
  const header = frameHeader(payload.length, opcode, fin);
  const mask = header.subarray(header.length - 4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([header, body]);
}

/**
 * Writes `total` filler bytes in `chunkBytes` pieces, waiting for 'drain'
 * when the socket pushes back. Resolves with the bytes written once all went
 * out or the socket closed (a server that refuses resets the connection).
 */
export async function writeFiller(socket: net.Socket, total: number, chunkBytes = 64 * 1024): Promise<number> {
  const chunk = Buffer.alloc(chunkBytes, 0x5a);
  let written = 0;
  while (written < total && !socket.destroyed) {
    const n = Math.min(chunkBytes, total - written);
    const more = socket.write(n === chunkBytes ? chunk : chunk.subarray(0, n));
    written += n;
    if (!more && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  return written;
}

/**
 * Collects the payloads of the unmasked frames a server sends on `socket`
 * (RFC 6455 §5.2; no fragmentation, as tallymesh never fragments). `head`
 * holds bytes that arrived with the upgrade answer, if any.
 */
export function serverFrames(socket: net.Socket, head: Buffer = Buffer.alloc(0)): Buffer[] {
  const frames: Buffer[] = [];
  let pending = head;
  const parse = (): void => {
    for (;;) {
      if (pending.length < 2) return;
      const marker = pending[1] & 0x7f;
      const offset = marker === 126 ? 4 : marker === 127 ? 10 : 2;
      if (pending.length < offset) return;
      const length = marker === 126 ? pending.readUInt16BE(2) : marker === 127 ? Number(pending.readBigUInt64BE(2)) : marker;
      if (pending.length < offset + length) return;
      frames.push(pending.subarray(offset, offset + length));
      pending = pending.subarray(offset + length);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    parse();
  });
  parse();
  return frames;
}

/** `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/**
 * A hostile listener on 127.0.0.1 port 0: it completes every WebSocket
 * upgrade by hand, then hands the socket to `onOpen`, which writes what it
 * likes (server frames are unmasked). Resolves with its address and a close
 * function.
 */
export async function rawListener(onOpen: (socket: net.Socket) => void): Promise<{ address: string; sockets: net.Socket[]; close: () => Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    let request = '';
    const onData = (chunk: Buffer): void => {
      request += chunk.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.resume();
      const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(request)?.[1] ?? '';
      socket.write(
        ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(key)}`, '', ''].join('\r\n'),
      );
      onOpen(socket);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resident set size (VmRSS) of process `pid` in bytes, from /proc. */
export function rssBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/**
 * Resets the peak resident set (VmHWM) of `pid` to its current RSS
 * (`echo 5 > /proc/<pid>/clear_refs`, Linux 4.0+), so a later VmHWM reading
 * is the peak since now. Returns false where the kernel refuses.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
