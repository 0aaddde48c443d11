/**
 * Line charts as small multiples: one panel per figure (e.g. the most and the
 * least admitted in a window), in a grid (side by side by default) on the
 * same x axis, one line per series in each panel. The y axis is shared too,
 * so panels compare at a glance, unless a chart says its panels measure
 * different things. Reference lines across (the limit) and markers down (a
 * cut, a heal) are drawn in every panel, or in one. A series' points are
 * joined in x order; a series with one point is a dot. Deterministic: equal
 * charts give equal bytes.
 */
import { logAxis, rangeAxis, shortNumber, type Axis } from './axis.js';
import { approxTextWidth, chartHeading, circle, coord, GRID, INK, legend, line, MARGIN, MUTED, polyline, svgDocument, text, titled } from './svg.js';

/** One line. */
export interface LineSeries {
  name: string;
  color: string;
  /** Dashed (e.g. a competitor with a feature off). */
  dashed?: boolean;
  /** [x, y] pairs, in any order; joined in x order. */
  points: ReadonlyArray<readonly [number, number]>;
}

/** A horizontal reference line, e.g. the limit. */
export interface Across {
  y: number;
  label: string;
}

/** One figure. */
export interface LinePanel {
  title: string;
  series: readonly LineSeries[];
  /** Reference lines of this panel only. */
  across?: readonly Across[];
}

/** A whole chart. */
export interface LineChart {
  title: string;
  subtitle?: readonly string[];
  panels: readonly LinePanel[];
  xLabel: string;
  yLabel: string;
  /** `log` for figures spanning orders of magnitude (offered load); default linear. */
  xScale?: 'linear' | 'log';
  /** Ticks to label instead of the axis's own (e.g. exactly the loads measured). */
  xTicks?: readonly number[];
  /** Start the y axis at zero (counts) rather than near the smallest value (ratios). */
  yFromZero?: boolean;
  /** Each panel its own y axis (panels of different figures); default one for all. */
  ownY?: boolean;
  /** Panels per row; default all in one row. */
  columns?: number;
  formatX?: (v: number) => string;
  formatY?: (v: number) => string;
  /** Horizontal lines across every panel. */
  across?: readonly Across[];
  /** Vertical lines down every panel, e.g. a cut and a heal. */
  down?: ReadonlyArray<{ x: number; label: string }>;
  /** Pixels between the series of a panel, side by side, so dots at the same point do not hide each other (default 0). */
  dodge?: number;
  /** Dots at every point (default: only when no series has more than 12 points). */
  dots?: boolean;
  panelWidth?: number;
  panelHeight?: number;
}

const PANEL_GAP = 28;
const ROW_GAP = 16;
const Y_LABEL_ROOM = 46;
const INSET = 10;
const MARK = '#c53030';
const REFERENCE = '#2f855a';
/** A white outline under a label, so it stays readable where it crosses a line. */
const HALO = { stroke: '#ffffff', 'stroke-width': 3, 'paint-order': 'stroke' };

type Point = readonly [number, number];

function xAxisFor(chart: LineChart, points: readonly Point[]): Axis {
  const xs = [...points.map(([x]) => x), ...(chart.xTicks ?? []), ...(chart.down ?? []).map((d) => d.x)];
  const lo = xs.length > 0 ? Math.min(...xs) : 0;
  const hi = xs.length > 0 ? Math.max(...xs) : 1;
  return chart.xScale === 'log' ? logAxis(lo, hi) : rangeAxis(lo, hi);
}

function yAxisFor(chart: LineChart, points: readonly Point[], across: readonly Across[]): Axis {
  const ys = [...points.map(([, y]) => y), ...across.map((a) => a.y)];
  if (ys.length === 0) return rangeAxis(0, 1);
  return rangeAxis(chart.yFromZero ? 0 : Math.min(...ys), Math.max(...ys));
}

const pointsOf = (panels: readonly LinePanel[]): Point[] => panels.flatMap((p) => p.series.flatMap((s) => s.points));
const acrossOf = (chart: LineChart, panel: LinePanel): Across[] => [...(chart.across ?? []), ...(panel.across ?? [])];

/**
 * Renders `chart` as an SVG document.
 *
 * @example
 * renderLineChart({ title: 'ratio', xLabel: 'nodes', yLabel: '× limit', panels: [{ title: 'most', series: [{ name: 'local', color: '#00c', points: [[1, 1.02], [3, 1.06]] }] }] });
 */
export function renderLineChart(chart: LineChart): string {
  const panelWidth = chart.panelWidth ?? 260;
  const panelHeight = chart.panelHeight ?? 180;
  const columns = Math.max(1, Math.min(chart.columns ?? chart.panels.length, chart.panels.length));
  const formatX = chart.formatX ?? shortNumber;
  const formatY = chart.formatY ?? shortNumber;
  const xAxis = xAxisFor(chart, pointsOf(chart.panels));
  const sharedY = yAxisFor(chart, pointsOf(chart.panels), chart.panels.flatMap((p) => acrossOf(chart, p)));
  const xTicks = chart.xTicks ?? xAxis.ticks;
  const maxPoints = Math.max(0, ...chart.panels.flatMap((p) => p.series.map((s) => s.points.length)));
  const dots = chart.dots ?? maxPoints <= 12;

  const legendEntries = chart.panels
    .flatMap((p) => p.series.map((s) => ({ name: s.name, color: s.color })))
    .filter((e, i, list) => list.findIndex((o) => o.name === e.name && o.color === e.color) === i);
  const heading = chartHeading(chart.title, chart.subtitle);
  const body = heading.svg;
  let y = heading.y;
  if (legendEntries.length > 0) body.push(...legend(MARGIN, (y += 20), legendEntries).svg);
  const gridTop = y + 24;
  const rowHeight = 12 + panelHeight + 20 + ROW_GAP;
  const rows = Math.ceil(chart.panels.length / columns);

  for (let r = 0; r < rows; r++) {
    const labelY = gridTop + r * rowHeight + 12 + panelHeight / 2;
    body.push(text(MARGIN + 8, labelY, chart.yLabel, { 'text-anchor': 'middle', fill: MUTED, 'font-size': 11, transform: `rotate(-90 ${coord(MARGIN + 8)} ${coord(labelY)})` }));
  }

  chart.panels.forEach((panel, p) => {
    const x0 = MARGIN + Y_LABEL_ROOM + (p % columns) * (panelWidth + PANEL_GAP + Y_LABEL_ROOM);
    const titleY = gridTop + Math.floor(p / columns) * rowHeight;
    const top = titleY + 12;
    const bottom = top + panelHeight;
    const across = acrossOf(chart, panel);
    const yAxis = chart.ownY ? yAxisFor(chart, pointsOf([panel]), across) : sharedY;
    const px = (v: number): number => x0 + INSET + xAxis.at(v) * (panelWidth - 2 * INSET);
    const py = (v: number): number => bottom - yAxis.at(v) * panelHeight;
    body.push(text(x0, titleY, panel.title, { 'font-weight': 'bold', 'font-size': 11, fill: INK }));
    for (const t of yAxis.ticks) {
      body.push(line(x0, py(t), x0 + panelWidth, py(t), { stroke: GRID }), text(x0 - 6, py(t) + 4, formatY(t), { 'text-anchor': 'end', fill: MUTED, 'font-size': 10 }));
    }
    for (const t of xTicks) {
      body.push(line(px(t), top, px(t), bottom, { stroke: GRID }), text(px(t), bottom + 14, formatX(t), { 'text-anchor': 'middle', fill: MUTED, 'font-size': 10 }));
    }
    body.push(line(x0, top, x0, bottom, { stroke: MUTED }), line(x0, bottom, x0 + panelWidth, bottom, { stroke: MUTED }));
    for (const a of across) {
      body.push(
        line(x0, py(a.y), x0 + panelWidth, py(a.y), { stroke: REFERENCE, 'stroke-dasharray': '6 3' }),
        text(x0 + panelWidth - 2, py(a.y) - 4, a.label, { 'text-anchor': 'end', fill: REFERENCE, 'font-size': 10, ...HALO }),
      );
    }
    for (const d of chart.down ?? []) {
      body.push(line(px(d.x), top, px(d.x), bottom, { stroke: MARK, 'stroke-dasharray': '3 3' }), text(px(d.x) + 3, top + 10, d.label, { fill: MARK, 'font-size': 10, ...HALO }));
    }
    panel.series.forEach((s, k) => {
      const shift = (k - (panel.series.length - 1) / 2) * (chart.dodge ?? 0);
      const at = (vx: number): number => px(vx) + shift;
      const points = [...s.points].sort((a, b) => a[0] - b[0]);
      const dash = s.dashed ? { 'stroke-dasharray': '5 3' } : {};
      if (points.length > 1) {
        body.push(titled(polyline(points.map(([vx, vy]) => [at(vx), py(vy)] as const), { stroke: s.color, 'stroke-width': 2, ...dash }), `${panel.title}, ${s.name}`));
      }
      if (dots || points.length === 1) {
        for (const [vx, vy] of points) body.push(titled(circle(at(vx), py(vy), 3.5, { fill: s.color }), `${panel.title}, ${s.name}: ${formatX(vx)} → ${formatY(vy)}`));
      }
    });
  });

  const rowWidth = columns * (panelWidth + PANEL_GAP + Y_LABEL_ROOM) - PANEL_GAP;
  const xLabelY = gridTop + rows * rowHeight - ROW_GAP + 12;
  body.push(text(MARGIN + Y_LABEL_ROOM + (rowWidth - Y_LABEL_ROOM) / 2, xLabelY, chart.xLabel, { 'text-anchor': 'middle', fill: MUTED, 'font-size': 11 }));
  const width = Math.ceil(Math.max(MARGIN + rowWidth + MARGIN, heading.width, 2 * MARGIN + approxTextWidth(chart.xLabel, 11)));
  return svgDocument(width, xLabelY + 8 + MARGIN, chart.title, body);
}
