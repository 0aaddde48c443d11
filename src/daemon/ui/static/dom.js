// Building the page's DOM from server data without ever parsing it as HTML:
// text goes in through textContent, attributes through setAttribute, and
// class names that come from data are picked from fixed lists. A node id or a
// key hash full of markup shows up as text.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * An HTML element: `h('td', { className: 'num', text: '42' })`.
 * @param {string} tag
 * @param {{ className?: string, text?: unknown, attrs?: Record<string, unknown> }} [props]
 * @param {Node[]} [children]
 */
export function h(tag, props = {}, children = []) {
  return fill(document.createElement(tag), props, children);
}

/** An SVG element, with the same props as {@link h}. */
export function svg(tag, props = {}, children = []) {
  return fill(document.createElementNS(SVG_NS, tag), props, children);
}

function fill(el, props, children) {
  if (props.className !== undefined) el.setAttribute('class', props.className);
  if (props.text !== undefined) el.textContent = String(props.text);
  for (const [name, value] of Object.entries(props.attrs ?? {})) el.setAttribute(name, String(value));
  for (const child of children) el.append(child);
  return el;
}

/** `value` when it is one of `allowed`, else `fallback`: for class names derived from data. */
export function oneOf(value, allowed, fallback) {
  return allowed.includes(value) ? value : fallback;
}

/** Replaces every row of a table body. */
export function setRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => h('tr', {}, cells.map(([text, className]) => h('td', { text, className })))));
}

/** Milliseconds as a short duration: 850 ms, 1.2 s, 3 min. */
export function formatMs(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (abs < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
