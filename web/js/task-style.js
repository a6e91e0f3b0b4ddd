// How a task looks on the map, the same whether it came as a full feature or from a vector tile:
// coloured by family, marked by status (hollow: planned, half: in progress, full: completed,
// ✓: verified), a red ring when under supervision and a red dot when overdue.

import { statusName, t } from './i18n.js';

const L = window.L;

const STATUS_DASH = { planned: '6 5', in_progress: '10 4', completed: null, verified: null, cancelled: '2 6' };

/** Text made safe to put into the HTML of a Leaflet icon. */
export function escape(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const taskColor = (colors, p) => (p.status === 'cancelled' ? '#8c8c8c' : colors.get(p.category) || '#555');

/**
 * A span with classes and CSS custom properties, built through the DOM: the Content-Security-Policy
 * refuses style attributes written as HTML.
 */
function span(className, vars, data) {
  const el = document.createElement('span');
  el.className = className;
  for (const [k, v] of Object.entries(vars)) el.style.setProperty(k, v);
  Object.assign(el.dataset, data);
  return el;
}

/** A point marker for a task's properties. */
export function pin(colors, p, latlng) {
  const cls = ['pin', `st-${p.status}`, p.supervised ? 'sup' : '', p.overdue ? 'od' : ''].join(' ');
  const icon = L.divIcon({
    className: 'task-marker',
    html: span(cls, { '--c': taskColor(colors, p) }, { code: p.code }),
    // The pin is 18 px; the marker around it 44 px, the least a finger hits reliably.
    iconSize: [44, 44],
    iconAnchor: [22, 22],
  });
  const label = `${p.code} ${p.title} · ${statusName(p.status)}`;
  return L.marker(latlng, { icon, title: label, alt: label, keyboard: true, pmIgnore: true });
}

/** Lines and areas: the family's colour, dashed by status, red outline when under supervision. */
export function shapeStyle(colors, f) {
  const p = f.properties;
  const line = /LineString/.test(f.geometry.type);
  return {
    color: p.supervised && !['verified', 'cancelled'].includes(p.status) ? '#c0392b' : taskColor(colors, p),
    weight: line ? 5 : 2.5,
    opacity: p.status === 'cancelled' ? 0.5 : 0.95,
    dashArray: STATUS_DASH[p.status] || null,
    fillColor: taskColor(colors, p),
    fillOpacity: p.status === 'verified' || p.status === 'completed' ? 0.55 : 0.25,
    className: `task-shape cat-${p.category} st-${p.status}`,
  };
}

function bubbleSpan(stops, size, count) {
  const el = span('bubble', { '--ring': `conic-gradient(${stops.join(',')})`, '--size': `${size}px` }, { count });
  el.textContent = String(count);
  return el;
}

/** A count of tasks in one place, ringed by the share of each family; a click zooms in. */
export function bubble(colors, { count, byCategory }, latlng) {
  let at = 0;
  const stops = [];
  for (const [cat, n] of [...byCategory.entries()].sort((a, b) => b[1] - a[1])) {
    const to = at + (n / count) * 100;
    stops.push(`${colors.get(cat) || '#555'} ${at.toFixed(1)}% ${to.toFixed(1)}%`);
    at = to;
  }
  const size = Math.round(Math.min(60, 44 + 6 * Math.log10(count)));
  const icon = L.divIcon({
    className: 'task-bubble',
    html: bubbleSpan(stops, size, count),
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
  });
  const label = t('map.bubble', { n: count });
  return L.marker(latlng, { icon, title: label, alt: label, keyboard: true, pmIgnore: true });
}
