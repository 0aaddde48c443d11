// The cluster as this node sees it (GET /v1/cluster): this node in the
// middle, each peer around it, the link between them coloured by its state;
// under each peer its link state, the replication lag and its clock offset.
import { formatMs, oneOf, svg } from './dom.js';

const WIDTH = 420;
const HEIGHT = 300;
const STATES = ['live', 'syncing', 'suspect', 'skewed', 'down'];

function nodeGroup(id, title, x, y, className, details = []) {
  return svg('g', { className: `node ${className}`, attrs: { 'data-node-id': id, transform: `translate(${x} ${y})` } }, [
    svg('title', { text: title }),
    svg('circle', { attrs: { r: 22 } }),
    svg('text', { className: 'node-label', text: id, attrs: { y: 38, 'text-anchor': 'middle' } }),
    ...details.map((line, i) => svg('text', { className: 'node-detail', text: line, attrs: { y: 53 + 13 * i, 'text-anchor': 'middle' } })),
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
  const rx = WIDTH / 2 - 60;
  const ry = HEIGHT / 2 - 70;
  const peers = Array.isArray(cluster.peers) ? cluster.peers : [];
  const links = [];
  const nodes = [];
  peers.forEach((p, i) => {
    // Turned by half a step, so no peer sits straight above or below this node, where its label would cross a link.
    const step = (2 * Math.PI) / Math.max(1, peers.length);
    const angle = step * i - Math.PI / 2 + step / 2;
    const x = cx + rx * Math.cos(angle);
    const y = cy + ry * Math.sin(angle);
    const state = oneOf(p.state, STATES, 'unknown');
    links.push(
      svg('g', { className: `link link-${state}`, attrs: { 'data-peer': p.nodeId, 'data-state': state } }, [
        svg('title', { text: `link to ${p.nodeId}: ${state}` }),
        svg('line', { attrs: { x1: cx, y1: cy, x2: x, y2: y } }),
      ]),
    );
    const details = [`${state}${p.reachable ? '' : ', unreachable'}`, `lag ${formatMs(p.replicationLagMs)}`, `clock ${p.clockOffsetMs > 0 ? '+' : ''}${formatMs(p.clockOffsetMs)}`];
    nodes.push(nodeGroup(p.nodeId, `${p.nodeId} at ${p.address}`, x, y, `peer state-${state}`, details));
  });
  const self = cluster.node;
  nodes.push(nodeGroup(self.nodeId, `${self.nodeId} at ${self.address} (this node)`, cx, cy, `self ${self.ready ? 'state-live' : 'state-syncing'}`));
  container.replaceChildren(
    svg('svg', { attrs: { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': `cluster of ${peers.length + 1} nodes` } }, [...links, ...nodes]),
  );
}
