#!/usr/bin/env node
/**
 * Measures what importing a package costs a fresh process: the wall time of
 * `await import(specifier)` and the process's RSS right after, as medians over
 * several runs (each in its own `node` process, so nothing is cached in memory).
 *
 * Usage: node scripts/import-cost.mjs [--runs N] [--cwd DIR] specifier...
 * e.g.   node scripts/import-cost.mjs tallymesh tallymesh/http rate-limiter-flexible
 *
 * Run from the repository (or pass --cwd), so that `tallymesh` resolves to
 * this package by self-reference and competitors to node_modules.
 */
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
let runs = 15;
let cwd = process.cwd();
const specifiers = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--cwd') cwd = args[++i];
  else specifiers.push(args[i]);
}
if (specifiers.length === 0 || !(runs >= 1)) {
  console.error('usage: node scripts/import-cost.mjs [--runs N] [--cwd DIR] specifier...');
  process.exit(2);
}

const probe = (specifier) => `
const before = process.memoryUsage().rss;
const t0 = performance.now();
await import(${JSON.stringify(specifier)});
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, rss: process.memoryUsage().rss, baseRss: before }));
`;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
for (let r = 0; r < runs; r++) {
  // Interleave the specifiers so that drift in machine load hits them alike.
  for (const specifier of specifiers) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe(specifier)], { cwd, encoding: 'utf8' });
    rows.push({ specifier, ...JSON.parse(out) });
  }
}
console.log(`runs ${runs}, node ${process.version}, cwd ${cwd === process.cwd() ? '.' : cwd}`);
console.log('specifier'.padEnd(28), 'import ms (median)'.padStart(20), 'RSS MB after (median)'.padStart(23), 'RSS MB added'.padStart(14));
for (const specifier of specifiers) {
  const mine = rows.filter((x) => x.specifier === specifier);
  const ms = median(mine.map((x) => x.ms));
  const rss = median(mine.map((x) => x.rss)) / 2 ** 20;
  const added = median(mine.map((x) => x.rss - x.baseRss)) / 2 ** 20;
  console.log(specifier.padEnd(28), ms.toFixed(1).padStart(20), rss.toFixed(1).padStart(23), added.toFixed(1).padStart(14));
}
