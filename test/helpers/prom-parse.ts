/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/), for tests.
 *
 * No maintained, typed parser exists on npm (`parse-prometheus-text-format`
 * has one release, from 2024, and no types), so this follows the format
 * description and refuses, with the line number, everything it forbids:
 * bad metric or label names, bad escapes, duplicate or late `# TYPE` and
 * `# HELP` lines, a family's lines interleaved with another's, duplicate
 * series, histograms without a `+Inf` bucket or with buckets that decrease
 * or disagree with `_count`, and text not ending in a line feed.
 */

export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

export interface PromFamily {
  name: string;
  type: PromType;
  help?: string;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Values are what Go's strconv.ParseFloat accepts (the format says so): decimal floats,
// and, ignoring case, signed "Inf"/"Infinity" and unsigned "NaN". prom-client writes NaN as
// "Nan" (the event-loop lag mean before the first sample), which Prometheus itself accepts.
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;
const TYPES: readonly PromType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

class PromParseError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'PromParseError';
  }
}

function parseFloatStrict(text: string, line: number): number {
  if (!FLOAT.test(text)) throw new PromParseError(line, `invalid value ${JSON.stringify(text)}`);
  if (/^nan$/i.test(text)) return NaN;
  if (/inf/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** Unescapes a HELP docstring (only `\\` and `\n` are defined). */
function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new PromParseError(line, `invalid escape \\${c} in HELP`);
  });
}

/** Parses `{name="value",...}` starting at `pos`; returns the labels and the position after `}`. */
function parseLabels(text: string, pos: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = pos + 1; // after '{'
  for (;;) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const nameStart = i;
    while (i < text.length && /[a-zA-Z0-9_]/.test(text[i])) i++;
    const name = text.slice(nameStart, i);
    if (!LABEL_NAME.test(name)) throw new PromParseError(line, `invalid label name ${JSON.stringify(name)}`);
    if (name.startsWith('__')) throw new PromParseError(line, `label name ${name} is reserved`);
    if (name in labels) throw new PromParseError(line, `duplicate label ${name}`);
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] !== '=') throw new PromParseError(line, `expected "=" after label ${name}`);
    i++;
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] !== '"') throw new PromParseError(line, `expected a quoted value for label ${name}`);
    i++;
    let value = '';
    for (;;) {
      if (i >= text.length) throw new PromParseError(line, `unterminated value of label ${name}`);
      const c = text[i++];
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i++];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new PromParseError(line, `invalid escape \\${e ?? ''} in label ${name}`);
      } else value += c;
    }
    labels[name] = value;
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new PromParseError(line, `expected "," or "}" after label ${name}`);
  }
}

/** The family a sample name belongs to, given the TYPEs declared so far. */
function familyOf(name: string, types: Map<string, PromType>): string {
  for (const [suffix, owners] of [
    ['_bucket', ['histogram']],
    ['_sum', ['histogram', 'summary']],
    ['_count', ['histogram', 'summary']],
  ] as const) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const type = types.get(base);
      if (type !== undefined && (owners as readonly string[]).includes(type)) return base;
    }
  }
  return name;
}

function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  const groupOf = (labels: Record<string, string>) => {
    const { le: _le, ...rest } = labels;
    const id = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(id);
    if (g === undefined) groups.set(id, (g = { buckets: [] }));
    return g;
  };
  for (const s of f.samples) {
    const g = groupOf(s.labels);
    if (s.name === `${f.name}_bucket`) {
      if (s.labels.le === undefined) throw new Error(`${f.name}: a bucket without "le"`);
      g.buckets.push([parseFloatStrict(s.labels.le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) g.count = s.value;
    else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else throw new Error(`${f.name}: unexpected sample ${s.name} in a histogram`);
  }
  for (const g of groups.values()) {
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.length === 0 || sorted[sorted.length - 1][0] !== Infinity) throw new Error(`${f.name}: no le="+Inf" bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i][1] < sorted[i - 1][1]) throw new Error(`${f.name}: bucket counts decrease at le=${sorted[i][0]}`);
    }
    if (g.count === undefined || g.sum === undefined) throw new Error(`${f.name}: _count or _sum missing`);
    if (g.count !== sorted[sorted.length - 1][1]) throw new Error(`${f.name}: _count differs from the +Inf bucket`);
  }
}

/**
 * Parses an exposition into its families, by name. Throws on the first
 * violation of the format.
 */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new PromParseError(0, 'the exposition must end with a line feed');
  const families = new Map<string, PromFamily>();
  const types = new Map<string, PromType>();
  const seriesSeen = new Set<string>();
  const finished = new Set<string>();
  let current: string | null = null;
  const enter = (name: string, line: number): PromFamily => {
    if (current !== name) {
      if (finished.has(name)) throw new PromParseError(line, `lines of ${name} are not grouped together`);
      if (current !== null) finished.add(current);
      current = name;
    }
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { name, type: types.get(name) ?? 'untyped', samples: [] }));
    return f;
  };
  const lines = text.split('\n');
  lines.pop(); // after the final line feed
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
      if (m === null) return; // a plain comment
      const [, keyword, name, rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new PromParseError(line, `invalid metric name ${JSON.stringify(name)}`);
      if (keyword === 'TYPE') {
        if (types.has(name)) throw new PromParseError(line, `second TYPE for ${name}`);
        if (families.get(name)?.samples.length) throw new PromParseError(line, `TYPE for ${name} after its samples`);
        if (!TYPES.includes(rest.trim() as PromType)) throw new PromParseError(line, `unknown type ${JSON.stringify(rest)}`);
        types.set(name, rest.trim() as PromType);
        enter(name, line).type = rest.trim() as PromType;
      } else {
        const f = enter(name, line);
        if (f.help !== undefined) throw new PromParseError(line, `second HELP for ${name}`);
        f.help = unescapeHelp(rest, line);
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (nameMatch === null) throw new PromParseError(line, `invalid metric name at ${JSON.stringify(raw.slice(0, 20))}`);
    const name = nameMatch[0];
    let pos = name.length;
    let labels: Record<string, string> = {};
    if (raw[pos] === '{') ({ labels, end: pos } = parseLabels(raw, pos, line));
    const fields = raw.slice(pos).trim().split(/[ \t]+/);
    if (!/^[ \t]/.test(raw.slice(pos)) || fields.length < 1 || fields.length > 2 || fields[0] === '') {
      throw new PromParseError(line, 'expected a value and an optional timestamp after the series');
    }
    const value = parseFloatStrict(fields[0], line);
    let timestampMs: number | undefined;
    if (fields.length === 2) {
      if (!/^-?\d+$/.test(fields[1])) throw new PromParseError(line, `invalid timestamp ${fields[1]}`);
      timestampMs = Number(fields[1]);
    }
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seriesSeen.has(series)) throw new PromParseError(line, `duplicate series ${series}`);
    seriesSeen.add(series);
    const f = enter(familyOf(name, types), line);
    if (f.type === 'counter' && !(value >= 0)) throw new PromParseError(line, `counter ${name} is ${value}`);
    f.samples.push(timestampMs === undefined ? { name, labels, value } : { name, labels, value, timestampMs });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** The value of the sample `name` whose labels include `labels` (undefined when absent). */
export function sampleValue(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
