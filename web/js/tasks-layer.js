// Tasks on the map: points clustered when dense, lines and areas drawn as what they are, coloured
// by family and marked by status. Only the visible box (with a margin) is asked for, with a cap, so
// a province-sized ledger costs the browser no more than a county's.

import { get, query } from './api.js';
import { filterParams } from './state.js';
import { statusName } from './i18n.js';

const L = window.L;

/// Most tasks drawn at once; beyond it the user is asked to zoom in or filter.
export const LIMIT = 2000;

const STATUS_DASH = { planned: '6 5', in_progress: '10 4', completed: null, verified: null, cancelled: '2 6' };

export function tasksLayer(map, { colors, onSelect, onLoaded, onError }) {
  const cluster = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    maxClusterRadius: 45,
    spiderfyOnMaxZoom: true,
    pmIgnore: true,
  });
  const shapes = L.featureGroup([], { pmIgnore: true });
  const selection = L.featureGroup([], { pmIgnore: true });
  cluster.addTo(map);
  shapes.addTo(map);
  selection.addTo(map);

  let last = null; // {key, bbox, complete}
  let controller = null;
  const features = new Map();
  const hidden = new Set();

  const color = (f) => (f.properties.status === 'cancelled' ? '#8c8c8c' : colors.get(f.properties.category) || '#555');

  function marker(f, latlng) {
    const p = f.properties;
    const cls = ['pin', `st-${p.status}`, p.supervised ? 'sup' : '', p.overdue ? 'od' : ''].join(' ');
    const icon = L.divIcon({
      className: 'task-marker',
      html: `<span class="${cls}" style="--c:${color(f)}" data-code="${escape(p.code)}"></span>`,
      iconSize: [20, 20],
      iconAnchor: [10, 10],
    });
    const label = `${p.code} ${p.title} · ${statusName(p.status)}`;
    return L.marker(latlng, { icon, title: label, alt: label, keyboard: true, pmIgnore: true });
  }

  function shapeStyle(f) {
    const p = f.properties;
    const line = /LineString/.test(f.geometry.type);
    return {
      color: p.supervised && !['verified', 'cancelled'].includes(p.status) ? '#c0392b' : color(f),
      weight: line ? 5 : 2.5,
      opacity: p.status === 'cancelled' ? 0.5 : 0.95,
      dashArray: STATUS_DASH[p.status] || null,
      fillColor: color(f),
      fillOpacity: p.status === 'verified' || p.status === 'completed' ? 0.55 : 0.25,
      className: `task-shape cat-${p.category} st-${p.status}`,
    };
  }

  function render(list) {
    cluster.clearLayers();
    shapes.clearLayers();
    features.clear();
    const markers = [];
    for (const f of list) {
      features.set(f.id, f);
      if (hidden.has(f.id) || !f.geometry) continue;
      const onClick = () => onSelect(f.id);
      if (f.geometry.type === 'Point' || f.geometry.type === 'MultiPoint') {
        const coords = f.geometry.type === 'Point' ? [f.geometry.coordinates] : f.geometry.coordinates;
        for (const [lng, lat] of coords) {
          const m = marker(f, [lat, lng]).on('click', onClick);
          m.on('keypress', (e) => e.originalEvent.key === 'Enter' && onClick());
          markers.push(m);
        }
      } else {
        L.geoJSON(f, { style: shapeStyle, pmIgnore: true })
          .bindTooltip(`${escape(f.properties.code)} ${escape(f.properties.title)}`, { sticky: true })
          .on('click', (e) => {
            L.DomEvent.stopPropagation(e);
            onClick();
          })
          .addTo(shapes);
      }
    }
    cluster.addLayers(markers);
  }

  function bboxOf(bounds) {
    const r = (x) => Math.round(x * 1e5) / 1e5;
    return [r(bounds.getWest()), r(bounds.getSouth()), r(bounds.getEast()), r(bounds.getNorth())];
  }

  const contains = (a, b) => a[0] <= b[0] && a[1] <= b[1] && a[2] >= b[2] && a[3] >= b[3];

  /// Loads the tasks in view. A pan inside an area already loaded in full costs no request.
  async function load(filters, { force = false } = {}) {
    const params = filterParams(filters);
    const key = JSON.stringify(params);
    const view = bboxOf(map.getBounds());
    if (!force && last && last.key === key && last.complete && contains(last.bbox, view)) return;
    const bbox = bboxOf(map.getBounds().pad(0.3));
    controller?.abort();
    controller = new AbortController();
    try {
      const fc = await get(`/api/tasks${query({ ...params, bbox, limit: LIMIT })}`, { signal: controller.signal });
      last = { key, bbox, complete: fc.numberMatched <= fc.numberReturned };
      render(fc.features);
      onLoaded({ shown: fc.numberReturned, matched: fc.numberMatched });
    } catch (e) {
      if (e.name !== 'AbortError') onError(e);
    }
  }

  return {
    load,
    feature: (id) => features.get(id),
    /// Marks the selected task on the map (a halo around it).
    select(feature) {
      selection.clearLayers();
      if (!feature?.geometry) return;
      L.geoJSON(feature.geometry, {
        pmIgnore: true,
        interactive: false,
        style: { color: '#f1c40f', weight: 8, opacity: 0.7, fill: false },
        pointToLayer: (_, latlng) => L.circleMarker(latlng, { radius: 16, color: '#f1c40f', weight: 4, fill: false, interactive: false }),
      }).addTo(selection);
    },
    /// Leaves a task off the map while its geometry is being edited elsewhere.
    hide(id, yes) {
      if (yes) hidden.add(id);
      else hidden.delete(id);
      render([...features.values()]);
    },
    invalidate() {
      last = null;
    },
  };
}

function escape(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

