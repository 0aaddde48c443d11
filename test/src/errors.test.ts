/**
 * The error registry against its documentation, as fastify's
 * test/internals/errors.test.js does: docs/errors.md must list exactly the
 * codes of src/errors.ts, each with its class and HTTP status; and every code
 * the source tree throws or sends, the transport's included, is a registry code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FRAME_ERROR_CODES, FrameError } from '../../transport/codec/frame-error.js';
import { resolveLinkOptions } from '../../transport/options.js';
import type { RejectReason } from '../../transport/transport.js';
import { codes, isTallymeshError, type ErrorCode } from '../../src/errors.js';
import * as entry from '../../src/index.js';

const ROOT = new URL('../../', import.meta.url);

/** Every .ts file under `dir` (relative to the repository root). */
function sources(dir: string): string[] {
  return readdirSync(new URL(dir, ROOT), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`);
}

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

  it('holds every TALLYMESH_ERR_ code the source tree mentions', () => {
    const known = new Set(Object.keys(codes));
    const unknown: string[] = [];
    for (const file of ['crdt', 'transport', 'src', 'cli'].flatMap(sources)) {
      // Whole codes only: a pattern like TALLYMESH_ERR_FRAME_<REASON> or TALLYMESH_ERR_KEY_* is prose.
      for (const [code] of readFileSync(new URL(file, ROOT), 'utf8').matchAll(/TALLYMESH_ERR_[A-Z0-9_]*[A-Z0-9](?![\w<*…])/g)) {
        if (!known.has(code)) unknown.push(`${file}: ${code}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('recognises the transport’s frame errors, one registry code per reason, with the reason kept', () => {
    for (const [reason, code] of Object.entries(FRAME_ERROR_CODES) as Array<[RejectReason, ErrorCode]>) {
      const cause = new Error('inner');
      const err = new FrameError(reason, 'detail', { cause });
      expect(isTallymeshError(err, code)).toBe(true);
      expect(err).toMatchObject({ name: 'FrameError', reason, code, message: 'detail', statusCode: codes[code].statusCode });
      expect(err.cause).toBe(cause);
    }
    const frameCodes = Object.keys(codes).filter((c) => c.startsWith('TALLYMESH_ERR_FRAME_'));
    expect(frameCodes.sort()).toEqual(Object.values(FRAME_ERROR_CODES).sort());
  });

  it('recognises the transport’s option errors as the registry’s option errors', () => {
    const base = { nodeId: 'a', incarnation: 'i1', secret: '' };
    const range = (() => {
      try {
        return resolveLinkOptions({ ...base, maxFrameBytes: 10 });
      } catch (err) {
        return err;
      }
    })();
    expect(isTallymeshError(range, 'TALLYMESH_ERR_OPTION_RANGE')).toBe(true);
    expect(range).toBeInstanceOf(RangeError);
    expect((range as Error).message).toBe('Option "maxFrameBytes" must be an integer from 1024 to 2147483647, got 10');
    expect(() => resolveLinkOptions({ ...base, nodeId: 7 as unknown as string })).toThrow(
      expect.objectContaining({ name: 'TypeError [TALLYMESH_ERR_OPTION_TYPE]', code: 'TALLYMESH_ERR_OPTION_TYPE' }),
    );
    // A secret of the wrong type is described by its type only, never shown.
    expect(() => resolveLinkOptions({ ...base, secret: 12345678 as unknown as string })).toThrow(/got number$/);
  });

  it('is exported from the package entry', () => {
    expect(entry.codes).toBe(codes);
    expect(entry.isTallymeshError).toBe(isTallymeshError);
  });
});
