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

/** Features per request to the API. */
const LIMIT = 2000;
/** Most tasks in view drawn as full features; beyond it the tiles are drawn. */
const FEATURES_MAX = 1000;
/** Most features drawn by paging on; past it the user has to zoom in or filter. */
const PAGES_MAX = 10000;

const round = (x) => Math.round(x * 1e5) / 1e5;
const bboxOf = (b) => [round(b.getWest()), round(b.getSouth()), round(b.getEast()), round(b.getNorth())];
const contains = (a, b) => a[0] <= b[0] && a[1] <= b[1] && a[2] >= b[2] && a[3] >= b[3];
const intersects = (a, b) => a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];
const inBox = (b, lng, lat) => lng >= b[0] && lng <= b[2] && lat >= b[1] && lat <= b[3];
const featuresIn = (list, v) => list.filter((f) => intersects(f.box, v)).length;

/**
 * What the tiles say about the view under these filters: the items to draw, how many tasks pass
 * the filters in view, whether clusters are among them, and the filter they cannot answer.
 * `view` is the map's bbox, `area` the view and a margin (items drawn), `hidden` tasks left off.
 */
function summarize(content, filters, { view, area, hidden }) {
  const out = { items: [], inView: 0, uncertain: 0, clusters: 0, beyond: null };
  for (const c of content.clusters) {
    if (!inBox(area, c.lng, c.lat)) continue;
    const n = clusterCount(c, filters);
    if (n === null) return { ...out, beyond: beyondClusters(filters) || 'tiles' };
    if (!n) continue;
    out.items.push({ lat: c.lat, lng: c.lng, count: n, category: c.category });
    if (inBox(view, c.lng, c.lat)) {
      out.inView += n;
      out.clusters += 1;
    }
  }
  for (const t of content.tasks) {
    if (hidden.has(t.id)) continue;
    const ok = taskMatches(t.properties, filters);
    if (ok === null) return { ...out, beyond: 'tiles' };
    if (!ok) continue;
    const [w, s, e, n] = t.box;
    out.items.push({ lat: (s + n) / 2, lng: (w + e) / 2, count: 1, category: t.properties.category, task: t });
    if (intersects(t.box, view)) {
      out.inView += 1;
      if (t.uncertain) out.uncertain += 1;
    }
  }
  return out;
}

/** What the map draws of a task (task-style.js, features-layer.js); the panel reads the whole task
 * when it opens. A third of the county view's bytes on a slow link. */
const DRAWN = 'code,title,category,status,progress,township,supervised,overdue';

/** A page of the API's features in `bbox` under `params`, each with its box. */
async function fetchPage(params, bbox, offset, signal) {
  const page = { ...params, bbox, limit: LIMIT, offset: offset || '', properties: DRAWN };
  const fc = await get(`/api/tasks${query(page)}`, { signal });
  for (const f of fc.features) f.box = geometryBox(f.geometry);
  return fc;
}

/** Whether a page of `fc` ends the list once `have` features are loaded. The API leaves
 * numberMatched out when more than 10,000 tasks match a filter it cannot count quickly; then only
 * a page that is not full ends it. */
const ends = (fc, have) => (fc.numberMatched == null ? fc.numberReturned < LIMIT : have >= fc.numberMatched);
/** How many match, Infinity when the API did not count them (more than 10,000). */
const matchedOf = (fc) => fc.numberMatched ?? Infinity;

/** A ring around the selected task's geometry in `group`; none for null. */
function ring(group, feature) {
  group.clearLayers();
  if (!feature?.geometry) return;
  L.geoJSON(feature.geometry, {
    pmIgnore: true,
    interactive: false,
    style: { color: '#f1c40f', weight: 8, opacity: 0.7, fill: false },
    pointToLayer: (_, latlng) => L.circleMarker(latlng, { radius: 16, color: '#f1c40f', weight: 4, fill: false, interactive: false }),
  }).addTo(group);
}

/**
 * The tasks of the view under the filters, drawn as features, tile counts or pages (see above).
 * One request is current at a time: a newer view aborts the one before and a late answer is dropped.
 */
class TasksLayer {
  #map;
  #features;
  #counts;
  #tiles = vectorTiles();
  #selection;
  #hidden = new Set();
  #onLoaded;
  #onError;
  #mode = null;
  #page = null; // features and pages: {key, params, bbox, list, matched, complete, reason}
  #items = null; // tiles: what the counts layer draws
  #seq = 0;
  #latest = null;
  #controller = null;

  constructor(map, { colors, onSelect, onLoaded, onError }) {
    this.#map = map;
    this.#features = featuresLayer(map, { colors, onSelect });
    this.#counts = countsLayer(map, { colors, onSelect });
    this.#selection = L.featureGroup([], { pmIgnore: true }).addTo(map);
    this.#onLoaded = onLoaded;
    this.#onError = onError;
  }

  /** Loads the tasks in view; resolves once the latest view asked for is drawn. */
  load(filters, { force = false } = {}) {
    const p = this.#run(filters, force).then(() => (this.#latest !== p ? this.#latest : undefined));
    this.#latest = p;
    return p;
  }

  /** The next page, in pages mode. */
  async more() {
    const page = this.#page;
    if (this.#mode !== 'pages' || !page || page.complete) return;
    const my = this.#seq;
    try {
      const fc = await fetchPage(page.params, page.bbox, page.list.length, this.#controller?.signal);
      if (my !== this.#seq) return;
      page.list.push(...fc.features);
      page.complete = ends(fc, page.list.length) || !fc.features.length;
      page.matched = page.complete ? Math.min(page.list.length, matchedOf(fc)) : matchedOf(fc);
      this.#features.render(page.list, this.#hidden);
      this.#reportPages();
    } catch (e) {
      if (e.name !== 'AbortError') this.#onError(e);
    }
  }

  /** Marks the selected task on the map (a halo around it); null clears it. */
  select(feature) {
    ring(this.#selection, feature);
  }

  /** Leaves a task off the map while its geometry is being edited elsewhere. */
  hide(id, yes) {
    if (yes) this.#hidden.add(id);
    else this.#hidden.delete(id);
    if (this.#page) this.#features.render(this.#page.list, this.#hidden);
    if (this.#items) this.#counts.render(this.#items.filter((it) => !it.task || !this.#hidden.has(it.task.id)));
  }

  /** The ledger changed: nothing loaded so far may be shown again without asking. */
  invalidate() {
    this.#page = null;
    this.#tiles.clear();
  }

  #view() {
    return bboxOf(this.#map.getBounds());
  }

  #report(extra) {
    this.#onLoaded({ mode: this.#mode, ...extra });
  }

  async #run(filters, force) {
    const req = { my: ++this.#seq, params: filterParams(filters) };
    req.key = JSON.stringify(req.params);
    const v = this.#view();
    const page = this.#page;
    if (!force && page && page.key === req.key && page.complete && contains(page.bbox, v)) {
      this.#report({ inView: featuresIn(page.list, v) });
      return;
    }
    this.#controller?.abort();
    this.#controller = new AbortController();
    req.signal = this.#controller.signal;
    try {
      await this.#choose(filters, req, v);
    } catch (e) {
      if (e.name !== 'AbortError' && req.my === this.#seq) this.#onError(e);
    }
  }

  /** Reads the tiles of the view and draws what they say suits it. */
  async #choose(filters, req, v) {
    const search = beyondTiles(filters);
    if (search) return this.#showPages(req, search);
    const content = await this.#tiles.load(v, tileZoom(this.#map.getZoom()));
    if (req.my !== this.#seq) return;
    const s = summarize(content, filters, { view: this.#view(), area: bboxOf(this.#map.getBounds().pad(0.25)), hidden: this.#hidden });
    if (s.beyond) return this.#showPages(req, s.beyond);
    if (!s.clusters && s.inView <= FEATURES_MAX && (await this.#showFeatures(req))) return;
    if (req.my === this.#seq) this.#showTiles(s);
  }

  #drawFeatures(mode, page) {
    this.#mode = mode;
    this.#page = page;
    this.#items = null;
    this.#counts.clear();
    this.#features.render(page.list, this.#hidden);
  }

  /** Full features of the view and a margin, when they all come in one page; false otherwise. */
  async #showFeatures({ params, key, my, signal }) {
    let bbox = bboxOf(this.#map.getBounds().pad(0.3));
    let fc = await fetchPage(params, bbox, 0, signal);
    if (!ends(fc, fc.numberReturned)) {
      // The margin holds more than a page: the view alone, which the tiles said is small enough.
      bbox = this.#view();
      fc = await fetchPage(params, bbox, 0, signal);
      if (!ends(fc, fc.numberReturned)) return false;
    }
    if (my !== this.#seq) return true;
    this.#drawFeatures('features', { key, params, bbox, list: fc.features, matched: fc.numberMatched, complete: true });
    this.#report({ inView: featuresIn(fc.features, this.#view()) });
    return true;
  }

  /** The API's pages for the view, for filters the tiles cannot answer. */
  async #showPages({ params, key, my, signal }, reason) {
    const bbox = this.#view();
    const fc = await fetchPage(params, bbox, 0, signal);
    if (my !== this.#seq) return;
    this.#drawFeatures('pages', { key, params, bbox, list: fc.features, matched: matchedOf(fc),
      complete: ends(fc, fc.numberReturned), reason });
    this.#reportPages();
  }

  #reportPages() {
    const page = this.#page;
    const shown = page.list.length;
    this.#report(page.complete ? { inView: page.matched }
      : { inView: page.matched, shown, matched: page.matched, reason: page.reason,
        more: shown < PAGES_MAX ? Math.min(LIMIT, page.matched - shown, PAGES_MAX - shown) : 0 });
  }

  #showTiles(s) {
    this.#mode = 'tiles';
    this.#page = null;
    this.#items = s.items;
    this.#features.clear();
    this.#counts.render(s.items);
    this.#report({ inView: s.inView, approximate: s.uncertain > 0 });
  }
}

/**
 * The tasks layer of `map`.
 * @param {object} map the Leaflet map
 * @param {object} options
 * @param {Map<string, string>} options.colors each task family's colour by code
 * @param {(id: string) => void} options.onSelect a task was clicked
 * @param {(c: {mode: string, inView?: number, shown?: number, matched?: number, more?: number,
 *   reason?: string, approximate?: boolean}) => void} options.onLoaded a view is drawn: how, and how many
 * @param {(e: Error) => void} options.onError a view could not be loaded
 * @returns {TasksLayer}
 */
export function tasksLayer(map, options) {
  return new TasksLayer(map, options);
}
