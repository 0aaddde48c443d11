// The dashboard: reads GET /v1/cluster and GET /readyz once a second and
// follows GET /v1/events (Server-Sent Events) live. On a node with an API
// token and no session yet, it asks for the token once and exchanges it for
// a session cookie (POST /ui/session); on the admin listener no token is asked.
import { renderClusterGraph } from './cluster-graph.js';
import { DeniedKeys } from './denied-keys.js';
import { formatMs, h, setRows } from './dom.js';
import { EventFeed } from './event-feed.js';
import { RateCharts } from './rate-charts.js';

const POLL_MS = 1000;
const EVENT_TYPES = ['denied', 'peer', 'skew', 'overflow', 'ready', 'gap'];

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // a proxy's HTML error page: treated as no answer
  }
  return { status: res.status, body };
}

function setFeedState(text, kind) {
  const badge = $('feed-state');
  badge.textContent = text;
  badge.className = `badge badge-${kind}`;
}

function renderReadiness(r) {
  const items = [h('p', { className: r.ready ? 'ok' : 'error', text: r.ready ? 'ready' : `not ready: ${r.reason ?? 'unknown'}` })];
  for (const d of Array.isArray(r.degraded) ? r.degraded : []) items.push(h('p', { className: 'warn', text: `degraded: ${d}` }));
  $('readiness').replaceChildren(...items);
}

function renderLimiters(limiters) {
  setRows(
    $('limiters').querySelector('tbody'),
    limiters.map((l) => [[l.name], [l.limit, 'num'], [formatMs(l.windowMs), 'num'], [l.keys, 'num'], [l.allowed, 'num'], [l.denied, 'num']]),
  );
}

function showLogin(message) {
  $('panels').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ?? '';
  setFeedState('signed out', 'wait');
  $('token').focus();
}

async function login(event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('token'));
  const res = await fetch('/ui/session', { method: 'POST', headers: { authorization: `Bearer ${input.value.trim()}` }, credentials: 'same-origin' });
  input.value = '';
  if (res.status === 204) {
    $('login').hidden = true;
    // The session cookie is HttpOnly: this page cannot see it, but it knows it just opened one.
    $('logout').hidden = false;
    start();
  } else {
    $('login-error').textContent = res.status === 401 ? 'That token is not the one this node expects.' : `The node answered HTTP ${res.status}.`;
  }
}

async function logout() {
  await fetch('/ui/session', { method: 'DELETE', credentials: 'same-origin' });
  location.reload();
}

let running = false;

function start() {
  if (running) return;
  running = true;
  $('panels').hidden = false;
  const graph = $('cluster-graph');
  const charts = new RateCharts($('rate-charts'));
  const denied = new DeniedKeys($('denied-keys').querySelector('tbody'));
  const feed = new EventFeed($('events'));

  let timer;
  const poll = async () => {
    clearTimeout(timer);
    try {
      const [cluster, ready] = await Promise.all([getJson('/v1/cluster'), getJson('/readyz')]);
      if (cluster.status === 401) {
        running = false;
        source.close();
        return showLogin('The session ended (the node restarted or it expired): enter the token again.');
      }
      if (cluster.status === 200 && cluster.body !== null) {
        const c = cluster.body;
        $('node-title').textContent = `node ${c.node.nodeId} at ${c.node.address}`;
        renderClusterGraph(graph, c);
        renderLimiters(c.limiters);
        charts.update(Date.now(), c.limiters);
      }
      if (ready.body !== null) renderReadiness(ready.body);
      denied.render();
    } catch {
      setFeedState('node unreachable', 'bad');
    }
    timer = setTimeout(poll, POLL_MS);
  };

  // EventSource reconnects by itself (the stream's retry: field) and resumes from Last-Event-ID.
  const source = new EventSource('/v1/events', { withCredentials: true });
  source.onopen = () => setFeedState('live', 'ok');
  source.onerror = () => setFeedState('reconnecting', 'wait');
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      feed.add(type, data);
      if (type === 'denied') denied.add(data);
      // Membership changed: redraw now rather than at the next poll.
      if (type === 'peer' || type === 'ready') void poll();
    });
  }
  void poll();
}

async function boot() {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', logout);
  // Does this port want the token, and does this browser hold a session? (Asked, rather than provoking a 401.)
  const { body } = await getJson('/ui/session');
  if (body?.tokenRequired === true && body.session !== true) return showLogin();
  $('logout').hidden = body?.session !== true;
  start();
}

void boot();
