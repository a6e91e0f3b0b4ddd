// Libraries only some users need (drawing for the bureau, charts for whoever opens them) are
// loaded on demand, so the public map's first load stays small. Their URLs are taken relative to
// this module's, so they carry its version path and are kept as long (src/http/shell.rs).

const loaded = new Map();
const library = (path) => new URL(`../node_modules/${path}`, import.meta.url).pathname;

function script(src) {
  if (!loaded.has(src)) {
    loaded.set(src, new Promise((resolve, reject) => {
      const el = document.createElement('script');
      el.src = src;
      el.onload = resolve;
      el.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.append(el);
    }));
  }
  return loaded.get(src);
}

function stylesheet(href) {
  if (!document.querySelector(`link[href="${href}"]`)) {
    document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href }));
  }
}

/**
 * Chart.js, loaded on first use.
 * @returns {Promise<Function>} its Chart constructor
 */
export const chartJs = () => script(library('chart.js/dist/chart.umd.min.js')).then(() => window.Chart);

/**
 * Loads Leaflet-Geoman and attaches it to `map`: Geoman hooks into maps created after it loads,
 * and ours was created before, for visitors who never draw.
 */
export async function geoman(map) {
  stylesheet(library('@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css'));
  await script(library('@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js'));
  if (map && !map.pm) {
    window.L.PM.reInitLayer(map);
    map.pm.setGlobalOptions({});
  }
}
