// The Leaflet map and its base: our own township boundaries (always there, no tile server needed)
// shaded by completion rate, and an optional tile layer when the service is configured with one.

import { t, onLangChange, fmtPct, statusName } from './i18n.js';
import { h } from './ui.js';

const L = window.L;

// Completion-rate classes, light to dark green; a township without live tasks stays grey.
const CLASSES = [
  { from: 0, color: '#edf8e9' },
  { from: 0.2, color: '#bae4b3' },
  { from: 0.4, color: '#74c476' },
  { from: 0.6, color: '#31a354' },
  { from: 0.8, color: '#006d2c' },
];
const NO_DATA = '#d9d9d9';

function rateColor(rate) {
  if (rate === null || rate === undefined || Number.isNaN(rate)) return NO_DATA;
  let color = CLASSES[0].color;
  for (const c of CLASSES) if (rate >= c.from) color = c.color;
  return color;
}

/**
 * The Leaflet map in `el`, with the configured background tiles if any.
 * @param {HTMLElement} el
 * @param {{tile_layer?: {url: string, attribution: string} | null}} config GET /api/config
 */
export function createMap(el, config) {
  // markercluster needs a maxZoom even when no tile layer sets one.
  const map = L.map(el, { maxZoom: 18, minZoom: 5, zoomSnap: 0.5, preferCanvas: false, keyboard: true });
  const tiles = config?.tile_layer;
  if (tiles?.url) {
    L.tileLayer(tiles.url, { attribution: tiles.attribution || '', maxZoom: 18, subdomains: 'abc' }).addTo(map);
  } else {
    el.classList.add('no-tiles');
  }
  map.attributionControl.setPrefix(false);
  // Leaflet titles its zoom buttons in English; they are named in the reader's language instead.
  const zoomTitles = () => {
    const box = map.zoomControl?.getContainer();
    for (const [button, key] of [['.leaflet-control-zoom-in', 'map.zoomIn'], ['.leaflet-control-zoom-out', 'map.zoomOut']]) {
      const a = box?.querySelector(button);
      if (a) {
        a.title = t(key);
        a.setAttribute('aria-label', t(key));
      }
    }
  };
  zoomTitles();
  onLangChange(zoomTitles);
  return map;
}

/** Township polygons with their completion rate; returns {layer, update(rows), bounds(code)}. */
export function townshipLayer(map, collection) {
  let rates = new Map();
  const byCode = new Map();
  const style = (f) => ({
    color: '#3b5b43', weight: 1.2, opacity: 0.9, className: `township t-${f.properties.code}`,
    fillColor: rateColor(rates.get(f.properties.code)?.completion_rate), fillOpacity: 0.55,
  });
  const layer = L.geoJSON(collection, {
    style,
    pmIgnore: true,
    onEachFeature(f, l) {
      byCode.set(f.properties.code, l);
      l.bindTooltip(() => tooltip(f.properties.code, f.properties.name), { sticky: true });
    },
  }).addTo(map);
  const tooltip = (code, name) => {
    const r = rates.get(code);
    const target = r && 'against_target' in r ? `<br>${escapeText(t('league.target'))}: ${fmtPct(r.against_target)}` : '';
    return `${escapeText(name)}<br>${escapeText(t('league.completion'))}: ${r ? fmtPct(r.completion_rate) : '—'}${target}`;
  };
  const legend = L.control({ position: 'bottomleft' });
  legend.onAdd = () => {
    const div = h('div', { class: 'legend', id: 'legend' });
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  legend.addTo(map);
  const renderLegend = (available) => {
    const div = document.getElementById('legend');
    const open = document.getElementById('legend-symbols')?.open ?? !matchMedia('(max-width: 720px)').matches;
    div.replaceChildren(symbolLegend(open), h('strong', {}, t('legend.title')));
    if (!available) {
      div.append(h('div', { class: 'legend-note' }, t('legend.unavailable')));
      return;
    }
    CLASSES.forEach((c, i) => {
      const to = CLASSES[i + 1]?.from;
      const label = to === undefined ? `≥ ${Math.round(c.from * 100)}%` : `${Math.round(c.from * 100)}–${Math.round(to * 100)}%`;
      div.append(h('div', { class: 'legend-row' }, h('i', { style: { background: c.color } }), label));
    });
    div.append(h('div', { class: 'legend-row' }, h('i', { style: { background: NO_DATA } }), t('legend.nodata')));
  };
  let available = false;
  renderLegend(available);
  onLangChange(() => renderLegend(available));
  return {
    layer,
    update(rows) {
      available = Array.isArray(rows);
      rates = new Map((rows || []).map((r) => [r.township_code, r]));
      layer.setStyle(style);
      renderLegend(available);
    },
    bounds(code) {
      return byCode.get(code)?.getBounds();
    },
    names() {
      return [...byCode.entries()].map(([code, l]) => ({ code, name: l.feature.properties.name }));
    },
  };
}

/** What the task symbols mean (task-style.js draws them): the fill by status, the supervision
 * ring, the overdue dot, the dashes of lines and areas not done; folded on a phone. */
function symbolLegend(open) {
  const pin = (cls) => h('span', { class: `legend-pin pin ${cls}`, style: { '--c': '#3b6b4a' }, 'aria-hidden': 'true' });
  const row = (symbol, text) => h('div', { class: 'legend-row' }, symbol, text);
  return h('details', { id: 'legend-symbols', class: 'legend-symbols', open },
    h('summary', {}, t('legend.symbols')),
    ['planned', 'in_progress', 'completed', 'verified'].map((st) => row(pin(`st-${st}`), statusName(st))),
    row(pin('st-in_progress sup'), t('legend.supervised')),
    row(pin('st-in_progress od'), t('legend.overdue')),
    row(h('span', { class: 'legend-dash', 'aria-hidden': 'true' }), t('legend.dashed')));
}

function escapeText(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
