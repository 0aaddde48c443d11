// The key hashes denied most often, counted from the `denied` events of
// /v1/events. Those are sampled (eventsDeniedPerSec a second), so the counts
// are of the denials seen, and the ranking is what the sample shows.
import { setRows } from './dom.js';

/** Distinct (limiter, key hash) pairs tracked; past it the least-seen half is forgotten. */
const MAX_TRACKED = 5000;
const SHOWN = 10;

export class DeniedKeys {
  /** @param {HTMLTableSectionElement} tbody */
  constructor(tbody) {
    this.tbody = tbody;
    /** @type {Map<string, { limiter: string, keyHash: string, count: number }>} */
    this.counts = new Map();
  }

  /** @param {{ limiter: string, keyHash: string }} e a `denied` event's data */
  add(e) {
    const id = `${e.limiter}\u0000${e.keyHash}`;
    const entry = this.counts.get(id) ?? { limiter: String(e.limiter), keyHash: String(e.keyHash), count: 0 };
    entry.count++;
    this.counts.set(id, entry);
    if (this.counts.size > MAX_TRACKED) {
      const sorted = [...this.counts.entries()].sort((a, b) => a[1].count - b[1].count);
      for (const [key] of sorted.slice(0, sorted.length / 2)) this.counts.delete(key);
    }
  }

  render() {
    const top = [...this.counts.values()].sort((a, b) => b.count - a.count).slice(0, SHOWN);
    setRows(this.tbody, top.map((e) => [[e.limiter], [e.keyHash, 'mono'], [e.count, 'num']]));
  }
}
