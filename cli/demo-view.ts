/**
 * The demo's terminal output: a live per-node table refreshed in place on a
 * terminal (cursor up, clear to the end of the screen, redraw) or printed as
 * plain periodic blocks when stdout is a pipe or a CI log; and the summary.
 *
 * @module
 */
import type { ClusterStatus } from '../src/daemon/index.js';
import { formatCount, formatMillis, formatOffset, formatTable } from './format-table.js';

/** One daemon as the demo last saw it through `GET /v1/cluster`. */
export interface NodeSample {
  id: string;
  url: string;
  /** Null when the last poll failed. */
  status: ClusterStatus | null;
  error: string | null;
  /** Decisions per second the daemon took since the previous poll. */
  rate: number;
}

/** Decisions a daemon has taken, over all its limiters. */
export function decisionsOf(status: ClusterStatus): { allowed: number; denied: number } {
  let allowed = 0;
  let denied = 0;
  for (const l of status.limiters) {
    allowed += l.allowed;
    denied += l.denied;
  }
  return { allowed, denied };
}

/** The value of largest magnitude, or null for none. */
function extreme(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a));
}

/** The per-node table: decisions/s, admitted/denied, keys, peers, replication lag and clock offset. */
export function formatNodes(samples: NodeSample[]): string {
  return formatTable(
    [
      { header: 'NODE' },
      { header: 'URL' },
      { header: 'DECISIONS/S', right: true },
      { header: 'ADMITTED', right: true },
      { header: 'DENIED', right: true },
      { header: 'KEYS', right: true },
      { header: 'PEERS', right: true },
      { header: 'REPL LAG', right: true },
      { header: 'CLOCK OFFSET', right: true },
    ],
    samples.map((s) => {
      if (s.status === null) return [s.id, s.url, '-', '-', '-', '-', '-', '-', `unreachable: ${s.error ?? ''}`];
      const d = decisionsOf(s.status);
      const reachable = s.status.peers.filter((p) => p.reachable);
      const lag = extreme(reachable.map((p) => p.replicationLagMs));
      const offset = extreme(reachable.map((p) => p.clockOffsetMs));
      return [
        s.id,
        s.url,
        formatCount(s.rate),
        formatCount(d.allowed),
        formatCount(d.denied),
        formatCount(s.status.limiters.reduce((n, l) => n + l.keys, 0)),
        `${reachable.length}/${s.status.peers.length}`,
        lag === null ? '-' : formatMillis(lag),
        offset === null ? '-' : formatOffset(offset),
      ];
    }),
  );
}

/**
 * Writes a block of text that replaces the previous one on a terminal, or —
 * when the stream is not a terminal — prints it at most every `plainEveryMs`.
 */
export class LiveView {
  #out: NodeJS.WriteStream;
  #tty: boolean;
  #plainEveryMs: number;
  #lines = 0;
  #lastPlain = -Infinity;

  constructor(out: NodeJS.WriteStream, plainEveryMs = 2000) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#plainEveryMs = plainEveryMs;
  }

  /** True when the block is redrawn in place. */
  get live(): boolean {
    return this.#tty;
  }

  /** Shows `text` (several lines, no trailing newline); `force` prints it even between plain intervals. */
  update(text: string, force = false): void {
    if (this.#tty) {
      // Cursor up over the previous block, clear to the end of the screen, redraw.
      const up = this.#lines > 0 ? `\x1b[${this.#lines}A\r\x1b[J` : '';
      this.#out.write(`${up}${text}\n`);
      this.#lines = text.split('\n').length;
      return;
    }
    const now = performance.now();
    if (!force && now - this.#lastPlain < this.#plainEveryMs) return;
    this.#lastPlain = now;
    this.#out.write(`${text}\n\n`);
  }

  /** Stops redrawing: whatever comes next starts below the last block. */
  detach(): void {
    this.#lines = 0;
  }
}

/** One key in the agreement check. */
export interface KeyAgreement {
  key: string;
  sent: number;
  /** Hits admitted per the load generator's log. */
  admitted: number;
  /** What every node should say remains: max(0, limit − admitted). */
  expected: number;
  /** What each node's peek said remains (null: the peek failed). */
  remaining: Array<number | null>;
}

/** The demo's closing report. */
export interface DemoSummary {
  elapsedMs: number;
  sent: number;
  admitted: number;
  denied: number;
  errors: number;
  nodes: NodeSample[];
  keys: KeyAgreement[];
  /** Every node agrees with the truth on every key. */
  agreed: boolean;
  /** Ms from the end of the load to the start of the check that agreed (or the last one tried). */
  settledMs: number;
  limit: number;
}

/** Renders the summary: totals, the final per-node table, and the agreement check with sample keys. */
export function formatSummary(s: DemoSummary): string {
  const secs = s.elapsedMs / 1000;
  const bad = s.keys.filter((k) => k.remaining.some((r) => r !== k.expected));
  const agreement = s.agreed
    ? `all ${s.nodes.length} nodes agree on every one of the ${s.keys.length} keys, and their counts equal the load generator's own log of admitted hits (every key peeked on every node, ${formatMillis(s.settledMs)} after the load stopped)`
    : `NOT CONVERGED: ${bad.length} of ${s.keys.length} keys differ between nodes or from the load generator's log ${formatMillis(s.settledMs)} after the load stopped`;
  const hottest = s.keys.reduce((a, b) => (b.admitted > a.admitted ? b : a), s.keys[0]);
  const overshoot =
    hottest === undefined || hottest.admitted <= s.limit
      ? 'no key was admitted past its limit'
      : `the hottest key got ${formatCount(hottest.admitted)} hits admitted for a limit of ${formatCount(s.limit)} (${Math.round((hottest.admitted / s.limit) * 100)}%): each node decides locally and hears of the others' hits within a gossip interval or two`;
  const shown = [...s.keys].sort((a, b) => b.sent - a.sent);
  const sample = [...shown.slice(0, 5), ...shown.slice(-2), ...bad.slice(0, 5)].filter((k, i, all) => all.indexOf(k) === i);
  const keyTable = formatTable(
    [
      { header: 'KEY' },
      { header: 'REQUESTS', right: true },
      { header: 'ADMITTED HITS', right: true },
      { header: 'EXPECTED REMAINING', right: true },
      ...s.nodes.map((n) => ({ header: `${n.id} SAYS`, right: true })),
    ],
    sample.map((k) => [k.key, formatCount(k.sent), formatCount(k.admitted), formatCount(k.expected), ...k.remaining.map((r) => (r === null ? '?' : formatCount(r)))]),
  );
  return [
    `summary after ${secs.toFixed(1)} s`,
    `  decisions  ${formatCount(s.sent)} over HTTP (${formatCount(s.sent / Math.max(secs, 0.001))}/s): ${formatCount(s.admitted)} admitted, ${formatCount(s.denied)} denied, ${formatCount(s.errors)} errors`,
    `  agreement  ${agreement}`,
    `  accuracy   ${overshoot}`,
    '',
    formatNodes(s.nodes),
    '',
    `remaining per key (limit ${formatCount(s.limit)}; hottest, coldest${bad.length > 0 ? ', and those that differ' : ''}):`,
    keyTable,
  ].join('\n');
}
