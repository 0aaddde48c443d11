/**
 * Evaluates the alert expressions docs/operations.md recommends against a
 * scrape parsed by `prom-parse.ts`, so a test can show that the documented
 * alert fires (and stays quiet) on a real daemon. It understands the subset
 * the docs use: `metric{label op "value", ...} > N` terms joined by `or`,
 * with `=`, `!=`, `=~` and `!~` matchers (regexes anchored, as PromQL's are).
 */
import type { PromFamily } from './prom-parse.js';

const TERM = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s*>\s*([0-9.]+)$/;
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*$/;

/** The series (as `name{labels}`) for which `expr` is true; empty when the alert does not fire. */
export function firingSeries(expr: string, families: Map<string, PromFamily>): string[] {
  const firing: string[] = [];
  for (const term of expr.split(/\s+or\s+/)) {
    const m = TERM.exec(term.trim());
    if (m === null) throw new Error(`alert term not understood: ${term}`);
    const [, name, matchers = '', threshold] = m;
    const tests = matchers
      .split(',')
      .filter((x) => x.trim() !== '')
      .map((x) => {
        const mm = MATCHER.exec(x);
        if (mm === null) throw new Error(`label matcher not understood: ${x}`);
        const [, label, op, value] = mm;
        const re = new RegExp(`^(?:${value})$`);
        return (labels: Record<string, string>): boolean => {
          const v = labels[label] ?? '';
          return op === '=' ? v === value : op === '!=' ? v !== value : op === '=~' ? re.test(v) : !re.test(v);
        };
      });
    const samples = [...families.values()].flatMap((f) => f.samples).filter((s) => s.name === name);
    if (samples.length === 0) throw new Error(`the alert reads ${name}, which /metrics does not export`);
    for (const s of samples) {
      if (tests.every((t) => t(s.labels)) && s.value > Number(threshold)) firing.push(`${name}${JSON.stringify(s.labels)}`);
    }
  }
  return firing;
}
