/**
 * The two builds of a before/after benchmark, side by side in one temporary
 * directory:
 * - before: the package as it was at another git ref — a detached worktree,
 *   the checkout's node_modules linked into it, compiled with that tree's own
 *   `tsconfig.build.json`;
 * - after: a copy of the current checkout's dist/ (and package.json), taken
 *   once at the start, so a rebuild of the checkout while the benchmark runs
 *   (someone running the tests) cannot change what is being measured.
 *
 * Everything is removed afterwards, always: after success, after an error, and
 * on SIGINT/SIGTERM/SIGHUP.
 *
 * Only git plumbing that touches the repository's worktree list is used
 * (`worktree add`/`remove`/`prune`); the current checkout's files, index and
 * branch are never changed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The build of another commit, ready to import. */
export interface BeforeBuild {
  /** The ref as given, e.g. `d3c5594` or `main~3`. */
  ref: string;
  /** The full commit hash the ref resolved to. */
  commit: string;
  /** Absolute path of the build's main entry, `dist/src/index.js` (gone once {@link withBuilds} returns). */
  entry: string;
}

/** The snapshot of the current checkout's build. */
export interface AfterBuild {
  /** HEAD's full commit hash. */
  commit: string;
  /** Whether the working tree differed from HEAD (tracked changes or untracked files). */
  dirty: boolean;
  /** Absolute path of the snapshot's main entry (gone once {@link withBuilds} returns). */
  entry: string;
}

/** Where a build's main entry lives, in the old flat layout and the new one alike. */
export const ENTRY_IN_TREE = path.join('dist', 'src', 'index.js');

function git(repo: string, args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Full hash of the commit `ref` names; throws a readable error for an unknown ref. */
export function resolveCommit(repo: string, ref: string): string {
  try {
    return git(repo, ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`]);
  } catch {
    throw new Error(`git ref "${ref}" does not name a commit in ${repo}`);
  }
}

/**
 * The current checkout: HEAD's hash and whether the working tree differs from
 * it (tracked changes or untracked files), i.e. whether the "after" build is
 * HEAD or HEAD plus uncommitted work.
 */
export function describeCheckout(repo: string): { commit: string; dirty: boolean } {
  return { commit: git(repo, ['rev-parse', 'HEAD']), dirty: git(repo, ['status', '--porcelain']) !== '' };
}

/**
 * Snapshots the current build, checks out `ref` into a temporary worktree and
 * builds it, runs `fn` with both, and removes all of it whatever happens.
 * Throws before building anything when the ref is unknown or the checkout has
 * no build.
 *
 * @example
 * const ops = await withBuilds(repoRoot(), 'd3c5594', async ({ before, after }) => measure(before.entry, after.entry));
 */
export async function withBuilds<T>(
  repo: string,
  ref: string,
  fn: (builds: { before: BeforeBuild; after: AfterBuild }) => Promise<T>,
  log: (line: string) => void = (line) => console.error(line),
): Promise<T> {
  const commit = resolveCommit(repo, ref);
  const checkout = describeCheckout(repo);
  if (!existsSync(path.join(repo, ENTRY_IN_TREE))) throw new Error(`no ${ENTRY_IN_TREE} in ${repo}: build first (npm run build)`);
  const parent = mkdtempSync(path.join(os.tmpdir(), 'tallymesh-before-'));
  const dir = path.join(parent, 'before');
  const current = path.join(parent, 'after');
  const links = [path.join(dir, 'node_modules'), path.join(current, 'node_modules')];
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    removeBuilds(repo, parent, dir, links, log);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: removing the worktree of ${ref}`);
    cleanup();
    process.exit(128 + (os.constants.signals[signal] ?? 1));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.once(s, onSignal);
  try {
    // Both builds resolve their dependencies (and the old tree its tsc)
    // through the current checkout's node_modules: no install, no network.
    cpSync(path.join(repo, 'dist'), path.join(current, 'dist'), { recursive: true });
    copyFileSync(path.join(repo, 'package.json'), path.join(current, 'package.json'));
    symlinkSync(path.join(repo, 'node_modules'), links[1], 'dir');
    log(`building ${ref} (${commit.slice(0, 12)}) in a temporary worktree`);
    git(repo, ['worktree', 'add', '--detach', dir, commit]);
    symlinkSync(path.join(repo, 'node_modules'), links[0], 'dir');
    const tsc = path.join(links[0], 'typescript', 'bin', 'tsc');
    try {
      await execFileAsync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: dir, maxBuffer: 64 * 2 ** 20 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(0, 40).join('\n');
      throw new Error(`building ${ref} failed (tsc -p tsconfig.build.json):\n${output || e.message}`);
    }
    const entry = path.join(dir, ENTRY_IN_TREE);
    if (!existsSync(entry)) throw new Error(`the build of ${ref} has no ${ENTRY_IN_TREE}`);
    return await fn({ before: { ref, commit, entry }, after: { ...checkout, entry: path.join(current, ENTRY_IN_TREE) } });
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
    cleanup();
  }
}

/**
 * Synchronous, so it can run inside a signal handler. Each step is attempted
 * even when an earlier one failed; what could not be removed is named with the
 * command that removes it.
 */
function removeBuilds(repo: string, parent: string, dir: string, links: readonly string[], log: (line: string) => void): void {
  for (const link of links) {
    try {
      // Unlink the links first, so no recursive removal below can ever walk
      // into the current checkout's node_modules through one.
      if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) unlinkSync(link);
    } catch (err) {
      log(`warning: could not unlink ${link}: ${(err as Error).message}`);
    }
  }
  let registered = existsSync(dir);
  try {
    if (registered) git(repo, ['worktree', 'remove', '--force', dir]);
    registered = false;
  } catch (err) {
    log(`warning: git worktree remove failed (${(err as Error).message.split('\n')[0]}); removing the directory`);
  }
  try {
    rmSync(parent, { recursive: true, force: true });
    // Only when `worktree remove` failed: prune drops the entry whose directory is now gone.
    if (registered) git(repo, ['worktree', 'prune']);
  } catch (err) {
    log(`warning: could not remove ${parent}: ${(err as Error).message}; delete it and run \`git worktree prune\``);
  }
}
