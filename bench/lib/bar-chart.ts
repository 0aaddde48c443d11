/**
 * Horizontal bar charts as small multiples: one row per category (e.g. a
 * competitor), one panel per figure (decisions/s, CPU per decision, latency),
 * each panel with its own axis, one bar per series in each row. A bar's colour
 * is its series' colour, or its category's when the series has none (to tell
 * tallymesh from its competitors). Missing values draw no bar and say "—".
 */
import { linearAxis, logAxis, shortNumber, type Axis } from './axis.js';
import { approxTextWidth, chartHeading, GRID, INK, legend, line, MARGIN, MUTED, rect, svgDocument, text, titled } from './svg.js';

/** One row of the chart. */
export interface BarCategory {
  label: string;
  /** Colour of this row's bars in series without a colour of their own. */
  color?: string;
  /** Starts a new block of rows, headed by this text (e.g. "one decision per call"). */
  section?: string;
}

/** One bar per category. */
export interface BarSeries {
  name: string;
  color?: string;
  /** One value per category, in the categories' order; `null` where there is none. */
  values: ReadonlyArray<number | null>;
}

/** One figure: its own axis, its series side by side in each row. */
export interface BarPanel {
  title: string;
  scale?: 'linear' | 'log';
  series: readonly BarSeries[];
  /** Text after each bar; defaults to {@link shortNumber}. */
  format?: (v: number) => string;
}

/** A whole chart. */
export interface BarChart {
  title: string;
  /** Lines under the title (e.g. the result files, machines and dates). */
  subtitle?: readonly string[];
  categories: readonly BarCategory[];
  panels: readonly BarPanel[];
  /** Legend entries (e.g. the category colours); series with a colour are added. */
  legend?: ReadonlyArray<{ name: string; color: string }>;
}

const PANEL_WIDTH = 260;
const PANEL_GAP = 24;
const BAR_HEIGHT = 12;
const BAR_GAP = 2;
const ROW_GAP = 8;
const SECTION_HEIGHT = 20;
const VALUE_ROOM = 48;
const DEFAULT_COLOR = '#718096';

function axisFor(panel: BarPanel): Axis {
  const values = panel.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  if (panel.scale === 'log') {
    const positive = values.filter((v) => v > 0);
    return logAxis(positive.length > 0 ? Math.min(...positive) : 1, positive.length > 0 ? Math.max(...positive) : 10);
  }
  return linearAxis(values.length > 0 ? Math.max(...values) : 0);
}

/**
 * Renders `chart` as an SVG document (deterministic: equal charts give equal bytes).
 *
 * @example
 * renderBarChart({ title: 'ops/s', categories: [{ label: 'a' }], panels: [{ title: 'ops/s', series: [{ name: 'x', values: [3] }] }] });
 */
export function renderBarChart(chart: BarChart): string {
  const seriesMax = Math.max(1, ...chart.panels.map((p) => p.series.length));
  const rowHeight = seriesMax * BAR_HEIGHT + (seriesMax - 1) * BAR_GAP + ROW_GAP;
  const labelWidth = Math.ceil(Math.max(60, ...chart.categories.map((c) => approxTextWidth(c.label))) + 10);
  const legendEntries = [
    ...(chart.legend ?? []),
    ...chart.panels.flatMap((p) => p.series.filter((s) => s.color !== undefined).map((s) => ({ name: s.name, color: s.color as string }))),
  ].filter((e, i, all) => all.findIndex((o) => o.name === e.name && o.color === e.color) === i);

  const heading = chartHeading(chart.title, chart.subtitle);
  const body = heading.svg;
  let y = heading.y;
  if (legendEntries.length > 0) body.push(...legend(MARGIN, (y += 20), legendEntries).svg);
  const panelTitleY = (y += 22);
  const plotTop = y + 8;

  // Row positions, with room for section headings.
  const rowTops: number[] = [];
  const sections: Array<{ y: number; label: string }> = [];
  let at = plotTop;
  for (const c of chart.categories) {
    if (c.section !== undefined) {
      sections.push({ y: at + 13, label: c.section });
      at += SECTION_HEIGHT;
    }
    rowTops.push(at);
    at += rowHeight;
  }
  const plotBottom = at;
  const width = Math.ceil(
    Math.max(
      MARGIN + labelWidth + chart.panels.length * (PANEL_WIDTH + PANEL_GAP) - PANEL_GAP + MARGIN,
      heading.width,
      2 * MARGIN + Math.max(0, ...sections.map((sec) => approxTextWidth(sec.label) * 1.1)),
    ),
  );
  const height = plotBottom + 24 + MARGIN;

  chart.categories.forEach((c, i) => body.push(text(MARGIN + labelWidth - 8, rowTops[i] + (rowHeight - ROW_GAP) / 2 + 4, c.label, { 'text-anchor': 'end', fill: INK })));

  chart.panels.forEach((panel, p) => {
    const x0 = MARGIN + labelWidth + p * (PANEL_WIDTH + PANEL_GAP);
    const length = PANEL_WIDTH - VALUE_ROOM;
    const axis = axisFor(panel);
    const format = panel.format ?? shortNumber;
    body.push(text(x0, panelTitleY, panel.title, { 'font-weight': 'bold', 'font-size': 11, fill: INK }));
    for (const t of axis.ticks) {
      const x = x0 + axis.at(t) * length;
      body.push(line(x, plotTop - 2, x, plotBottom, { stroke: GRID }), text(x, plotBottom + 14, shortNumber(t), { 'text-anchor': 'middle', fill: MUTED, 'font-size': 10 }));
    }
    body.push(line(x0, plotTop - 2, x0, plotBottom, { stroke: MUTED }));
    chart.categories.forEach((c, i) => {
      panel.series.forEach((s, k) => {
        const v = s.values[i];
        const y0 = rowTops[i] + k * (BAR_HEIGHT + BAR_GAP);
        if (v === null || v === undefined || !Number.isFinite(v)) {
          body.push(text(x0 + 4, y0 + BAR_HEIGHT - 2, '—', { fill: MUTED, 'font-size': 10 }));
          return;
        }
        const w = axis.at(v) * length;
        const fill = s.color ?? c.color ?? DEFAULT_COLOR;
        // The value only: with several series, the legend names them by colour.
        const label = format(v);
        body.push(titled(rect(x0, y0, w, BAR_HEIGHT, { fill }), `${c.label} — ${panel.title}${panel.series.length > 1 ? ` (${s.name})` : ''}: ${format(v)}`));
        body.push(text(x0 + w + 4, y0 + BAR_HEIGHT - 2, label, { fill: INK, 'font-size': 10 }));
      });
    });
  });
  // Section headings last, on a white ground, so the panels' grid lines do not run through them.
  for (const sec of sections) {
    body.push(rect(MARGIN - 2, sec.y - 12, approxTextWidth(sec.label) * 1.1 + 4, 16, { fill: '#ffffff' }), text(MARGIN, sec.y, sec.label, { 'font-weight': 'bold', fill: MUTED }));
  }
  return svgDocument(width, height, chart.title, body);
}
