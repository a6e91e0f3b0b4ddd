// The administrator's township import: a boundary file (GeoJSON, GeoPackage, a zipped Shapefile or
// its loose .shp/.dbf/.prj/.cpg) is first checked (a dry run: what would change, which geometries
// are repaired, gaps, overlaps, tasks that move), and only then applied, in one step, by choice.

import { api, ApiError } from './api.js';
import { t } from './i18n.js';
import { h, clear } from './ui.js';

const OPTIONS = ['code_field', 'name_field', 'crs', 'encoding'];

/**
 * Builds the township boundary import form (dry run, then apply) in `root`.
 * @param {HTMLElement} root
 */
export function townshipImport(root) {
  const files = h('input', { type: 'file', id: 'township-file', multiple: true, required: true,
    accept: '.zip,.gpkg,.geojson,.json,.shp,.dbf,.prj,.cpg,.shx' });
  const inputs = Object.fromEntries(OPTIONS.map((name) => [name, h('input', { id: `township-${name}`, name })]));
  const coords = h('select', { id: 'township-coords' },
    ['', 'gcj02', 'bd09'].map((v) => h('option', { value: v }, v || 'WGS 84 / CGCS2000')));
  const check = h('button', { type: 'submit', id: 'township-check' });
  const apply = h('button', { type: 'button', id: 'township-apply', disabled: true, onclick: () => send(true) });
  const result = h('div', { id: 'township-result', 'aria-live': 'polite' });
  const spans = {};
  const labelled = (key, input) => h('label', { class: 'field' }, (spans[key] = h('span')), input);
  const form = h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); send(false); } },
    (spans.intro = h('p', { class: 'note' })),
    labelled('file', files),
    OPTIONS.map((name) => labelled(name, inputs[name])),
    labelled('coords', coords),
    h('div', { class: 'buttons' }, check, apply),
    result);
  clear(root, form);
  files.addEventListener('change', () => { apply.disabled = true; clear(result); });

  async function send(doApply) {
    const body = new FormData();
    for (const f of files.files) body.append('file', f, f.name);
    for (const name of OPTIONS) if (inputs[name].value.trim()) body.append(name, inputs[name].value.trim());
    if (coords.value) body.append('coords', coords.value);
    if (doApply) body.append('apply', 'true');
    check.disabled = apply.disabled = true;
    clear(result, h('p', { class: 'note' }, t('common.loading')));
    try {
      const { data } = await api('/api/townships/import', { method: 'POST', form: body });
      clear(result, report(data),
        // The map's townships, shading and league table are the old ones until the page is drawn again.
        data.applied ? h('button', { type: 'button', id: 'township-reload', onclick: () => location.reload() },
          t('townshipImport.reload')) : null);
      apply.disabled = data.applied || data.orphans.length > 0;
    } catch (e) {
      const detail = e instanceof ApiError ? e.detail : t('error.network');
      clear(result, h('p', { class: 'error', role: 'alert' }, detail),
        e.errors?.length > 1 ? h('ul', { class: 'errors' }, e.errors.map((x) => h('li', {}, x.message))) : null);
    } finally {
      check.disabled = false;
    }
  }

  const label = () => {
    spans.intro.textContent = t('townshipImport.intro');
    for (const key of ['file', 'coords', ...OPTIONS]) spans[key].textContent = t(`townshipImport.${key}`);
    check.textContent = t('townshipImport.check');
    apply.textContent = t('townshipImport.apply');
  };
  label();
}

const km2 = (m2) => (m2 / 1e6).toFixed(m2 < 1e4 ? 6 : 3);

/** The dry run's (or the import's) findings, as lists a person can check against the file. */
function report(r) {
  const list = (key, items, line) => (items.length
    ? [h('h3', {}, t(`townshipImport.${key}`, { n: items.length })), h('ul', { class: `import-${key}` }, items.map((x) => h('li', {}, line(x))))]
    : []);
  return h('div', { class: 'import-report' },
    h('p', { id: 'township-summary' }, t(r.applied ? 'townshipImport.applied' : 'townshipImport.dryRun', {
      n: r.townships, crs: r.crs, area: r.county_area_km2.toFixed(2),
      added: r.added.length, changed: r.changed.length, moves: r.moves.length })),
    list('invalid', r.invalid, (x) => `${x.code} ${x.name}: ${x.reason} → ST_MakeValid (${x.area_km2_before.toFixed(3)} → ${x.area_km2_after.toFixed(3)} km²)`),
    list('overlaps', r.overlaps, (x) => `${x.a} / ${x.b}: ${km2(x.area_m2)} km²`),
    list('gaps', r.gaps, (x) => `${x.between.join(' / ')}: ${km2(x.area_m2)} km² (${x.lon.toFixed(5)}, ${x.lat.toFixed(5)})`),
    list('moves', r.moves, (x) => `${x.code}: ${x.before} → ${x.after ?? '—'}`),
    r.orphans.length ? h('p', { class: 'error' }, t('townshipImport.orphans', { codes: r.orphans.join(', ') })) : null);
}
