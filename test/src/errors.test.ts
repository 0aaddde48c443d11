/**
 * The error registry against its documentation, as fastify's
 * test/internals/errors.test.js does: docs/errors.md must list exactly the
 * codes of src/errors.ts, each with its class and HTTP status.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codes, isTallymeshError, type ErrorCode } from '../../src/errors.js';
import * as entry from '../../src/index.js';

interface DocRow {
  code: string;
  className: string;
  status: number;
  when: string;
  todo: string;
}

function docRows(): DocRow[] {
  const md = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows: DocRow[] = [];
  for (const line of md.split('\n')) {
    const m = /^\|\s*`(TALLYMESH_ERR_[A-Z0-9_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m === null) continue;
    const cells = m[2].split('|').map((c) => c.trim());
    expect(cells, `row of ${m[1]} has 5 columns`).toHaveLength(4);
    rows.push({ code: m[1], className: cells[0], status: Number(cells[1]), when: cells[2], todo: cells[3] });
  }
  return rows;
}

function classOf(err: Error): string {
  if (err instanceof RangeError) return 'RangeError';
  if (err instanceof TypeError) return 'TypeError';
  return 'Error';
}

/** One instance of every registry error, built with placeholder arguments. */
function instances(): Array<[ErrorCode, Error & { code: string; statusCode: number }]> {
  return (Object.keys(codes) as ErrorCode[]).map((code) => [code, new codes[code]('a', 'b', 'c')]);
}

describe('error registry', () => {
  it('is documented in docs/errors.md: exactly its codes, once each', () => {
    const documented = docRows().map((r) => r.code);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual(Object.keys(codes).sort());
  });

  it('documents the class and HTTP status of every code, and when and what to do', () => {
    const rows = new Map(docRows().map((r) => [r.code, r]));
    for (const [code, err] of instances()) {
      const row = rows.get(code);
      expect(row, code).toBeDefined();
      expect(row?.className, code).toBe(classOf(err));
      expect(row?.status, code).toBe(err.statusCode);
      expect(row?.when.length, code).toBeGreaterThan(10);
      expect(row?.todo.length, code).toBeGreaterThan(10);
    }
  });

  it('names codes TALLYMESH_ERR_<AREA>_<PROBLEM>', () => {
    for (const code of Object.keys(codes)) expect(code).toMatch(/^TALLYMESH_ERR_[A-Z]+_[A-Z_]+$/);
  });

  it('builds errors of a built-in class with code, statusCode and a name like Node’s', () => {
    for (const [code, err] of instances()) {
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(codes[code].code).toBe(code);
      expect(err.name).toBe(`${classOf(err)} [${code}]`);
      expect(err.statusCode).toBeGreaterThanOrEqual(400);
      expect(err.statusCode).toBeLessThan(600);
      expect(err.message).not.toContain('%s');
      expect(err.stack).toContain(code);
    }
  });

  it('formats its arguments into the message and passes a trailing cause through', () => {
    const cause = new SyntaxError('Unexpected token');
    const err = new codes.TALLYMESH_ERR_HTTP_BAD_JSON('Unexpected token', { cause });
    expect(err.message).toBe('Request body is not valid JSON: Unexpected token');
    expect(err.cause).toBe(cause);
    const range = new codes.TALLYMESH_ERR_OPTION_RANGE('limit', 'an integer from 1 to 10', '0');
    expect(range.message).toBe('Option "limit" must be an integer from 1 to 10, got 0');
    expect(range.cause).toBeUndefined();
  });

  it('recognises its own errors, optionally by code', () => {
    const err = new codes.TALLYMESH_ERR_KEY_INVALID('""');
    expect(isTallymeshError(err)).toBe(true);
    expect(isTallymeshError(err, 'TALLYMESH_ERR_KEY_INVALID')).toBe(true);
    expect(isTallymeshError(err, 'TALLYMESH_ERR_COST_INVALID')).toBe(false);
    expect(isTallymeshError(new Error('x'))).toBe(false);
    expect(isTallymeshError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isTallymeshError(null)).toBe(false);
    expect(isTallymeshError('TALLYMESH_ERR_KEY_INVALID')).toBe(false);
  });

  it('is exported from the package entry', () => {
    expect(entry.codes).toBe(codes);
    expect(entry.isTallymeshError).toBe(isTallymeshError);
  });
});
