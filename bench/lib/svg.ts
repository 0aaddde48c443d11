/**
 * The smallest SVG writer the benchmark charts need, with no dependency:
 * escaping, fixed-precision coordinates (so the same figures always give the
 * same bytes, which the docs test compares), and the few shapes the charts
 * draw. Charts build strings with these and wrap them in {@link svgDocument}.
 */

/** Escapes text and attribute values for XML. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A coordinate or length with one decimal at most, `-0` as `0`: stable bytes for stable figures. */
export function coord(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`svg: coordinate ${n} is not finite`);
  const r = Math.round(n * 10) / 10;
  return String(r === 0 ? 0 : r);
}

type Attrs = Record<string, string | number | undefined>;

function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? coord(v) : escapeXml(v)}"`)
    .join('');
}

/** `<rect>`; negative widths or heights are clamped to 0. */
export function rect(x: number, y: number, width: number, height: number, extra: Attrs = {}): string {
  return `<rect${attrs({ x, y, width: Math.max(0, width), height: Math.max(0, height), ...extra })}/>`;
}

/** `<line>`. */
export function line(x1: number, y1: number, x2: number, y2: number, extra: Attrs = {}): string {
  return `<line${attrs({ x1, y1, x2, y2, ...extra })}/>`;
}

/** `<circle>`. */
export function circle(cx: number, cy: number, r: number, extra: Attrs = {}): string {
  return `<circle${attrs({ cx, cy, r, ...extra })}/>`;
}

/** `<polyline>` through `points` ([x, y] pairs), unfilled unless `extra` says otherwise. */
export function polyline(points: ReadonlyArray<readonly [number, number]>, extra: Attrs = {}): string {
  return `<polyline${attrs({ points: points.map(([x, y]) => `${coord(x)},${coord(y)}`).join(' '), fill: 'none', ...extra })}/>`;
}

/** `<text>` holding `content` (escaped). */
export function text(x: number, y: number, content: string, extra: Attrs = {}): string {
  return `<text${attrs({ x, y, ...extra })}>${escapeXml(content)}</text>`;
}

/** `<title>` inside an element: the tooltip a browser shows, and what a screen reader reads. */
export function titled(element: string, title: string): string {
  const close = element.endsWith('/>') ? element.length - 2 : element.indexOf('>');
  const name = /^<(\w+)/.exec(element)?.[1] ?? 'g';
  return `${element.slice(0, close)}><title>${escapeXml(title)}</title></${name}>`;
}

/** A whole SVG document: its size, an accessible title, a white background and the body. */
export function svgDocument(width: number, height: number, title: string, body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${coord(width)}" height="${coord(height)}" viewBox="0 0 ${coord(width)} ${coord(height)}" role="img" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    rect(0, 0, width, height, { fill: '#ffffff' }),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** A legend: a swatch and a name per entry, laid out left to right from (x, y). Returns the elements and the width used. */
export function legend(x: number, y: number, entries: ReadonlyArray<{ name: string; color: string }>): { svg: string[]; width: number } {
  const svg: string[] = [];
  let at = x;
  for (const e of entries) {
    svg.push(rect(at, y - 9, 10, 10, { fill: e.color }), text(at + 14, y, e.name, { fill: '#333333' }));
    at += 14 + approxTextWidth(e.name) + 16;
  }
  return { svg, width: at - x };
}

/** Width of `s` at the 12 px sans-serif the charts use, estimated (SVG has no layout engine to ask). */
export function approxTextWidth(s: string, fontSize = 12): number {
  return s.length * fontSize * 0.58;
}

/** Text colours the charts share: ink for labels and figures, muted for axes and notes. */
export const INK = '#1a202c';
export const MUTED = '#4a5568';
/** Grid lines behind the figures. */
export const GRID = '#e2e8f0';
/** Space around every chart. */
export const MARGIN = 12;

/**
 * A chart's title and subtitle lines from the top left: the elements, the y
 * of the last line drawn, and the width they need (margins included).
 */
export function chartHeading(title: string, subtitle: readonly string[] = []): { svg: string[]; y: number; width: number } {
  let y = MARGIN + 14;
  const svg = [text(MARGIN, y, title, { 'font-size': 15, 'font-weight': 'bold', fill: INK })];
  for (const line of subtitle) svg.push(text(MARGIN, (y += 15), line, { fill: MUTED, 'font-size': 11 }));
  const width = 2 * MARGIN + Math.max(approxTextWidth(title, 15) * 1.1, ...subtitle.map((l) => approxTextWidth(l, 11)));
  return { svg, y, width };
}
