/**
 * The `grpc-single` client of the daemon scenario: one Envoy
 * `ShouldRateLimit` call per decision round, with two descriptors, over one
 * grpc-js channel (HTTP/2: concurrent calls are multiplexed on it, as Envoy
 * does). It loads the package's own `.proto` files — from src/rls/proto/
 * when run from source, from dist/src/rls/proto/ in the build, the same path
 * relative to this file — so it speaks exactly what the daemon serves.
 *
 * The daemon must run with `--rls-port` and a `--rls-config` holding
 * {@link GRPC_BENCH_RLS_CONFIG}; its limits are far above what a run sends, so
 * every descriptor is admitted and `decide()` checks that it was.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { KeyPicker } from './daemon-clients.js';

/** The rate limit configuration the daemon needs for {@link grpcSingleClient}: one domain, two descriptors per call. */
export const GRPC_BENCH_RLS_CONFIG = `domain: bench
descriptors:
  - key: remote_address
    rate_limit: {unit: minute, requests_per_unit: 1000000000}
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 1000000000}
`;

/** Descriptors per `ShouldRateLimit` call. */
export const GRPC_DESCRIPTORS_PER_CALL = 2;

const PROTO_DIR = fileURLToPath(new URL('../../src/rls/proto/', import.meta.url));

interface Status {
  code: number;
}

type ShouldRateLimit = (
  req: { domain: string; descriptors: Array<{ entries: Array<{ key: string; value: string }> }> },
  metadata: grpc.Metadata,
  cb: (err: grpc.ServiceError | null, res: { overall_code: number; statuses: Status[] }) => void,
) => void;

/** Options of {@link grpcSingleClient}. */
export interface GrpcClientOptions {
  /** Keys drawn for the `user` descriptor (default: 10,000 keys). */
  keys?: KeyPicker;
  /** Client addresses drawn for the `remote_address` descriptor (default: 1,000). */
  addresses?: KeyPicker;
}

/** A `grpc-single` load target. */
export interface GrpcSingleClient {
  /** One ShouldRateLimit with two descriptors; resolves with the descriptors decided (2) once both were checked admitted. */
  decide(): Promise<number>;
  /** The same as {@link GrpcSingleClient.decide}, under the name the daemon scenario's clients use. */
  issue(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A grpc-js client of the daemon's RLS port on 127.0.0.1: `token` ('' for
 * none) goes in `authorization: Bearer` metadata on every call.
 *
 * @example
 * const c = grpcSingleClient(rlsPort, '');
 * await c.decide(); // 2
 * await c.close();
 */
export function grpcSingleClient(port: number, token: string, options: GrpcClientOptions = {}): GrpcSingleClient {
  const defs = grpc.loadPackageDefinition(
    loadSync('envoy/service/ratelimit/v3/rls.proto', { includeDirs: [PROTO_DIR], keepCase: true, enums: Number, longs: Number, defaults: true }),
  ) as unknown as { envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } } };
  const client = new defs.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ShouldRateLimit: ShouldRateLimit;
  };
  const metadata = new grpc.Metadata();
  if (token !== '') metadata.set('authorization', `Bearer ${token}`);
  const keys = options.keys ?? new KeyPicker(10_000);
  const addresses = options.addresses ?? new KeyPicker(1_000, '10.0.0.');
  const decide = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = {
        domain: 'bench',
        descriptors: [{ entries: [{ key: 'remote_address', value: addresses.next() }] }, { entries: [{ key: 'user', value: keys.next() }] }],
      };
      client.ShouldRateLimit(req, metadata, (err, res) => {
        if (err !== null) return reject(new Error(`grpc-single: ShouldRateLimit failed: ${err.code} ${err.details}`));
        // 1 is RateLimitResponse.Code.OK.
        if (res.overall_code !== 1 || res.statuses.length !== GRPC_DESCRIPTORS_PER_CALL || res.statuses.some((s) => s.code !== 1)) {
          return reject(new Error(`grpc-single: expected two admitted descriptors, got ${JSON.stringify(res)}`));
        }
        resolve(GRPC_DESCRIPTORS_PER_CALL);
      });
    });
  return {
    decide,
    issue: decide,
    async close() {
      client.close();
    },
  };
}
