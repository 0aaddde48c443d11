/**
 * A real gRPC client (@grpc/grpc-js) of Envoy's rate limit service and the
 * gRPC health service, for tests. It loads the repository's `.proto` files
 * with its own options (enums as names, as a reader of the wire would show
 * them), so a wrong field number or enum value in a proto shows up as a wrong
 * answer here only if the server and this client disagree with the tests'
 * expectations — the tests spell the published names and numbers out.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('../../src/rls/proto/', import.meta.url));

/** A descriptor as sent. */
export interface Descriptor {
  entries: Array<{ key: string; value: string }>;
  limit?: { requests_per_unit: number; unit: 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY' | number };
}

/** A request as sent. */
export interface Request {
  domain: string;
  descriptors: Descriptor[];
  hits_addend?: number;
}

/** A status as received. */
export interface Status {
  code: 'UNKNOWN' | 'OK' | 'OVER_LIMIT';
  current_limit: { requests_per_unit: number; unit: string; name: string } | null;
  limit_remaining: number;
  duration_until_reset: { seconds: number; nanos: number } | null;
}

/** A response as received. */
export interface Response {
  overall_code: 'UNKNOWN' | 'OK' | 'OVER_LIMIT';
  statuses: Status[];
}

/** A call's outcome: the response, or the gRPC error. */
export type Outcome = { response: Response; error?: undefined } | { response?: undefined; error: grpc.ServiceError };

type Unary<Req, Res> = (req: Req, metadata: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

const defs = grpc.loadPackageDefinition(
  loadSync(['envoy/service/ratelimit/v3/rls.proto', 'grpc/health/v1/health.proto'], { includeDirs: [PROTO_DIR], keepCase: true, enums: String, longs: Number, defaults: true }),
) as unknown as {
  envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

/** A client of one RLS port. */
export class RlsClient {
  readonly #rls: grpc.Client & { ShouldRateLimit: Unary<Request, Response> };
  readonly #health: grpc.Client & { Check: Unary<{ service: string }, { status: string }> };
  token: string | undefined;

  constructor(port: number, options: { token?: string; ca?: Buffer; maxSendBytes?: number } = {}) {
    const creds = options.ca === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(options.ca);
    const channel = { 'grpc.max_send_message_length': options.maxSendBytes ?? 4 * 1024 * 1024 };
    this.#rls = new defs.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${port}`, creds, channel) as never;
    this.#health = new defs.grpc.health.v1.Health(`127.0.0.1:${port}`, creds, channel) as never;
    this.token = options.token;
  }

  /** One ShouldRateLimit call, with `authorization: Bearer <token>` when a token is set. */
  call(req: Request, token = this.token, deadlineMs = 10_000): Promise<Outcome> {
    const md = new grpc.Metadata();
    if (token !== undefined) md.set('authorization', `Bearer ${token}`);
    return new Promise((resolve) => {
      this.#rls.ShouldRateLimit(req, md, { deadline: Date.now() + deadlineMs }, (error, response) => resolve(error === null ? { response } : { error }));
    });
  }

  /** A call that must succeed. */
  async decide(req: Request): Promise<Response> {
    const out = await this.call(req);
    if (out.error !== undefined) throw new Error(`ShouldRateLimit failed: ${out.error.code} ${out.error.details}`);
    return out.response;
  }

  /** One health check. */
  health(service = ''): Promise<{ status?: string; error?: grpc.ServiceError }> {
    return new Promise((resolve) => {
      this.#health.Check({ service }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (error, res) => resolve(error === null ? { status: res.status } : { error }));
    });
  }

  close(): void {
    this.#rls.close();
    this.#health.close();
  }
}

/** One descriptor of `pairs` (`[key, value]`, …). */
export function descriptor(...pairs: Array<[string, string]>): Descriptor {
  return { entries: pairs.map(([key, value]) => ({ key, value })) };
}
