/**
 * Every property test replays: each `fc.assert` (and `fc.check`, `fc.sample`)
 * under `test/` gets its parameters from `fcParams()` (the shared seed, see
 * `fc.ts`) or names a `seed` itself. Found with the TypeScript parser, so a
 * call spread over many lines is read as one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const TEST_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SEEDED_CALLS = new Set(['fc.assert', 'fc.check', 'fc.sample']);

function unseededCalls(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && SEEDED_CALLS.has(node.expression.getText(source))) {
      const params = node.arguments[1]?.getText(source) ?? '';
      if (!/\bfcParams\(|\bseed\b/.test(params)) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
        found.push(`${relative(TEST_ROOT, file)}:${line + 1} ${node.expression.getText(source)} without a seed`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('fast-check seeds', () => {
  it('gives every property run under test/ a seed, so a failure replays', () => {
    const files = readdirSync(TEST_ROOT, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(TEST_ROOT, f));
    const withProperties = files.filter((f) => readFileSync(f, 'utf8').includes('fast-check'));
    expect(withProperties.length).toBeGreaterThan(10);
    expect(withProperties.flatMap(unseededCalls)).toEqual([]);
  });
});
