/**
 * The import graph of the source tree, read with the TypeScript parser (so
 * comments and strings never count): every `import`, `export … from`,
 * dynamic `import()` and `typeof import()` type of every .ts file under the
 * given folders, resolved to repository paths.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import of one file. */
export interface ImportEdge {
  /** Importing file, repository-relative with `/` (e.g. `crdt/hlc.ts`). */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** Imported file, repository-relative (`.js` read as `.ts`); null for a package or `node:` import. */
  to: string | null;
  /** Erased at compile time (`import type`, `export type`, `typeof import()`). */
  typeOnly: boolean;
}

/** Every .ts file under `dirs` (repository-relative), sorted. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    for (const f of readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (f.endsWith('.ts') && !f.split(path.sep).includes('node_modules')) out.push(`${dir}/${f.split(path.sep).join('/')}`);
    }
  }
  return out.sort();
}

/** Resolves a relative specifier of `from` to a repository path; null when it is a package. */
export function resolveSpecifier(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  return joined.replace(/\.js$/, '.ts');
}

/** The imports of one file's source text. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: ImportEdge[] = [];
  const add = (node: ts.Node | undefined, typeOnly: boolean): void => {
    if (node !== undefined && ts.isStringLiteralLike(node)) {
      out.push({ from: file, specifier: node.text, to: resolveSpecifier(file, node.text), typeOnly });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      // `import { type A, type B }` is erased too; `import {}` and `import 'x'` are not.
      const named = clause?.namedBindings;
      const allTypeNames =
        clause !== undefined && clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier, clause?.phaseModifier === ts.SyntaxKind.TypeKeyword || allTypeNames);
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause;
      const allTypeNames = named !== undefined && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier, node.isTypeOnly || allTypeNames);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The imports of every file under `dirs`. */
export function importGraph(root: string, dirs: readonly string[]): ImportEdge[] {
  return sourceFiles(root, dirs).flatMap((file) => importsOf(file, readFileSync(path.join(root, file), 'utf8')));
}

/**
 * Every cycle among files (each as `a → b → … → a`), found by a depth-first
 * search that reports a back edge to a file still on the stack.
 */
export function findCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (e.to === null) continue;
    const list = next.get(e.from) ?? [];
    if (!list.includes(e.to)) list.push(e.to);
    next.set(e.from, list);
  }
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'active');
    stack.push(file);
    for (const to of next.get(file) ?? []) {
      const s = state.get(to);
      if (s === 'active') cycles.push([...stack.slice(stack.indexOf(to)), to]);
      else if (s === undefined) visit(to);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...next.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}
