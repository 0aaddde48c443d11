// The cluster as this node sees it (GET /v1/cluster): this node in the
// middle, each peer around it, the link between them coloured by its state
// and labelled with the replication lag and the peer's clock offset.
import { formatMs, oneOf, svg } from './dom.js';

const WIDTH = 420;
const HEIGHT = 300;
const STATES = ['live', 'syncing', 'suspect', 'skewed', 'down'];

function nodeGroup(id, title, x, y, className) {
  return svg('g', { className: `node ${className}`, attrs: { 'data-node-id': id, transform: `translate(${x} ${y})` } }, [
    svg('title', { text: title }),
    svg('circle', { attrs: { r: 22 } }),
    svg('text', { className: 'node-label', text: id, attrs: { y: 38, 'text-anchor': 'middle' } }),
  ]);
}

/**
 * Draws `cluster` into `container` (replacing what was there).
 * @param {HTMLElement} container
 * @param {{ node: { nodeId: string, address: string, ready: boolean }, peers: Array<{ nodeId: string, address: string, state: string, reachable: boolean, clockOffsetMs: number, replicationLagMs: number }> }} cluster
 */
export function renderClusterGraph(container, cluster) {
  const cx = WIDTH / 2;
  const cy = HEIGHT / 2 - 10;
  const radius = Math.min(WIDTH, HEIGHT) / 2 - 50;
  const peers = Array.isArray(cluster.peers) ? cluster.peers : [];
  const links = [];
  const nodes = [];
  peers.forEach((p, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, peers.length) - Math.PI / 2;
    const x = cx + radius * Math.cos(angle);
    const y = cy + radius * Math.sin(angle);
    const state = oneOf(p.state, STATES, 'unknown');
    links.push(
      svg('g', { className: `link link-${state}`, attrs: { 'data-peer': p.nodeId, 'data-state': state } }, [
        svg('line', { attrs: { x1: cx, y1: cy, x2: x, y2: y } }),
        svg('text', {
          className: 'link-label',
          text: `${state} · lag ${formatMs(p.replicationLagMs)} · clock ${p.clockOffsetMs >= 0 ? '+' : ''}${formatMs(p.clockOffsetMs)}`,
          attrs: { x: (cx + x) / 2, y: (cy + y) / 2 - 6, 'text-anchor': 'middle' },
        }),
      ]),
    );
    nodes.push(nodeGroup(p.nodeId, `${p.nodeId} at ${p.address}: ${state}${p.reachable ? '' : ', unreachable'}`, x, y, `peer state-${state}`));
  });
  const self = cluster.node;
  nodes.push(nodeGroup(self.nodeId, `${self.nodeId} at ${self.address} (this node)`, cx, cy, `self ${self.ready ? 'state-live' : 'state-syncing'}`));
  container.replaceChildren(
    svg('svg', { attrs: { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': `cluster of ${peers.length + 1} nodes` } }, [...links, ...nodes]),
  );
}
