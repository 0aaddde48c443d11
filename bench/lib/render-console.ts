/**
 * Console rendering of a result file: what `npm run bench` prints after each
 * scenario. Aligned plain-text tables, same grouping as the docs.
 */
import { formatMachine } from './machine.js';
import type { ResultFile } from './result-file.js';
import { formatFigure, formatTextTable, tablesFromRows } from './table.js';
import { formatVerdict, formatWanted } from './targets.js';

/** Console rendering of one result file: machine line, row tables, targets. */
export function formatResultFileForConsole(file: ResultFile): string {
  const parts = [`== ${file.scenario} ==`, formatMachine(file.machine)];
  parts.push(...tablesFromRows(file.results).map(formatTextTable));
  if (file.targets.length > 0) {
    parts.push(
      formatTextTable({
        columns: ['target', 'wanted', 'measured', 'verdict'],
        numeric: [false, true, true, false],
        rows: file.targets.map((t) => [
          t.description,
          formatWanted(t),
          t.actual === null ? '-' : formatFigure(t.actual),
          formatVerdict(t),
        ]),
      }),
    );
  }
  return parts.join('\n\n');
}
