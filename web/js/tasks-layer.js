// Tasks on the map, drawn one of three ways depending on how many the view holds:
//
//   features  few enough (at most FEATURES_MAX in view, and no cluster among them):
//             the full features from GET /api/tasks for the view plus a margin, lines and areas
//             drawn as what they are, editable by the bureau. Pans inside that box cost nothing.
//   tiles     more than that: the vector tiles of the view, whose clusters and single tasks are
//             counted into bubbles per square of the screen; a click on a bubble zooms in, and
//             single tasks show as markers that open the task.
//   pages     a filter the tiles cannot answer (search always; township, overdue, and supervision
//             with some statuses where the tiles hold clusters): the API's pages for the view, at
//             most LIMIT at a time, with a note saying so and a button for the next page.
//
// The switch costs nothing extra: the tiles of the view are read first (small, cached, and cheap
// for the service at any size of ledger, as clusters come from precounted cells), and they tell how
// many tasks pass the filters in view. Only then is a page of features asked for, and only when
// it will hold every task in view; so the service never counts or sends a huge page.

import { get, query } from './api.js';
import { filterParams } from './state.js';
import { featuresLayer, geometryBox } from './features-layer.js';
import { countsLayer } from './counts-layer.js';
import { vectorTiles, tileZoom } from './vector-tiles.js';
import { beyondTiles, beyondClusters, clusterCount, taskMatches } from './tile-filters.js';

const L = window.L;

/// Features per request to the API.
export const LIMIT = 2000;
/// Most tasks in view drawn as full features; beyond it the tiles are drawn.
export const FEATURES_MAX = 1000;
/// Most features drawn by paging on; past it the user has to zoom in or filter.
const PAGES_MAX = 10000;

const round = (x) => Math.round(x * 1e5) / 1e5;
const bboxOf = (b) => [round(b.getWest()), round(b.getSouth()), round(b.getEast()), round(b.getNorth())];
const contains = (a, b) => a[0] <= b[0] && a[1] <= b[1] && a[2] >= b[2] && a[3] >= b[3];
const intersects = (a, b) => a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];
const inBox = (b, lng, lat) => lng >= b[0] && lng <= b[2] && lat >= b[1] && lat <= b[3];

export function tasksLayer(map, { colors, onSelect, onLoaded, onError }) {
  const features = featuresLayer(map, { colors, onSelect });
  const counts = countsLayer(map, { colors, onSelect });
  const selection = L.featureGroup([], { pmIgnore: true }).addTo(map);
  const tiles = vectorTiles();
  const hidden = new Set();

  let mode = null;
  let page = null; // features and pages: {key, params, bbox, list, matched, complete, reason}
  let items = null; // tiles: what the counts layer draws
  let seq = 0;
  let latest = null;
  let controller = null;

  const view = () => bboxOf(map.getBounds());
  const featuresInView = (list, v = view()) => list.filter((f) => intersects(f.box, v)).length;

  function report(extra) {
    onLoaded({ mode, ...extra });
  }

  /// What the tiles say about the view under these filters: the items to draw, how many tasks pass
  /// the filters in view, whether clusters are among them, and the filter they cannot answer.
  function summarize(content, filters) {
    const v = view();
    const area = bboxOf(map.getBounds().pad(0.25));
    const out = { items: [], inView: 0, uncertain: 0, clusters: 0, beyond: null };
    for (const c of content.clusters) {
      if (!inBox(area, c.lng, c.lat)) continue;
      const n = clusterCount(c, filters);
      if (n === null) {
        out.beyond = beyondClusters(filters) || 'tiles';
        return out;
      }
      if (!n) continue;
      out.items.push({ lat: c.lat, lng: c.lng, count: n, category: c.category });
      if (inBox(v, c.lng, c.lat)) {
        out.inView += n;
        out.clusters += 1;
      }
    }
    for (const t of content.tasks) {
      if (hidden.has(t.id)) continue;
      const ok = taskMatches(t.properties, filters);
      if (ok === null) {
        out.beyond = 'tiles';
        return out;
      }
      if (!ok) continue;
      const [w, s, e, n] = t.box;
      out.items.push({ lat: (s + n) / 2, lng: (w + e) / 2, count: 1, category: t.properties.category, task: t });
      if (intersects(t.box, v)) {
        out.inView += 1;
        if (t.uncertain) out.uncertain += 1;
      }
    }
    return out;
  }

  async function fetchPage(params, bbox, offset, signal) {
    const fc = await get(`/api/tasks${query({ ...params, bbox, limit: LIMIT, offset: offset || '' })}`, { signal });
    for (const f of fc.features) f.box = geometryBox(f.geometry);
    return fc;
  }

  function drawFeatures(next) {
    page = next;
    items = null;
    counts.clear();
    features.render(page.list, hidden);
  }

  /// Full features of the view and a margin, when they all come in one page; false otherwise.
  async function showFeatures(params, key, my, signal) {
    let bbox = bboxOf(map.getBounds().pad(0.3));
    let fc = await fetchPage(params, bbox, 0, signal);
    if (fc.numberMatched > fc.numberReturned) {
      // The margin holds more than a page: the view alone, which the tiles said is small enough.
      bbox = view();
      fc = await fetchPage(params, bbox, 0, signal);
      if (fc.numberMatched > fc.numberReturned) return false;
    }
    if (my !== seq) return true;
    mode = 'features';
    drawFeatures({ key, params, bbox, list: fc.features, matched: fc.numberMatched, complete: true });
    report({ inView: featuresInView(page.list) });
    return true;
  }

  /// The API's pages for the view, for filters the tiles cannot answer.
  async function showPages(params, key, reason, my, signal) {
    const bbox = view();
    const fc = await fetchPage(params, bbox, 0, signal);
    if (my !== seq) return;
    mode = 'pages';
    drawFeatures({ key, params, bbox, list: fc.features, matched: fc.numberMatched,
      complete: fc.numberMatched <= fc.numberReturned, reason });
    reportPages();
  }

  function reportPages() {
    const shown = page.list.length;
    report(page.complete ? { inView: page.matched }
      : { inView: page.matched, shown, matched: page.matched, reason: page.reason,
        more: shown < PAGES_MAX ? Math.min(LIMIT, page.matched - shown, PAGES_MAX - shown) : 0 });
  }

  function showTiles(s) {
    mode = 'tiles';
    page = null;
    items = s.items;
    features.clear();
    counts.render(items);
    report({ inView: s.inView, approximate: s.uncertain > 0 });
  }

  async function run(filters, force) {
    const my = ++seq;
    const params = filterParams(filters);
    const key = JSON.stringify(params);
    const v = view();
    if (!force && page && page.key === key && page.complete && contains(page.bbox, v)) {
      report({ inView: featuresInView(page.list, v) });
      return;
    }
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    try {
      const search = beyondTiles(filters);
      if (search) {
        await showPages(params, key, search, my, signal);
        return;
      }
      const content = await tiles.load(v, tileZoom(map.getZoom()));
      if (my !== seq) return;
      const s = summarize(content, filters);
      if (s.beyond) {
        await showPages(params, key, s.beyond, my, signal);
        return;
      }
      if (!s.clusters && s.inView <= FEATURES_MAX && (await showFeatures(params, key, my, signal))) return;
      if (my === seq) showTiles(s);
    } catch (e) {
      if (e.name !== 'AbortError' && my === seq) onError(e);
    }
  }

  /// Loads the tasks in view; resolves once the latest view asked for is drawn.
  function load(filters, { force = false } = {}) {
    const p = run(filters, force).then(() => (latest !== p ? latest : undefined));
    latest = p;
    return p;
  }

  /// The next page, in pages mode.
  async function more() {
    if (mode !== 'pages' || !page || page.complete) return;
    const my = seq;
    try {
      const fc = await fetchPage(page.params, page.bbox, page.list.length, controller?.signal);
      if (my !== seq) return;
      page.list.push(...fc.features);
      page.complete = page.list.length >= fc.numberMatched || !fc.features.length;
      page.matched = fc.numberMatched;
      features.render(page.list, hidden);
      reportPages();
    } catch (e) {
      if (e.name !== 'AbortError') onError(e);
    }
  }

  return {
    load,
    more,
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
      if (page) features.render(page.list, hidden);
      if (items) counts.render(items.filter((it) => !it.task || !hidden.has(it.task.id)));
    },
    /// The ledger changed: nothing loaded so far may be shown again without asking.
    invalidate() {
      page = null;
      tiles.clear();
    },
  };
}
