/**
 * Helpers for the package tests: run a command with its output captured,
 * pack this package, list what a pack would ship, and set up a consumer
 * project in a temporary directory with `npm install`.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The oldest TypeScript the package's declarations support (they use
 * `NoInfer`), as the README and package.json state it; the consumer test
 * compiles with this version.
 */
export const TS_MINIMUM = '5.4.5';

/** The repository (the package's root). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A finished command. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment for child npm and node processes: this one, minus what
 * `npm test` sets for its own script (package and lifecycle variables, the
 * local prefix), which would point a child npm back at this repository.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const lower = k.toLowerCase();
    if (lower.startsWith('npm_') && (!lower.startsWith('npm_config_') || lower === 'npm_config_local_prefix')) continue;
    if (k === 'INIT_CWD' || k.startsWith('TALLYMESH_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs `command args` in `cwd`; rejects with the whole output on a non-zero exit or past `timeoutMs`. */
export function run(command: string, args: string[], cwd: string, timeoutMs = 60_000, env = childEnv()): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ code, stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) ended with ${signal ?? code}:\n${stdout}\n${stderr}`));
    });
  });
}

/** One file of `npm pack --json`. */
interface PackedFile {
  path: string;
  size: number;
}

/** Parses `npm pack --json` output (npm may print lifecycle noise before the JSON). */
function parsePack(stdout: string): { filename: string; files: PackedFile[] } {
  const json = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: PackedFile[] }>;
  return json[0]!;
}

/**
 * Paths the package would ship, as `npm pack --dry-run` lists them. Lifecycle
 * scripts are skipped (no `prepack` build): run `npm run build` first.
 */
export async function packedFiles(): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT);
  return parsePack(stdout).files.map((f) => f.path);
}

/** Packs the built package into `dest` (no `prepack` build: run `npm run build` first); returns the tarball's path. */
export async function packTarball(dest: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], ROOT);
  return join(dest, parsePack(stdout).filename);
}

/** Creates a project in `dir` with `manifest` and installs `specs` (tarballs or `name@version`) into it. */
export async function installProject(dir: string, manifest: Record<string, unknown>, specs: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ private: true, ...manifest }, null, 2));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', ...specs], dir, 120_000);
}
