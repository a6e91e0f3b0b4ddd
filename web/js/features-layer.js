// Tasks drawn as the full features the API sends: points clustered when dense, lines and areas as
// what they are, each clickable. This is what the map shows when the view holds few enough tasks,
// and what bureau staff edit.

import { pin, shapeStyle, escape } from './task-style.js';

const L = window.L;

/**
 * The full features of a view on `map`.
 * @param {object} map the Leaflet map
 * @param {{colors: Map<string, string>, onSelect: (id: string) => void}} options
 * @returns {{render: (list: object[], hidden: Set<string>) => void, clear: () => void}}
 */
export function featuresLayer(map, { colors, onSelect }) {
  const cluster = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    maxClusterRadius: 45,
    spiderfyOnMaxZoom: true,
    pmIgnore: true,
    // The plugin's own icon, at 44 px instead of its 40: a finger's width.
    iconCreateFunction: (c) => L.divIcon({
      html: `<div><span>${c.getChildCount()}</span></div>`,
      className: `marker-cluster marker-cluster-${c.getChildCount() < 10 ? 'small' : c.getChildCount() < 100 ? 'medium' : 'large'}`,
      iconSize: [44, 44],
    }),
  });
  const shapes = L.featureGroup([], { pmIgnore: true });
  cluster.addTo(map);
  shapes.addTo(map);

  return {
    /** Draws `list`, leaving out the tasks in `hidden`. */
    render(list, hidden) {
      cluster.clearLayers();
      shapes.clearLayers();
      const markers = [];
      for (const f of list) {
        if (hidden.has(f.id) || !f.geometry) continue;
        const onClick = () => onSelect(f.id);
        if (f.geometry.type === 'Point' || f.geometry.type === 'MultiPoint') {
          const coords = f.geometry.type === 'Point' ? [f.geometry.coordinates] : f.geometry.coordinates;
          for (const [lng, lat] of coords) {
            const m = pin(colors, f.properties, [lat, lng]).on('click', onClick);
            m.on('keypress', (e) => e.originalEvent.key === 'Enter' && onClick());
            markers.push(m);
          }
        } else {
          L.geoJSON(f, { style: (x) => shapeStyle(colors, x), pmIgnore: true })
            .bindTooltip(`${escape(f.properties.code)} ${escape(f.properties.title)}`, { sticky: true })
            .on('click', (e) => {
              L.DomEvent.stopPropagation(e);
              onClick();
            })
            .addTo(shapes);
        }
      }
      cluster.addLayers(markers);
    },
    clear() {
      cluster.clearLayers();
      shapes.clearLayers();
    },
  };
}

/** [west, south, east, north] of a GeoJSON geometry. */
export function geometryBox(g) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      box[0] = Math.min(box[0], c[0]);
      box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]);
      box[3] = Math.max(box[3], c[1]);
    } else {
      for (const x of c) walk(x);
    }
  };
  if (g?.type === 'GeometryCollection') for (const x of g.geometries) walk(x.coordinates);
  else if (g?.coordinates) walk(g.coordinates);
  return box;
}
