// The service's vector tiles of the tasks (GET /tiles/tasks/{z}/{x}/{y}.mvt, layer `tasks`), fetched
// for a view and decoded in the browser. Tiles come in cluster form where a tile covers many tasks,
// so they are what the map reads when a view holds too many tasks to draw one by one: the cost of a
// tile does not grow with the ledger the way a page of features does.

import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { ApiError, NetworkError } from './api.js';
import { readFeature } from './tile-filters.js';

const LAYER = 'tasks';
const MAX_ZOOM = 22;
/** Decoded tiles kept in memory, so going back to a view costs nothing. */
const KEEP = 256;

/**
 * The tile zoom for a map zoom: tiles are drawn at 512 px, one zoom below the map, as vector map
 * libraries do. A quarter of the requests of 256-px tiles, and clusters a tile's 32 cells per side
 * still place 16 px apart on screen.
 */
export const tileZoom = (mapZoom) => Math.max(0, Math.min(MAX_ZOOM, Math.floor(mapZoom) - 1));

const lon2x = (lon, n) => ((lon + 180) / 360) * n;
function lat2y(lat, n) {
  const r = (Math.max(-85.05112878, Math.min(85.05112878, lat)) * Math.PI) / 180;
  return ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n;
}
const x2lon = (x, n) => (x / n) * 360 - 180;
const y2lat = (y, n) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / n))) * 180) / Math.PI;

/** The tiles of zoom z covering [west, south, east, north]. */
function tilesFor([w, s, e, n], z) {
  const size = 2 ** z;
  const clamp = (v) => Math.max(0, Math.min(size - 1, Math.floor(v)));
  const [x0, x1] = [clamp(lon2x(w, size)), clamp(lon2x(e, size))];
  const [y0, y1] = [clamp(lat2y(n, size)), clamp(lat2y(s, size))];
  const out = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.push({ z, x, y });
  return out;
}

/**
 * One tile's features: clusters with their position, single tasks with the box of the part of
 * their geometry inside the tile (a line or area crossing tiles is in each of them).
 */
function decode(buffer, { z, x, y }) {
  const layer = buffer.byteLength ? new VectorTile(new PbfReader(new Uint8Array(buffer))).layers[LAYER] : null;
  const clusters = [];
  const tasks = [];
  if (!layer) return { clusters, tasks };
  const n = 2 ** z;
  for (let i = 0; i < layer.length; i++) {
    const f = layer.feature(i);
    const item = readFeature(f.properties);
    if (!item) continue;
    let box;
    try {
      box = f.bbox();
    } catch {
      continue; // a feature without geometry has no place on the map
    }
    const e = f.extent || 4096;
    const west = x2lon(x + box[0] / e, n);
    const east = x2lon(x + box[2] / e, n);
    const north = y2lat(y + box[1] / e, n);
    const south = y2lat(y + box[3] / e, n);
    if (item.kind === 'cluster') {
      clusters.push({ ...item, lat: (north + south) / 2, lng: (west + east) / 2 });
    } else {
      tasks.push({ ...item, point: f.type === 1 && box[0] === box[2] && box[1] === box[3], box: [west, south, east, north] });
    }
  }
  return { clusters, tasks };
}

/** The clusters of these tiles, and their single tasks once each with the box of all their parts. */
function merge(tiles) {
  const clusters = [];
  const tasks = new Map();
  for (const tile of tiles) {
    clusters.push(...tile.clusters);
    for (const t of tile.tasks) {
      const seen = tasks.get(t.id);
      if (!seen) {
        tasks.set(t.id, { ...t, box: [...t.box] });
      } else {
        const b = seen.box;
        seen.box = [Math.min(b[0], t.box[0]), Math.min(b[1], t.box[1]), Math.max(b[2], t.box[2]), Math.max(b[3], t.box[3])];
      }
    }
  }
  return { clusters, tasks };
}

/**
 * The single tasks not already counted in a cluster. A task near a tile's edge is also in its
 * neighbour's margin; where that neighbour is the tile holding it and counts it in a cluster, the
 * copy would count it twice. The service places a task in a cell by a point on its surface: a
 * point is placed exactly, but of a line or area reaching into a tile of clusters only the part
 * outside it is seen here, so where it is counted is a guess, and it is marked `uncertain`.
 * @param {Map<string, object>} tasks by id
 * @param {Set<string>} clustered "x/y" of the tiles holding clusters
 * @param {number} z the tiles' zoom
 */
function outsideClusters(tasks, clustered, z) {
  const n = 2 ** z;
  const single = [];
  for (const t of tasks.values()) {
    const [w, s, e, nn] = t.box;
    if (clustered.has(`${Math.floor(lon2x((w + e) / 2, n))}/${Math.floor(lat2y((s + nn) / 2, n))}`)) continue;
    if (!t.point) {
      const [x0, x1] = [Math.floor(lon2x(w, n)), Math.floor(lon2x(e, n))];
      const [y0, y1] = [Math.floor(lat2y(nn, n)), Math.floor(lat2y(s, n))];
      for (let y = y0; y <= y1 && !t.uncertain; y++) {
        for (let x = x0; x <= x1; x++) if (clustered.has(`${x}/${y}`)) t.uncertain = true;
      }
    }
    single.push(t);
  }
  return single;
}

/**
 * A reader of the task tiles, keeping the most recently used in memory.
 * @returns {{load: (bbox: number[], z: number) => Promise<{clusters: object[], tasks: object[]}>, clear: () => void}}
 */
export function vectorTiles() {
  const cache = new Map(); // "z/x/y" -> Promise of a decoded tile
  let fresh = false;

  function fetchTile(t) {
    const key = `${t.z}/${t.x}/${t.y}`;
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key); // most recently used last
      cache.set(key, hit);
      return hit;
    }
    // After the ledger changed under us (an edit, a login), ask the service again rather than
    // trusting a copy the browser may still hold; the ETag keeps that to a 304 when nothing moved.
    const init = { credentials: 'same-origin', cache: fresh ? 'no-cache' : 'default' };
    const p = fetch(`/tiles/tasks/${key}.mvt`, init)
      .catch((e) => {
        throw new NetworkError(e);
      })
      .then(async (res) => {
        if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
        return decode(await res.arrayBuffer(), t);
      });
    p.catch(() => cache.delete(key));
    cache.set(key, p);
    while (cache.size > KEEP) cache.delete(cache.keys().next().value);
    return p;
  }

  return {
    /**
     * Every cluster and single task in the tiles covering `bbox` at tile zoom z. Single tasks come
     * once each, with the box of all their parts.
     */
    async load(bbox, z) {
      const range = tilesFor(bbox, z);
      const tiles = await Promise.all(range.map(fetchTile));
      const clustered = new Set(range.filter((_, i) => tiles[i].clusters.length).map((t) => `${t.x}/${t.y}`));
      const { clusters, tasks } = merge(tiles);
      return { z, clusters, tasks: outsideClusters(tasks, clustered, z) };
    },
    /** Forgets every tile: the next look asks the service. */
    clear() {
      cache.clear();
      fresh = true;
    },
  };
}
