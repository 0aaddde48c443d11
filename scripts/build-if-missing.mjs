#!/usr/bin/env node
/**
 * `pretallymesh`: runs `npm run build` when the CLI has not been built yet,
 * so `npm ci && npm run tallymesh -- <command>` works on a fresh checkout
 * without rebuilding before every command. After editing sources, run
 * `npm run build` yourself.
 */
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
  execSync('npm run build', { cwd: root, stdio: 'inherit' });
}
