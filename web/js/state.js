// What the user is looking at lives in the URL, so a copied link shows the same map:
//   ?z=13&c=30.81,119.95&category=watershed,village&status=planned&township=330599101
//    &overdue=1&supervised=1&q=WS-2026&task=<id>&tab=league&lang=en

/** Filters that let every task through. */
export function emptyFilters() {
  return { category: [], status: [], township: '', overdue: false, supervised: false, q: '' };
}

/**
 * What the URL asks to show.
 * @param {string} [search] a query string (the page's own unless given)
 * @returns {{view: {z: number, lat: number, lng: number} | null, filters: object, task: string | null,
 *   tab: string | null, lang: string | null}}
 */
export function readUrl(search = location.search) {
  const p = new URLSearchParams(search);
  const list = (k) => (p.get(k) || '').split(',').map((s) => s.trim()).filter(Boolean);
  let view = null;
  const z = Number(p.get('z'));
  const c = (p.get('c') || '').split(',').map(Number);
  if (p.has('z') && Number.isFinite(z) && c.length === 2 && c.every(Number.isFinite)) {
    view = { z, lat: c[0], lng: c[1] };
  }
  return {
    view,
    filters: {
      category: list('category'),
      status: list('status'),
      township: p.get('township') || '',
      overdue: p.get('overdue') === '1' || p.get('overdue') === 'true',
      supervised: p.get('supervised') === '1' || p.get('supervised') === 'true',
      q: p.get('q') || '',
    },
    task: p.get('task') || null,
    tab: p.get('tab') || null,
    lang: p.get('lang') || null,
  };
}

/** The API's query parameters for these filters. */
export function filterParams(f) {
  return {
    category: f.category,
    status: f.status,
    township: f.township,
    overdue: f.overdue ? 'true' : '',
    supervised: f.supervised ? 'true' : '',
    q: f.q.trim(),
  };
}

/**
 * Puts what is shown into the URL (replacing the history entry, so Back leaves the map).
 * @param {object} s as `readUrl` returns it
 */
export function writeUrl(s) {
  const p = new URLSearchParams();
  if (s.view) {
    p.set('z', String(s.view.z));
    p.set('c', `${s.view.lat.toFixed(5)},${s.view.lng.toFixed(5)}`);
  }
  const f = s.filters;
  if (f.category.length) p.set('category', f.category.join(','));
  if (f.status.length) p.set('status', f.status.join(','));
  if (f.township) p.set('township', f.township);
  if (f.overdue) p.set('overdue', '1');
  if (f.supervised) p.set('supervised', '1');
  if (f.q.trim()) p.set('q', f.q.trim());
  if (s.task) p.set('task', s.task);
  if (s.tab) p.set('tab', s.tab);
  if (s.lang && s.lang !== 'zh') p.set('lang', s.lang);
  const search = p.toString().replace(/%2C/g, ',');
  const url = `${location.pathname}${search ? `?${search}` : ''}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, '', url);
}
