/**
 * The RLS port: a gRPC server (@grpc/grpc-js) serving
 * `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` and
 * `grpc.health.v1.Health/Check`. It owns the port's bounds — connections
 * (its own listener hands each accepted socket to grpc-js, so it can count and
 * refuse them), message size, streams per connection — the bearer-token check
 * on the call's metadata, the mapping of registry errors to gRPC status codes,
 * and the graceful stop. What a request means is rls-service.ts.
 *
 * @module
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { codes, isTallymeshError, type ErrorCode } from '../errors.js';
import { HEALTH_SERVICE, loadProtos, RLS_SERVICE } from './proto-files.js';
import { CODE, type RateLimitRequest, type RateLimitResponse, type RlsService } from './rls-service.js';

/** Bounds of the RLS port (defaults in docs/envoy.md). */
export interface RlsBounds {
  /** Open connections at most; one more is closed at once. */
  maxConnections: number;
  /** Bytes of one request message; a larger one is refused with RESOURCE_EXHAUSTED by grpc-js. */
  maxMessageBytes: number;
  /** Concurrent calls (HTTP/2 streams) per connection. */
  maxConcurrentStreams: number;
}

/** Default bounds. Envoy's requests are a few hundred bytes; 64 KiB leaves room for many descriptors and still bounds what one call can make the daemon decode. */
export const DEFAULT_RLS_BOUNDS: RlsBounds = { maxConnections: 1000, maxMessageBytes: 64 * 1024, maxConcurrentStreams: 100 };

/** How a call ended: the label of `tallymesh_rls_requests_total` (the response code, or the gRPC status name of an error). */
export type RlsCallCode = 'OK' | 'OVER_LIMIT' | 'INVALID_ARGUMENT' | 'RESOURCE_EXHAUSTED' | 'UNAUTHENTICATED' | 'UNAVAILABLE' | 'INTERNAL';

/** Every {@link RlsCallCode}. */
export const RLS_CALL_CODES: readonly RlsCallCode[] = ['OK', 'OVER_LIMIT', 'INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED', 'UNAUTHENTICATED', 'UNAVAILABLE', 'INTERNAL'];

/** Counters read by the daemon's metrics at scrape time. */
export interface RlsStats {
  /** Open connections now. */
  connections: number;
  /** Connections closed at accept because the port was full or closing. */
  refusedConnections: number;
  /** ShouldRateLimit calls, by how they ended. */
  requests: Map<RlsCallCode, number>;
  /** Health checks answered. */
  healthChecks: number;
}

/** Options of {@link RlsServer}. */
export interface RlsServerOptions {
  service: RlsService;
  /** True when the call's token is the API token; absent: no token required. */
  checkToken?: (token: string) => boolean;
  /** SERVING or NOT_SERVING for health checks (the daemon: ready and not shutting down). */
  serving: () => boolean;
  bounds?: Partial<RlsBounds>;
  /** TLS material: the port speaks TLS when given (as the HTTP API does); with `ca`, clients must present a certificate it signed. */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** Called for a call that failed inside the service with something that is not a registry error (a bug). */
  onInternalError?: (err: unknown) => void;
}

/** gRPC status of each registry error a call can end with. */
const STATUS_OF: Partial<Record<ErrorCode, [grpc.status, RlsCallCode]>> = {
  TALLYMESH_ERR_RLS_INVALID_REQUEST: [grpc.status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
  TALLYMESH_ERR_RLS_TOO_LARGE: [grpc.status.RESOURCE_EXHAUSTED, 'RESOURCE_EXHAUSTED'],
  TALLYMESH_ERR_RLS_TOO_MANY_OVERRIDES: [grpc.status.RESOURCE_EXHAUSTED, 'RESOURCE_EXHAUSTED'],
  TALLYMESH_ERR_RLS_UNAUTHENTICATED: [grpc.status.UNAUTHENTICATED, 'UNAUTHENTICATED'],
  TALLYMESH_ERR_MESH_CLOSED: [grpc.status.UNAVAILABLE, 'UNAVAILABLE'],
};

/** The health protocol's `ServingStatus` values used. */
const SERVING = 1;
const NOT_SERVING = 2;

/** The token of `authorization: Bearer <token>` (RFC 6750: scheme case-insensitive), or undefined. */
function bearerToken(metadata: grpc.Metadata): string | undefined {
  const v = metadata.get('authorization')[0];
  if (typeof v !== 'string') return undefined;
  return /^Bearer +(\S+) *$/i.exec(v)?.[1];
}

/**
 * The Envoy rate limit service's gRPC server.
 *
 * @example
 * const rls = new RlsServer({ service, serving: () => true });
 * const port = await rls.listen(8081, '127.0.0.1');
 * await rls.close();
 */
export class RlsServer {
  readonly bounds: RlsBounds;
  readonly stats: RlsStats = { connections: 0, refusedConnections: 0, requests: new Map(RLS_CALL_CODES.map((c) => [c, 0])), healthChecks: 0 };
  #grpc: grpc.Server;
  #listener: net.Server;
  #sockets = new Set<net.Socket>();
  #closing = false;
  #options: RlsServerOptions;

  constructor(options: RlsServerOptions) {
    this.bounds = { ...DEFAULT_RLS_BOUNDS, ...options.bounds };
    this.#options = options;
    this.#grpc = new grpc.Server({
      'grpc.max_receive_message_length': this.bounds.maxMessageBytes,
      'grpc.max_concurrent_streams': this.bounds.maxConcurrentStreams,
    });
    const defs = grpc.loadPackageDefinition(loadProtos());
    const service = (name: string): grpc.ServiceDefinition => {
      const ctor = name.split('.').reduce<unknown>((o, part) => (o as Record<string, unknown>)[part], defs) as { service: grpc.ServiceDefinition };
      return ctor.service;
    };
    this.#grpc.addService(service(RLS_SERVICE), { ShouldRateLimit: this.#shouldRateLimit });
    this.#grpc.addService(service(HEALTH_SERVICE), { Check: this.#check });
    const t = options.tls;
    const credentials =
      t === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(t.ca === undefined ? null : Buffer.from(t.ca), [{ private_key: Buffer.from(t.key), cert_chain: Buffer.from(t.cert) }], t.ca !== undefined);
    const injector = this.#grpc.createConnectionInjector(credentials);
    this.#listener = net.createServer((socket) => {
      socket.on('error', () => {}); // resets end the connection; nothing to answer
      if (this.#closing || this.#sockets.size >= this.bounds.maxConnections) {
        this.stats.refusedConnections++;
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      this.stats.connections++;
      socket.on('close', () => {
        this.#sockets.delete(socket);
        this.stats.connections--;
      });
      injector.injectConnection(socket);
    });
  }

  /** Listens; resolves with the bound port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#listener.once('error', reject);
      this.#listener.listen(port, host, () => {
        this.#listener.off('error', reject);
        resolve((this.#listener.address() as net.AddressInfo).port);
      });
    });
  }

  /** Open connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  /**
   * Stops accepting and lets calls in flight finish (grpc-js `tryShutdown`:
   * GOAWAY to every connection, which closes once its calls are answered).
   * {@link terminate} cuts what is left (`forceShutdown`).
   */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    await new Promise<void>((resolve) => this.#grpc.tryShutdown(() => resolve()));
    await closed;
  }

  /** Cancels every call and closes every connection now. */
  terminate(): void {
    this.#closing = true;
    this.#grpc.forceShutdown();
    for (const s of this.#sockets) s.destroy();
  }

  #count(code: RlsCallCode): void {
    this.stats.requests.set(code, (this.stats.requests.get(code) ?? 0) + 1);
  }

  #fail(callback: grpc.sendUnaryData<never>, err: unknown): void {
    const mapped = isTallymeshError(err) ? STATUS_OF[err.code] : undefined;
    if (mapped === undefined) {
      this.#options.onInternalError?.(err);
      this.#count('INTERNAL');
      // The details stay in the daemon's log; the client learns only that it was not its fault.
      callback({ code: grpc.status.INTERNAL, details: 'internal error' });
      return;
    }
    this.#count(mapped[1]);
    const e = err as Error & { code: string };
    callback({ code: mapped[0], details: `${e.code}: ${e.message}` });
  }

  #shouldRateLimit = (call: grpc.ServerUnaryCall<RateLimitRequest, RateLimitResponse>, callback: grpc.sendUnaryData<RateLimitResponse>): void => {
    const check = this.#options.checkToken;
    if (check !== undefined) {
      const token = bearerToken(call.metadata);
      if (token === undefined || !check(token)) {
        this.#fail(callback, new codes.TALLYMESH_ERR_RLS_UNAUTHENTICATED());
        return;
      }
    }
    let response: RateLimitResponse;
    try {
      response = this.#options.service.shouldRateLimit(call.request);
    } catch (err) {
      this.#fail(callback, err);
      return;
    }
    this.#count(response.overall_code === CODE.OVER_LIMIT ? 'OVER_LIMIT' : 'OK');
    callback(null, response);
  };

  /** Health checks need no token: probes (Kubernetes' grpc probe among them) send no metadata, as /healthz needs none. */
  #check = (call: grpc.ServerUnaryCall<{ service: string }, { status: number }>, callback: grpc.sendUnaryData<{ status: number }>): void => {
    this.stats.healthChecks++;
    const name = call.request.service;
    if (name !== '' && name !== RLS_SERVICE) {
      const err = new codes.TALLYMESH_ERR_RLS_SERVICE_UNKNOWN(name.slice(0, 256));
      callback({ code: grpc.status.NOT_FOUND, details: `${err.code}: ${err.message}` });
      return;
    }
    callback(null, { status: this.#options.serving() ? SERVING : NOT_SERVING });
  };
}
