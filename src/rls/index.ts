/**
 * Envoy's rate limit service over gRPC (`--rls-port`, docs/envoy.md):
 * `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` and the gRPC
 * health service, configured in envoyproxy/ratelimit's YAML format
 * (`--rls-config`).
 *
 * Owns: the `.proto` files and their loading (proto/, proto-files.ts), the
 * configuration format (rls-config.ts), the most-specific-match rule
 * (rls-match.ts), what a request means (rls-service.ts) and the gRPC server
 * with its bounds (rls-server.ts). May import src/errors.ts, src/validate.ts
 * and types of src/limiter — nothing of the daemon: the daemon wires it,
 * handing it the decision path as {@link RlsDecisions}.
 *
 * @module
 */
export { MAX_DESCRIPTOR_DEPTH, MAX_DESCRIPTOR_TEXT_BYTES, readRlsConfig, parseRlsDocuments, RLS_UNITS, UNIT_MS } from './rls-config.js';
export type { RlsConfig, RlsDomain, RlsLevel, RlsRateLimit, RlsRule, RlsUnit } from './rls-config.js';
export { matchDescriptor } from './rls-match.js';
export type { RlsEntry } from './rls-match.js';
export { CODE, DEFAULT_RLS_REQUEST_BOUNDS, DESCRIPTOR_RESULTS, descriptorKey, limiterName, RlsService, UNLIMITED_REMAINING } from './rls-service.js';
export type { DescriptorResult, DescriptorStatus, RateLimitRequest, RateLimitResponse, RlsDecisions, RlsLimiterSpec, RlsRequestBounds, RlsServiceOptions } from './rls-service.js';
export { DEFAULT_RLS_BOUNDS, RLS_CALL_CODES, RlsServer } from './rls-server.js';
export type { RlsBounds, RlsCallCode, RlsServerOptions, RlsStats } from './rls-server.js';
export { HEALTH_SERVICE, PROTO_DIR, PROTO_FILES, RLS_SERVICE } from './proto-files.js';
