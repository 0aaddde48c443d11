/**
 * The dashboard's static files (`static/` beside this module: plain HTML,
 * CSS and JavaScript modules, and the vendored uPlot under `static/vendor/`),
 * read into memory once. Nothing is built or fetched at run time: the build
 * copies `static/` next to the compiled module (scripts/tidy-dist.mjs), and
 * the package ships it.
 *
 * Only the files found when the daemon starts are served, by exact name, so a
 * request path can never reach outside the folder.
 *
 * May import: `node:` modules only.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file of the dashboard, ready to send. */
export interface UiAsset {
  body: Buffer;
  contentType: string;
}

/** Content types by extension; files of other kinds in `static/` are not served. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The folder this module was loaded from, in the ESM build, the CommonJS
 * build and under a test runner alike: V8's structured stack trace names the
 * file of the calling frame (a `file:` URL for ES modules, a path for
 * CommonJS), where `import.meta.url` would not compile to CommonJS and
 * `__dirname` does not exist in an ES module.
 */
function moduleDirectory(): string {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  try {
    Error.prepareStackTrace = (_err, frames) => frames;
    Error.stackTraceLimit = 1;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, moduleDirectory);
    const file = holder.stack?.[0]?.getFileName() ?? '';
    return dirname(file.startsWith('file:') ? fileURLToPath(file) : file);
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/** Where the dashboard's files are: `static/` beside this module. */
export const UI_STATIC_DIR = join(moduleDirectory(), 'static');

/**
 * Reads every servable file under `dir` into a map keyed by its path
 * relative to `dir`, with `/` separators (`index.html`, `vendor/uPlot.iife.min.js`).
 * A missing folder gives an empty map: the caller says so.
 *
 * @example
 * const assets = loadUiAssets();
 * assets.get('index.html')?.contentType; // 'text/html; charset=utf-8'
 */
export function loadUiAssets(dir: string = UI_STATIC_DIR): Map<string, UiAsset> {
  const assets = new Map<string, UiAsset>();
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return assets;
  }
  for (const name of names.sort()) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    assets.set(name.split(sep).join('/'), { body: readFileSync(join(dir, name)), contentType });
  }
  return assets;
}
