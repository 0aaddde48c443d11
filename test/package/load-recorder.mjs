/**
 * Preload (`node --import <this file>`) that records every file a process
 * resolves, through both module systems, into the file named by the
 * `TALLYMESH_LOAD_LOG` environment variable (one URL or path a line):
 * - ESM `import` (and, once hooks are registered, the `require` calls of CJS
 *   modules that ESM imported) through a `module.register` resolve hook;
 * - CommonJS `require` through `Module._resolveFilename`.
 * Test support for test/package/entry-imports.test.ts; ships nowhere.
 */
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const logFile = process.env.TALLYMESH_LOAD_LOG;
if (logFile === undefined || logFile === '') throw new Error('load-recorder: set TALLYMESH_LOAD_LOG');

register('./load-recorder-hooks.mjs', import.meta.url, { data: { logFile } });

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function recordingResolveFilename(...args) {
  const filename = resolveFilename.apply(this, args);
  appendFileSync(logFile, `${filename}\n`);
  return filename;
};
