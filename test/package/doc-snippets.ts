/**
 * Turns the TypeScript code blocks of a Markdown document into one module
 * that `tsc` can check: every block's imports go to the top (merged per
 * module), every block's other statements into a scope of their own, so two
 * blocks may both declare `app`, and a later block may use what an earlier
 * one imported, as a reader would. Names the documents use for something
 * made earlier without showing it (`api`, a limiter) come from {@link PRELUDE}.
 */
import ts from 'typescript';

/** A ```ts block of a document. */
export interface Snippet {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
}

/**
 * What the documents take as given: a limiter made earlier (`api`, `search`,
 * `limiter`), a key and a cost, a Fastify route handler.
 */
export const PRELUDE = `
import type { Limiter } from 'tallymesh';
import type { RouteHandlerMethod } from 'fastify';
declare const api: Limiter;
declare const search: Limiter;
declare const limiter: Limiter;
declare const key: string;
declare const cost: number;
declare const handler: RouteHandlerMethod;
`;

/** Every ```ts (or ```typescript) block of `markdown`. */
export function extractSnippets(markdown: string): Snippet[] {
  const snippets: Snippet[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    snippets.push({ line: start + 1, code: body.join('\n') });
  }
  return snippets;
}

/** One module's imports, merged: default and namespace names, named bindings (local name → imported text, type-only). */
interface ModuleImports {
  defaults: Set<string>;
  namespaces: Set<string>;
  named: Map<string, { text: string; typeOnly: boolean }>;
  sideEffect: boolean;
}

/** Builds the module that checks `snippets` (with {@link PRELUDE}); `source` names the document in comments. */
export function snippetModule(source: string, snippets: Snippet[]): string {
  const imports = new Map<string, ModuleImports>();
  const prelude: string[] = [];
  const bodies: string[] = [];
  const parts = [{ line: 0, code: PRELUDE, isPrelude: true }, ...snippets.map((s) => ({ ...s, isPrelude: false }))];
  for (const part of parts) {
    const file = ts.createSourceFile('snippet.ts', part.code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const rest: string[] = [];
    for (const statement of file.statements) {
      if (!ts.isImportDeclaration(statement)) {
        rest.push(statement.getFullText(file));
        continue;
      }
      const from = (statement.moduleSpecifier as ts.StringLiteral).text;
      const entry: ModuleImports = imports.get(from) ?? { defaults: new Set(), namespaces: new Set(), named: new Map(), sideEffect: false };
      imports.set(from, entry);
      const clause = statement.importClause;
      if (clause === undefined) {
        entry.sideEffect = true;
        continue;
      }
      if (clause.name !== undefined) entry.defaults.add(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) entry.namespaces.add(bindings.name.text);
      else if (bindings !== undefined) {
        for (const el of bindings.elements) {
          const text = el.propertyName === undefined ? el.name.text : `${el.propertyName.getText(file)} as ${el.name.text}`;
          const typeOnly = clause.isTypeOnly || el.isTypeOnly;
          // Imported as a value anywhere: a value import (it serves as a type too).
          const seen = entry.named.get(el.name.text);
          entry.named.set(el.name.text, { text, typeOnly: typeOnly && (seen?.typeOnly ?? true) });
        }
      }
    }
    // The prelude's declarations stay at the top level; a block's go in a scope of their own.
    if (part.isPrelude) prelude.push(...rest);
    else bodies.push(`// ${source}:${part.line}\n{\n${rest.join('')}\n}`);
  }
  const head: string[] = [];
  for (const [from, entry] of imports) {
    const spec = JSON.stringify(from);
    for (const name of entry.defaults) head.push(`import ${name} from ${spec};`);
    for (const ns of entry.namespaces) head.push(`import * as ${ns} from ${spec};`);
    const named = [...entry.named.values()].map((n) => `${n.typeOnly ? 'type ' : ''}${n.text}`);
    if (named.length > 0) head.push(`import { ${named.join(', ')} } from ${spec};`);
    if (entry.sideEffect && head.every((h) => !h.endsWith(`from ${spec};`))) head.push(`import ${spec};`);
  }
  return [`// The ts blocks of ${source}, checked by test/package.`, ...head, ...prelude, ...bodies, 'export {};', ''].join('\n');
}
