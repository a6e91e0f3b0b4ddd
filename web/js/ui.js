// Small DOM helpers. Elements are built with text nodes, never from HTML strings, so task titles
// and notes typed by users can never inject markup.

/**
 * An element with attributes (`class`, `dataset`, `style` objects, `on…` listeners, properties)
 * and children (nodes, or text; null, undefined and false are left out; arrays are flattened).
 * @param {string} tag
 * @param {object} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') {
      // Through the CSSOM, which the page's Content-Security-Policy allows (a style attribute it
      // does not); custom properties need setProperty.
      for (const [name, value] of Object.entries(v)) el.style.setProperty(name.startsWith('--') ? name : name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), value);
    }
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** The first element matching `sel`. */
export function $(sel, root = document) {
  return root.querySelector(sel);
}

/** Every element matching `sel`, as an array. */
export function $$(sel, root = document) {
  return [...root.querySelectorAll(sel)];
}

/** Replaces the children of `el` with `children` (as `h` takes them); returns `el`. */
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * `fn`, called once calls have stopped for `ms` milliseconds.
 * @param {Function} fn
 * @param {number} ms
 */
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * A random UUID also where crypto.randomUUID is missing (it needs a secure context, and a
 * township office may reach the service over plain http on the county network).
 */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A progress bar people and screen readers can read. */
export function progressBar(value, label) {
  const v = Math.max(0, Math.min(100, Number(value) || 0));
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-valuenow': String(v), 'aria-label': label },
  h('div', { class: 'progress-fill', style: { width: `${v}%` } }),
  h('span', { class: 'progress-text' }, `${v}%`));
}
