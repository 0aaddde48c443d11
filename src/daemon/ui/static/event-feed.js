// The last events of /v1/events, newest first: membership changes, clock
// skew, overflows, readiness, gaps, and the sampled denials.
import { h, oneOf } from './dom.js';

const KEPT = 50;
const TYPES = ['denied', 'peer', 'skew', 'overflow', 'ready', 'gap'];

/** One line of text for an event's data. */
function describe(type, d) {
  switch (type) {
    case 'denied':
      return `${d.limiter}: key ${d.keyHash} denied (cost ${d.cost}, retry in ${d.retryAfterMs} ms)${d.suppressed > 0 ? `, ${d.suppressed} more not sent` : ''}`;
    case 'peer':
      return `peer ${d.nodeId} (${d.address}) is ${d.state}${d.reason ? `: ${d.reason}` : ''}`;
    case 'skew':
      return `peer ${d.nodeId} refused: clock ${d.offsetMs} ms ahead`;
    case 'overflow':
      return `${d.limiter} overflowed (key ${d.keyHash}): new keys ${d.policy === 'deny' ? 'denied' : 'admitted uncounted'}`;
    case 'ready':
      return 'this node is ready';
    case 'gap':
      return `missed events (${d.reason})`;
    default:
      return JSON.stringify(d);
  }
}

export class EventFeed {
  /** @param {HTMLOListElement} list */
  constructor(list) {
    this.list = list;
  }

  /** @param {string} type @param {Record<string, unknown>} data */
  add(type, data) {
    const kind = oneOf(type, TYPES, 'other');
    const at = typeof data.at === 'number' ? new Date(data.at).toLocaleTimeString() : '';
    this.list.prepend(
      h('li', { className: `event event-${kind}` }, [h('time', { text: at }), h('span', { className: `badge badge-${kind}`, text: type }), h('span', { text: describe(type, data) })]),
    );
    while (this.list.children.length > KEPT) this.list.lastElementChild?.remove();
  }
}
