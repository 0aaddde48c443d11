/**
 * A horizontal stacked bar per category, each bar the whole (100 %) split
 * into its parts — e.g. a fault's requests: admitted, denied, unavailable,
 * errors — with a note after it (e.g. "exact, admitted 1.07× limit").
 */
import { approxTextWidth, chartHeading, INK, legend, line, MARGIN, MUTED, rect, svgDocument, text, titled } from './svg.js';

/** One part of every bar. */
export interface StackPart {
  name: string;
  color: string;
}

/** One bar: a value per part (same order as the parts), and its note. */
export interface StackRow {
  label: string;
  values: readonly number[];
  note?: string;
  /** Colour of the note: e.g. red when the row failed its check. */
  noteColor?: string;
}

/** A whole chart. */
export interface StackedBarChart {
  title: string;
  /** Lines under the title. */
  subtitle?: readonly string[];
  parts: readonly StackPart[];
  rows: readonly StackRow[];
}

const BAR_WIDTH = 360;
const BAR_HEIGHT = 14;
const ROW_HEIGHT = 22;

/**
 * Renders `chart` as an SVG document; each bar's parts are drawn as shares of
 * the bar's total (a row whose total is 0 draws an empty outline).
 *
 * @example
 * renderStackedBarChart({ title: 'outcomes', parts: [{ name: 'ok', color: '#38a169' }], rows: [{ label: 'a', values: [5] }] });
 */
export function renderStackedBarChart(chart: StackedBarChart): string {
  const labelWidth = Math.ceil(Math.max(60, ...chart.rows.map((r) => approxTextWidth(r.label))) + 10);
  const noteWidth = Math.ceil(Math.max(0, ...chart.rows.map((r) => approxTextWidth(r.note ?? '', 11))) + 10);
  const heading = chartHeading(chart.title, chart.subtitle);
  const width = Math.ceil(Math.max(MARGIN + labelWidth + BAR_WIDTH + 8 + noteWidth + MARGIN, heading.width));
  const body = heading.svg;
  let y = heading.y;
  body.push(...legend(MARGIN, (y += 20), chart.parts).svg);
  const top = y + 14;
  const x0 = MARGIN + labelWidth;
  chart.rows.forEach((row, i) => {
    const y0 = top + i * ROW_HEIGHT;
    body.push(text(x0 - 8, y0 + BAR_HEIGHT - 3, row.label, { 'text-anchor': 'end', fill: INK }));
    const total = row.values.reduce((a, b) => a + Math.max(0, b), 0);
    let at = x0;
    if (total > 0) {
      row.values.forEach((v, k) => {
        const w = (Math.max(0, v) / total) * BAR_WIDTH;
        if (w <= 0) return;
        const part = chart.parts[k];
        const pct = Math.round((Math.max(0, v) / total) * 1000) / 10;
        body.push(titled(rect(at, y0, w, BAR_HEIGHT, { fill: part.color }), `${row.label} — ${part.name}: ${v} (${pct} %)`));
        at += w;
      });
    }
    body.push(rect(x0, y0, BAR_WIDTH, BAR_HEIGHT, { fill: 'none', stroke: MUTED, 'stroke-width': 0.5 }));
    if (row.note) body.push(text(x0 + BAR_WIDTH + 8, y0 + BAR_HEIGHT - 3, row.note, { fill: row.noteColor ?? MUTED, 'font-size': 11 }));
  });
  const bottom = top + chart.rows.length * ROW_HEIGHT;
  for (const pct of [0, 25, 50, 75, 100]) {
    const x = x0 + (pct / 100) * BAR_WIDTH;
    body.push(line(x, bottom - 4, x, bottom, { stroke: MUTED }), text(x, bottom + 10, `${pct} %`, { 'text-anchor': 'middle', fill: MUTED, 'font-size': 10 }));
  }
  return svgDocument(width, bottom + 14 + MARGIN, chart.title, body);
}
