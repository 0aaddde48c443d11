import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCommit, withBuilds } from '../../../bench/lib/git-worktree.js';
import { repoRoot } from '../../../bench/lib/result-file.js';

// A throwaway repository with two commits of a one-file package, built with
// this checkout's TypeScript: the real git and tsc, never this repository.
let repo: string;
const git = (...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...args], { cwd: repo, encoding: 'utf8' }).trim();

function commitVersion(version: string): void {
  writeFileSync(path.join(repo, 'src', 'index.ts'), `export const version: string = '${version}';\n`);
  git('add', '-A');
  git('commit', '-q', '-m', version);
}

beforeAll(() => {
  repo = mkdtempSync(path.join(os.tmpdir(), 'tallymesh-worktree-test-'));
  mkdirSync(path.join(repo, 'src'));
  writeFileSync(path.join(repo, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(path.join(repo, '.gitignore'), 'node_modules\ndist/\n');
  writeFileSync(
    path.join(repo, 'tsconfig.build.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', target: 'ES2022', rootDir: '.', outDir: 'dist', types: [], noLib: true }, include: ['src'] }),
  );
  // noLib keeps each build to a fraction of a second; these are the globals tsc insists on.
  const globals = ['Array<T>', 'Boolean', 'CallableFunction', 'Function', 'IArguments', 'NewableFunction', 'Number', 'Object', 'RegExp', 'String'];
  writeFileSync(path.join(repo, 'src', 'globals.d.ts'), globals.map((g) => `interface ${g} {}\n`).join(''));
  symlinkSync(path.join(repoRoot(), 'node_modules'), path.join(repo, 'node_modules'), 'dir');
  git('init', '-q');
  commitVersion('v1');
  commitVersion('v2');
  // The "current build": deliberately not what HEAD would compile to.
  mkdirSync(path.join(repo, 'dist', 'src'), { recursive: true });
  writeFileSync(path.join(repo, 'dist', 'src', 'index.js'), "export const version = 'working tree';\n");
});

afterAll(() => {
  rmSync(path.join(repo, 'node_modules'));
  rmSync(repo, { recursive: true, force: true });
});

const worktrees = (): number => git('worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length;
const importVersion = async (entry: string): Promise<unknown> => ((await import(pathToFileURL(entry).href)) as { version: unknown }).version;

describe('withBuilds', () => {
  it('builds the older commit, snapshots the current build, and removes both afterwards', async () => {
    const quiet = (): void => {};
    const seen = await withBuilds(
      repo,
      'HEAD~1',
      async ({ before, after }) => {
        expect(worktrees()).toBe(2);
        return { before, after, versions: [await importVersion(before.entry), await importVersion(after.entry)] };
      },
      quiet,
    );
    expect(seen.versions).toEqual(['v1', 'working tree']);
    expect(seen.before.commit).toBe(git('rev-parse', 'HEAD~1'));
    expect(seen.after).toMatchObject({ commit: git('rev-parse', 'HEAD'), dirty: false });
    expect(existsSync(path.dirname(path.dirname(path.dirname(seen.before.entry))))).toBe(false);
    expect(existsSync(path.dirname(path.dirname(path.dirname(seen.after.entry))))).toBe(false);
    expect(worktrees()).toBe(1);
    // The linked node_modules went away as a link: the real one is intact.
    expect(readdirSync(path.join(repoRoot(), 'node_modules'))).toContain('typescript');
  });

  it('removes the worktree when the measurement throws, and passes the error on', async () => {
    let dir = '';
    await expect(
      withBuilds(
        repo,
        'HEAD~1',
        async ({ before }) => {
          dir = path.dirname(path.dirname(path.dirname(before.entry)));
          throw new Error('measurement failed');
        },
        () => {},
      ),
    ).rejects.toThrow('measurement failed');
    expect(dir).not.toBe('');
    expect(existsSync(dir)).toBe(false);
    expect(worktrees()).toBe(1);
  });

  it('refuses an unknown ref before creating anything', async () => {
    expect(() => resolveCommit(repo, 'no-such-ref')).toThrow('git ref "no-such-ref" does not name a commit');
    await expect(withBuilds(repo, 'no-such-ref', async () => 0, () => {})).rejects.toThrow('does not name a commit');
    expect(worktrees()).toBe(1);
  });
});
