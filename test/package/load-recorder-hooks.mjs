/**
 * Module customization hooks for load-recorder.mjs: appends every URL the
 * ESM loader resolves to the log file it was given. Test support; ships nowhere.
 */
import { appendFileSync } from 'node:fs';

let logFile = '';

/** Receives the log file's path from `module.register`. */
export function initialize(data) {
  logFile = data.logFile;
}

/** Records the resolved URL, changes nothing. */
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(logFile, `${result.url}\n`);
  return result;
}
