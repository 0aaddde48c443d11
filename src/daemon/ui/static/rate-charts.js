// Decisions and denials per second, per limiter, as live uPlot charts. The
// rates are differences of this node's counters in GET /v1/cluster between
// two polls, divided by the time between them.
import { h } from './dom.js';

/** Points kept per chart: two minutes at one poll a second. */
const MAX_POINTS = 120;
const HEIGHT = 170;

class LimiterChart {
  /** @param {HTMLElement} parent @param {string} name */
  constructor(parent, name) {
    this.data = [[], [], []];
    this.el = h('div', { className: 'chart', attrs: { 'data-limiter': name, 'data-points': 0 } }, [h('h3', { text: name })]);
    parent.append(this.el);
    const width = Math.max(280, parent.clientWidth - 8);
    this.plot = new window.uPlot(
      {
        width,
        height: HEIGHT,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{ stroke: '#9aa4b2', grid: { stroke: '#2a313c' } }, { stroke: '#9aa4b2', grid: { stroke: '#2a313c' }, size: 56 }],
        series: [{}, { label: 'allowed/s', stroke: '#3fb950', width: 2 }, { label: 'denied/s', stroke: '#f85149', width: 2 }],
      },
      this.data,
      this.el,
    );
  }

  push(atSec, allowedPerSec, deniedPerSec) {
    for (const [i, v] of [atSec, allowedPerSec, deniedPerSec].entries()) {
      this.data[i].push(v);
      if (this.data[i].length > MAX_POINTS) this.data[i].shift();
    }
    this.plot.setData(this.data);
    // What was drawn last, for people with screen readers and for the browser test.
    this.el.setAttribute('data-points', String(this.data[0].length));
    this.el.setAttribute('data-allowed-per-sec', String(allowedPerSec));
    this.el.setAttribute('data-denied-per-sec', String(deniedPerSec));
  }

  resize(width) {
    this.plot.setSize({ width: Math.max(280, width - 8), height: HEIGHT });
  }
}

/** One chart per limiter, fed with successive /v1/cluster answers. */
export class RateCharts {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    /** @type {Map<string, LimiterChart>} */
    this.charts = new Map();
    /** @type {Map<string, { at: number, allowed: number, denied: number }>} */
    this.last = new Map();
    window.addEventListener('resize', () => {
      for (const c of this.charts.values()) c.resize(this.container.clientWidth);
    });
  }

  /**
   * @param {number} atMs when the answer arrived
   * @param {Array<{ name: string, allowed: number, denied: number }>} limiters
   */
  update(atMs, limiters) {
    for (const l of limiters) {
      const prev = this.last.get(l.name);
      this.last.set(l.name, { at: atMs, allowed: l.allowed, denied: l.denied });
      let chart = this.charts.get(l.name);
      if (chart === undefined) {
        chart = new LimiterChart(this.container, l.name);
        this.charts.set(l.name, chart);
      }
      // A first answer, or counters that went back (the node restarted): no rate yet.
      if (prev === undefined || atMs <= prev.at || l.allowed < prev.allowed || l.denied < prev.denied) continue;
      const seconds = (atMs - prev.at) / 1000;
      chart.push(atMs / 1000, round((l.allowed - prev.allowed) / seconds), round((l.denied - prev.denied) / seconds));
    }
  }
}

function round(n) {
  return Math.round(n * 10) / 10;
}
