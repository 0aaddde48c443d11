/**
 * Plain-text tables and the number formats the CLI prints (bytes, ms,
 * rates). No colours, so output reads the same in a terminal, a pipe and a
 * CI log.
 *
 * @module
 */

/** A column: its header and whether its cells align right (numbers). */
export interface Column {
  header: string;
  right?: boolean;
}

/**
 * Formats rows under headers, columns padded to their widest cell and
 * separated by two spaces.
 *
 * @example
 * formatTable([{ header: 'NODE' }, { header: 'KEYS', right: true }], [['a', '12']]);
 * // NODE  KEYS
 * // a       12
 */
export function formatTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    columns
      .map((c, i) => (c.right === true ? (cells[i] ?? '').padStart(widths[i]) : (cells[i] ?? '').padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}

/** Formats a two-column key/value listing: labels padded to the longest. */
export function formatPairs(pairs: Array<[string, string]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** Milliseconds with a unit that keeps them short: `0.4 ms`, `12 ms`, `3.2 s`, `5.0 min`. */
export function formatMillis(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const a = Math.abs(ms);
  if (a < 10) return `${(Math.round(ms * 10) / 10).toFixed(1)} ms`;
  if (a < 1000) return `${Math.round(ms)} ms`;
  if (a < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** A signed offset: `+3 ms`, `-0.5 ms`, `0 ms`. */
export function formatOffset(ms: number): string {
  if (ms === 0) return '0 ms';
  return `${ms > 0 ? '+' : ''}${formatMillis(ms)}`;
}

/** `12345.6` → `12,346`. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A configured duration, exactly, in the units config files use: `60s`, `5m`, `1h`, `250ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
