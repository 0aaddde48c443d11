/**
 * The `.proto` files the RLS port serves, loaded with @grpc/proto-loader from
 * src/rls/proto/ (the build copies them beside the compiled modules, in the
 * ESM and the CommonJS build alike: scripts/tidy-dist.mjs). They are
 * tallymesh's own transcriptions of the published wire definitions — same
 * packages, messages, field numbers and enum values, only the fields used.
 *
 * @module
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

/**
 * This module's own file. Neither `import.meta.url` (a syntax error in the
 * CommonJS build) nor `__dirname` (absent in the ESM build) works in both
 * builds; the V8 call site of this function does.
 */
function thisFile(): string {
  const saved = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_err, sites) => sites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, thisFile);
    const name = (holder.stack as NodeJS.CallSite[])[0]?.getFileName() ?? '';
    return name.startsWith('file:') ? fileURLToPath(name) : name;
  } finally {
    Error.prepareStackTrace = saved;
  }
}

/** The folder holding the `.proto` files at run time. */
export const PROTO_DIR = join(dirname(thisFile()), 'proto');

/** The files loaded, relative to {@link PROTO_DIR}. */
export const PROTO_FILES = ['envoy/service/ratelimit/v3/rls.proto', 'grpc/health/v1/health.proto'];

/** Full name of the rate limit service. */
export const RLS_SERVICE = 'envoy.service.ratelimit.v3.RateLimitService';

/** Full name of the health service. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/**
 * Loads the services' definitions: field names as in the proto
 * (`hits_addend`), enums and 64-bit integers as numbers, absent scalars as
 * their defaults, absent messages as null.
 */
export function loadProtos(): PackageDefinition {
  return loadSync(PROTO_FILES, { includeDirs: [PROTO_DIR], keepCase: true, enums: Number, longs: Number, defaults: true });
}
