/**
 * Tables of result rows, for the console (aligned plain text) and for the docs
 * (GitHub markdown). Rows of one scenario have different shapes (throughput,
 * memory, latency, ratios), so rows are first grouped by their set of figures:
 * one table per shape shows every figure without a sea of empty cells.
 */
import type { ResultRow } from './scenario.js';
import { isSeriesFigure } from './series-figure.js';

/** A rectangular table: header cells plus rows of already-formatted cells. */
export interface Table {
  columns: string[];
  rows: string[][];
  /** Per column: right-align (numbers) or left-align (labels). */
  numeric: boolean[];
}

/**
 * Groups rows that have the same figures in the same order, keeping the order
 * in which shapes first appear, and formats each group as a {@link Table}.
 * Series figures (series-figure.ts) are left out: they are drawn, not tabled.
 */
export function tablesFromRows(rows: readonly ResultRow[]): Table[] {
  const groups = new Map<string, ResultRow[]>();
  for (const row of rows) {
    const shape = Object.keys(row).filter((k) => !isSeriesFigure(k)).join('\u0000');
    const group = groups.get(shape);
    if (group) group.push(row);
    else groups.set(shape, [row]);
  }
  return [...groups.values()].map((group) => {
    const columns = Object.keys(group[0]).filter((k) => !isSeriesFigure(k));
    return {
      columns,
      rows: group.map((row) => columns.map((c) => formatFigure(row[c]))),
      numeric: columns.map((c) => group.every((row) => typeof row[c] === 'number')),
    };
  });
}

/**
 * Formats a figure for humans: integers and large values with thousands
 * separators, mid-range values with two decimals (ratios), small values with
 * three significant digits. The JSON keeps the raw number.
 */
export function formatFigure(value: number | string | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (Number.isInteger(value) || abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(3);
}

/** Renders a table as aligned plain text with a dashed rule under the header. */
export function formatTextTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (table.numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

/** Renders a table as GitHub-flavoured markdown; numeric columns right-aligned. */
export function formatMarkdownTable(table: Table): string {
  const cell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const row = (cells: string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${table.numeric.map((n) => (n ? '---:' : ':---')).join('|')}|`;
  return [row(table.columns), rule, ...table.rows.map(row)].join('\n');
}
