// Tasks drawn from vector tiles when the view holds too many to draw one by one: everything within
// a square of the screen becomes one bubble with the number of tasks in it (a click zooms in), and
// a square holding only a few single tasks shows them as the usual markers, which open the task.
// Squares are fixed to the map's pixel grid, so a pan does not reshuffle them.

import { pin, bubble } from './task-style.js';

const L = window.L;

/** Side of a square, in screen pixels. */
const GRID = 56;
/** A square with at most this many single tasks draws them as markers. */
const PINS = 3;

/**
 * The bubbles and markers of tile contents on `map`.
 * @param {object} map the Leaflet map
 * @param {{colors: Map<string, string>, onSelect: (id: string) => void}} options
 * @returns {{render: (items: object[]) => void, clear: () => void}}
 */
export function countsLayer(map, { colors, onSelect }) {
  const group = L.layerGroup([], { pmIgnore: true }).addTo(map);

  function zoomInto(latlng) {
    map.setView(latlng, Math.min(map.getZoom() + 2, map.getMaxZoom()));
  }

  return {
    /** Draws `items` ({lat, lng, count, category, task?}) in view, grouped by square. */
    render(items) {
      group.clearLayers();
      const zoom = map.getZoom();
      const area = map.getBounds().pad(0.25);
      const bins = new Map();
      for (const it of items) {
        if (!it.count || !area.contains([it.lat, it.lng])) continue;
        const p = map.project([it.lat, it.lng], zoom);
        const key = `${Math.floor(p.x / GRID)}:${Math.floor(p.y / GRID)}`;
        let b = bins.get(key);
        if (!b) bins.set(key, (b = { count: 0, lat: 0, lng: 0, byCategory: new Map(), tasks: [] }));
        b.count += it.count;
        b.lat += it.lat * it.count;
        b.lng += it.lng * it.count;
        b.byCategory.set(it.category, (b.byCategory.get(it.category) || 0) + it.count);
        if (it.task) b.tasks.push(it);
      }
      for (const b of bins.values()) {
        if (b.tasks.length === b.count && b.count <= PINS) {
          for (const it of b.tasks) {
            const onClick = () => onSelect(it.task.id);
            pin(colors, it.task.properties, [it.lat, it.lng])
              .on('click', onClick)
              .on('keypress', (e) => e.originalEvent.key === 'Enter' && onClick())
              .addTo(group);
          }
          continue;
        }
        const latlng = L.latLng(b.lat / b.count, b.lng / b.count);
        bubble(colors, b, latlng)
          .on('click', () => zoomInto(latlng))
          .on('keypress', (e) => e.originalEvent.key === 'Enter' && zoomInto(latlng))
          .addTo(group);
      }
    },
    clear() {
      group.clearLayers();
    },
  };
}
