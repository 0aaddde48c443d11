/**
 * The dependency direction of docs/architecture.md, enforced: `crdt` ← `src`
 * → `transport`; the error registry and the option validators are leaves
 * every folder may import; `cli/` and `bench/` use only the package's
 * entries; no import cycles among files.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, importGraph, importsOf, type ImportEdge } from './import-graph.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIRS = ['crdt', 'transport', 'src', 'cli', 'bench'] as const;

const ERRORS = 'src/errors.ts';
const VALIDATE = 'src/validate.ts';
/** The package's entries (package.json `exports`): all that cli/ and bench/ may import. */
const ENTRIES = ['src/index.ts', 'src/http/index.ts', 'src/daemon/index.ts', 'src/sim/index.ts', 'src/client/index.ts'];

/**
 * Deep imports of bench/ that are allowed anyway, each with its reason. Every
 * entry must still match an import (a stale exception fails the test).
 * None today: every benchmark goes through `src/index.ts`.
 */
const BENCH_EXCEPTIONS: ReadonlyArray<{ from: string; to: string; why: string }> = [];

/**
 * Cycles allowed for now, each with its reason; a stale entry fails the test.
 * Type-only cycles are erased at compile time but still tangle two files.
 */
const KNOWN_CYCLES: ReadonlyArray<{ cycle: string; why: string }> = [];

const under = (dir: string) => (file: string) => file.startsWith(`${dir}/`);
const is = (target: string) => (file: string) => file === target;
const leaves = [is(ERRORS), is(VALIDATE)];

/** What a file may import, by folder; the first rule whose folder holds the importer applies. */
interface Rule {
  folder: string;
  owns: (file: string) => boolean;
  may: Array<(file: string) => boolean>;
  /** Imports of these must be type-only (erased at compile time). */
  typesOnly?: Array<(file: string) => boolean>;
  says: string;
}

const RULES: Rule[] = [
  { folder: ERRORS, owns: is(ERRORS), may: [], says: 'the error registry imports nothing' },
  { folder: VALIDATE, owns: is(VALIDATE), may: [is(ERRORS)], says: 'src/validate.ts imports only src/errors.ts' },
  { folder: 'crdt/', owns: under('crdt'), may: [under('crdt')], says: 'crdt/ imports nothing of ours outside crdt/' },
  {
    folder: 'transport/',
    owns: under('transport'),
    may: [under('transport'), under('crdt'), ...leaves],
    says: 'transport/ imports only transport/, crdt/, src/errors.ts and src/validate.ts',
  },
  {
    folder: 'src/limiter/',
    owns: under('src/limiter'),
    may: [under('src/limiter'), under('crdt'), ...leaves],
    says: 'src/limiter imports only crdt/, src/errors.ts and src/validate.ts',
  },
  {
    folder: 'src/mesh/',
    owns: under('src/mesh'),
    may: [under('src/mesh'), under('crdt'), under('transport'), under('src/limiter'), ...leaves],
    says: 'src/mesh imports only crdt/, transport/, src/limiter, src/errors.ts and src/validate.ts',
  },
  {
    folder: 'src/http/',
    owns: under('src/http'),
    may: [under('src/http'), under('src/limiter'), ...leaves],
    typesOnly: [under('src/limiter')],
    says: 'src/http imports only types of src/limiter, src/errors.ts and src/validate.ts',
  },
  {
    folder: 'src/resp/',
    owns: under('src/resp'),
    may: [under('src/resp'), under('src/limiter'), ...leaves],
    typesOnly: [under('src/limiter')],
    says: 'src/resp imports only types of src/limiter, src/errors.ts and src/validate.ts; the daemon wires it',
  },
  {
    folder: 'src/rls/',
    owns: under('src/rls'),
    may: [under('src/rls'), under('src/limiter'), ...leaves],
    typesOnly: [under('src/limiter')],
    says: 'src/rls imports only types of src/limiter, src/errors.ts and src/validate.ts; the daemon wires it',
  },
  {
    folder: 'src/sim/',
    owns: under('src/sim'),
    may: [under('src/sim'), under('src/mesh'), under('src/limiter'), under('transport'), under('crdt'), ...leaves],
    says: 'src/sim imports only src/mesh, src/limiter, transport/, crdt/, src/errors.ts and src/validate.ts',
  },
  {
    folder: 'src/stream/',
    owns: under('src/stream'),
    may: [under('src/stream'), under('src/limiter'), is('transport/codec/msgpack-scan.ts'), ...leaves],
    typesOnly: [under('src/limiter')],
    says: 'src/stream imports only types of src/limiter, transport/codec/msgpack-scan.ts, src/errors.ts and src/validate.ts',
  },
  {
    folder: 'src/client/',
    owns: under('src/client'),
    may: [under('src/client'), under('src/stream'), under('src/limiter'), ...leaves],
    typesOnly: [under('src/limiter')],
    says: 'src/client imports only src/stream, types of src/limiter, src/errors.ts and src/validate.ts',
  },
  {
    folder: 'src/daemon/',
    owns: under('src/daemon'),
    may: [(f) => under('src')(f) && !under('src/sim')(f) && !under('src/client')(f), under('crdt'), under('transport')],
    says: 'src/daemon imports anything of src/ but src/sim and src/client (and crdt/, transport/)',
  },
  {
    folder: 'src/index.ts',
    owns: is('src/index.ts'),
    may: [under('src/limiter'), under('src/mesh'), ...leaves],
    says: 'the main entry re-exports only the limiter, the mesh, the registry and the validators',
  },
  { folder: 'cli/', owns: under('cli'), may: [under('cli'), ...ENTRIES.map(is)], says: 'cli/ imports only the package entries and cli/' },
  { folder: 'bench/', owns: under('bench'), may: [under('bench'), ...ENTRIES.map(is)], says: 'bench/ imports only the package entries and bench/' },
];

/** Every import that breaks a rule, as `from → to: rule`. */
function violations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    if (e.to === null) continue; // a package or node: import
    const rule = RULES.find((r) => r.owns(e.from));
    if (rule === undefined) {
      out.push(`${e.from}: no import rule covers this file; add its folder to RULES in test/architecture/imports.test.ts`);
      continue;
    }
    if ((under('cli')(e.to) || under('bench')(e.to)) && !(under('cli')(e.from) || under('bench')(e.from))) {
      out.push(`${e.from} → ${e.to}: nothing imports cli/ or bench/`);
      continue;
    }
    if (under('bench')(e.from) && BENCH_EXCEPTIONS.some((x) => x.from === e.from && x.to === e.to)) continue;
    if (!rule.may.some((ok) => ok(e.to as string))) out.push(`${e.from} → ${e.to}: ${rule.says}`);
    else if (!e.typeOnly && rule.typesOnly?.some((t) => t(e.to as string))) out.push(`${e.from} → ${e.to} (not type-only): ${rule.says}`);
  }
  return out;
}

const edges = importGraph(ROOT, DIRS);

describe('import directions', () => {
  it('reads the imports of every folder', () => {
    for (const dir of DIRS) expect(edges.some((e) => e.from.startsWith(`${dir}/`)), dir).toBe(true);
  });

  it('follow docs/architecture.md in every file', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('keep no stale exception for bench/', () => {
    for (const x of BENCH_EXCEPTIONS) expect(edges.some((e) => e.from === x.from && e.to === x.to), `${x.from} → ${x.to}`).toBe(true);
  });

  it('form no cycle among files', () => {
    const cycles = findCycles(edges).map((c) => c.join(' → '));
    expect(cycles.filter((c) => !KNOWN_CYCLES.some((k) => k.cycle === c))).toEqual([]);
    for (const k of KNOWN_CYCLES) expect(cycles, `stale KNOWN_CYCLES entry: ${k.cycle}`).toContain(k.cycle);
  });

  it('refuse a crdt/ file importing the daemon, in any form of import', () => {
    const file = 'crdt/hlc.ts';
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    for (const line of [
      "import '../src/daemon/daemon.js';",
      "import { startDaemon } from '../src/daemon/daemon.js';",
      "export * from '../src/daemon/daemon.js';",
      "const d = () => import('../src/daemon/daemon.js');",
      "type D = typeof import('../src/daemon/daemon.js');",
    ]) {
      const probe = importsOf(file, `${text}\n${line}\n`);
      expect(violations(probe), line).toEqual([`${file} → src/daemon/daemon.ts: crdt/ imports nothing of ours outside crdt/`]);
    }
    // The same words in a comment or a string import nothing.
    expect(violations(importsOf(file, `${text}\n// import '../src/daemon/daemon.js';\nconst s = "import('../src/daemon/daemon.js')";\n`))).toEqual([]);
  });

  it('refuse cli/ and bench/ reaching past the entries, and anyone importing them', () => {
    expect(violations(importsOf('cli/x.ts', "import { Limiter } from '../src/limiter/limiter.js';"))).toHaveLength(1);
    expect(violations(importsOf('bench/x.ts', "import { createMesh } from '../src/index.js';"))).toEqual([]);
    expect(violations(importsOf('src/mesh/x.ts', "import { run } from '../../bench/run.js';"))).toEqual([
      'src/mesh/x.ts → bench/run.ts: nothing imports cli/ or bench/',
    ]);
  });

  it('let src/http/ import only types from src/limiter/', () => {
    expect(violations(importsOf('src/http/x.ts', "import type { Limiter } from '../limiter/limiter.js';"))).toEqual([]);
    expect(violations(importsOf('src/http/x.ts', "import { type Limiter } from '../limiter/limiter.js';"))).toEqual([]);
    expect(violations(importsOf('src/http/x.ts', "import { createLimiter } from '../limiter/limiter.js';"))).toHaveLength(1);
  });

  it('keep src/client/ off the daemon stack', () => {
    expect(violations(importsOf('src/client/x.ts', "import { encodeStreamRequest } from '../stream/stream-codec.js';"))).toEqual([]);
    expect(violations(importsOf('src/client/x.ts', "import { Decider } from '../daemon/decider.js';"))).toHaveLength(1);
    expect(violations(importsOf('src/client/x.ts', "import { createLimiter } from '../limiter/limiter.js';"))).toHaveLength(1);
    expect(violations(importsOf('src/stream/x.ts', "import { MAX_BATCH_REQUESTS } from '../daemon/decider.js';"))).toHaveLength(1);
  });

  it('find a cycle by depth-first search', () => {
    const e = (from: string, to: string): ImportEdge => ({ from, to, specifier: to, typeOnly: false });
    expect(findCycles([e('a.ts', 'b.ts'), e('b.ts', 'c.ts'), e('c.ts', 'a.ts'), e('c.ts', 'd.ts')])).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(findCycles([e('a.ts', 'b.ts'), e('a.ts', 'c.ts'), e('b.ts', 'c.ts')])).toEqual([]);
  });
});
