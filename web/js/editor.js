// The bureau's editing: draw a point, a river stretch or an area with Leaflet-Geoman and fill in
// the task form; or change an existing task's fields and geometry. Every change is sent with the
// ETag of the version the user started from, so nobody overwrites someone else's edit unseen.

import { api, ApiError } from './api.js';
import { t, catName, onLangChange, lang } from './i18n.js';
import { h, clear } from './ui.js';
import { geoman } from './lib.js';
import { staleFrom } from './actions.js';

const L = window.L;

const SHAPES = [
  { shape: 'Marker', key: 'draw.point', icon: '●' },
  { shape: 'Line', key: 'draw.line', icon: '〰' },
  { shape: 'Polygon', key: 'draw.area', icon: '⬟' },
];

// Text and number fields of the form, in order; `edit` ones appear only when editing.
const FIELDS = [
  { name: 'title', type: 'text', required: true, maxlength: 200 },
  { name: 'description', type: 'textarea' },
  { name: 'lead_unit', type: 'text' },
  { name: 'contact_person', type: 'text' },
  { name: 'contact_phone', type: 'tel' },
  { name: 'due_date', type: 'date' },
  { name: 'planned_investment', type: 'number', step: '0.01', min: '0' },
  { name: 'actual_investment', type: 'number', step: '0.01', min: '0', edit: true },
  { name: 'target_quantity', type: 'number', step: 'any', min: '0' },
  { name: 'target_unit', type: 'text' },
];

const draftIcon = () => L.divIcon({ className: 'task-marker', html: '<span class="pin draft"></span>', iconSize: [20, 20], iconAnchor: [10, 10] });

/**
 * The bureau's editor on `map`, its forms shown in the task panel.
 * @param {object} map the Leaflet map
 * @param {HTMLElement} panel the task panel (#detail)
 * @param {object} ctx `categories` (Map by code), `townships()`, `showForm(title, node)`,
 *   `hideOnMap(id, yes)`, and the handlers `onSaved(feature, etag, message)`, `onChanged()` and
 *   `onCancel(feature | null)`
 * @returns {{enable: () => Promise<void>, disable: () => void, edit: (feature: object, etag: string) => void}}
 */
export function editor(map, panel, ctx) {
  let draft = null; // the layer being drawn or edited
  let toolbar = null;

  function clearDraft() {
    if (draft) {
      draft.pm?.disable();
      map.removeLayer(draft);
    }
    draft = null;
  }

  function geometryOf(layer) {
    return layer.toGeoJSON().geometry;
  }

  async function startDrawing(shape) {
    await geoman(map);
    clearDraft();
    map.pm.disableDraw();
    map.pm.setGlobalOptions({ snappable: false, allowSelfIntersection: false, markerStyle: { icon: draftIcon() } });
    map.pm.enableDraw(shape, { continueDrawing: false, finishOn: shape === 'Line' ? 'dblclick' : null });
  }

  function buildToolbar() {
    const control = L.control({ position: 'topright' });
    control.onAdd = () => {
      const div = h('div', { class: 'draw-bar leaflet-bar', id: 'draw-bar', role: 'toolbar' });
      L.DomEvent.disableClickPropagation(div);
      const render = () => clear(div, SHAPES.map((s) => h('button', { type: 'button', dataset: { shape: s.shape },
        title: t(s.key), 'aria-label': t(s.key), onclick: () => startDrawing(s.shape) },
      h('span', { 'aria-hidden': 'true' }, s.icon), h('span', { class: 'label' }, t(s.key)))));
      render();
      onLangChange(render);
      return div;
    };
    return control;
  }

  function onCreate(e) {
    draft = e.layer;
    // Geoman adds what it draws to the map; it stays our draft until saved or dropped.
    map.pm.disableDraw();
    openForm({ mode: 'create', geometry: geometryOf(draft) });
  }

  function input(f, value) {
    const attrs = { name: f.name, id: `f-${f.name}`, required: f.required, maxlength: f.maxlength, step: f.step, min: f.min,
      'aria-describedby': `e-${f.name}` };
    if (f.type === 'textarea') return h('textarea', { ...attrs, rows: 3 }, value ?? '');
    return h('input', { ...attrs, type: f.type, value: value ?? '' });
  }

  function row(name, control) {
    return h('div', { class: 'field' }, h('label', { for: `f-${name}` }, t(`field.${name}`)), control,
      h('p', { class: 'field-error', id: `e-${name}`, dataset: { for: name } }));
  }

  /** The task form. `mode` create: a new task on `geometry`; edit: `feature` with `etag`. */
  function openForm({ mode, geometry, feature, etag, message }) {
    const p = feature?.properties || {};
    let geometryChanged = mode === 'create';
    const general = h('p', { class: 'error', role: 'alert', id: 'form-error' }, message || '');
    const conflict = h('div', { class: 'conflict', id: 'form-conflict', hidden: true });
    const geomNote = h('p', { class: 'note', id: 'form-geometry' });
    const geomError = h('p', { class: 'field-error', id: 'e-geometry', dataset: { for: 'geometry' } });
    const describeGeometry = (g) => { geomNote.textContent = t('form.geometry', { type: t(`geometry.${g.type}`, {}, g.type) }); };
    describeGeometry(geometry || feature.geometry);

    const category = h('select', { name: 'category', id: 'f-category', required: true, 'aria-describedby': 'e-category' },
      mode === 'create' ? h('option', { value: '' }, t('form.choose')) : null,
      [...ctx.categories.values()].map((c) => h('option', { value: c.code, selected: c.code === p.category }, catName(c))));
    const visibility = h('select', { name: 'visibility', id: 'f-visibility' },
      ['public', 'internal'].map((v) => h('option', { value: v, selected: (p.visibility || 'public') === v }, t(`visibility.${v}`))));
    const township = h('select', { name: 'township', id: 'f-township' },
      h('option', { value: '' }, t('form.autoTownship')),
      ctx.townships().map((w) => h('option', { value: w.code, selected: p.township_overridden && p.township === w.code }, w.name)));
    const supervised = h('input', { type: 'checkbox', name: 'supervised', id: 'f-supervised', checked: !!p.supervised });

    const extraButtons = [];
    if (mode === 'edit') {
      extraButtons.push(h('button', { type: 'button', class: 'secondary', id: 'edit-geometry', onclick: async () => {
        await geoman(map);
        if (!draft) {
          ctx.hideOnMap(feature.id, true);
          draft = editableLayer(feature.geometry).addTo(map);
          draft.on('pm:edit', () => { geometryChanged = true; describeGeometry(geometryOf(draft)); });
        }
        draft.pm.enable({ allowSelfIntersection: false, snappable: false });
        map.fitBounds(boundsOf(draft), { maxZoom: 16 });
      } }, t('form.editGeometry')));
    }

    const form = h('form', { class: 'stack task-form', id: 'task-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      await save();
    } },
    general, conflict, geomNote, geomError,
    row('category', category),
    FIELDS.filter((f) => mode === 'edit' || !f.edit).map((f) => row(f.name, input(f, p[f.name]))),
    row('visibility', visibility),
    row('township', township),
    mode === 'create' ? h('label', { class: 'check' }, supervised, t('field.supervised')) : null,
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', id: 'form-save' }, t('form.save')),
      extraButtons,
      h('button', { type: 'button', class: 'secondary', id: 'form-cancel', onclick: () => close(true) }, t('common.cancel'))));

    const values = () => {
      const v = { category: category.value, visibility: visibility.value };
      for (const f of FIELDS) {
        const el = form.elements[f.name];
        if (!el) continue;
        const raw = el.value.trim();
        v[f.name] = raw === '' ? null : f.type === 'number' ? Number(raw) : raw;
      }
      v.township = township.value || null;
      if (mode === 'create') v.supervised = supervised.checked;
      return v;
    };

    function showErrors(err) {
      for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
      for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
      general.textContent = err.detail;
      for (const { pointer, detail } of err.errors) {
        const m = /^\/properties\/([^/]+)/.exec(pointer);
        const name = m ? m[1] : pointer.startsWith('/geometry') ? 'geometry' : null;
        const slot = name && form.querySelector(`.field-error[data-for="${name}"]`);
        if (slot) {
          slot.textContent = detail;
          form.elements[name]?.setAttribute('aria-invalid', 'true');
        }
      }
      const first = form.querySelector('[aria-invalid]');
      first?.focus();
    }

    async function save() {
      general.textContent = '';
      conflict.hidden = true;
      const v = values();
      try {
        if (mode === 'create') {
          const props = Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null && x !== ''));
          const r = await api('/api/tasks', { method: 'POST', contentType: 'application/geo+json',
            json: { type: 'Feature', geometry: geometryOf(draft), properties: props } });
          close(false);
          ctx.onSaved(r.data, r.etag, t('form.created', { code: r.data.properties.code }));
        } else {
          const changed = {};
          for (const [k, x] of Object.entries(v)) {
            const before = k === 'township' ? (p.township_overridden ? p.township : null) : (p[k] ?? null);
            if (x !== before && !(x === null && before === '')) changed[k] = x;
          }
          const body = {};
          if (Object.keys(changed).length) body.properties = changed;
          if (geometryChanged && draft) body.geometry = geometryOf(draft);
          if (!Object.keys(body).length) {
            general.textContent = t('form.nothing');
            return;
          }
          const r = await api(`/api/tasks/${feature.id}`, { method: 'PATCH', json: body, headers: { 'If-Match': etag } });
          close(false);
          ctx.onSaved(r.data, r.etag, t('form.updated'));
        }
      } catch (err) {
        const stale = staleFrom(err);
        if (stale) {
          showConflict(stale);
        } else if (err instanceof ApiError) {
          showErrors(err);
        } else {
          general.textContent = t('error.network');
        }
      }
    }

    function showConflict(stale) {
      const c = stale.feature.properties;
      general.textContent = stale.message;
      clear(conflict,
        h('h3', {}, t('conflict.current', { version: c.version })),
        h('dl', { class: 'fields' },
          ['title', 'category', 'lead_unit', 'due_date', 'planned_investment', 'visibility'].flatMap((k) => [
            h('dt', {}, t(`field.${k}`)),
            h('dd', { dataset: { field: k } }, k === 'category' ? catName(ctx.categories.get(c[k]) || { code: c[k] }) : String(c[k] ?? '—'))])),
        h('button', { type: 'button', id: 'conflict-reload', onclick: () => {
          close(false);
          openForm({ mode: 'edit', feature: stale.feature, etag: stale.etag, message: t('conflict.reloaded') });
        } }, t('conflict.reload')));
      conflict.hidden = false;
      general.scrollIntoView({ block: 'start' });
      ctx.onChanged(stale.feature);
    }

    function close(cancelled) {
      if (mode === 'edit') ctx.hideOnMap(feature.id, false);
      clearDraft();
      if (cancelled) ctx.onCancel(mode === 'edit' ? feature : null);
    }

    ctx.showForm(mode === 'create' ? t('form.newTitle') : t('form.editTitle', { code: p.code }), form);
    (mode === 'create' ? category : form.elements.title).focus();
  }

  return {
    /** Shows the drawing tools (bureau and administrators only). */
    async enable() {
      if (toolbar) return;
      toolbar = buildToolbar().addTo(map);
      await geoman(map);
      // Geoman's drawing hints come from its own tables; keep them in the user's language.
      const hints = () => map.pm.setLang(lang() === 'en' ? 'en' : 'zh');
      hints();
      onLangChange(hints);
      map.on('pm:create', onCreate);
    },
    disable() {
      toolbar?.remove();
      toolbar = null;
      clearDraft();
      map.off('pm:create', onCreate);
    },
    edit(feature, etag) {
      clearDraft();
      openForm({ mode: 'edit', feature, etag });
    },
  };
}

function editableLayer(geometry) {
  const group = L.geoJSON(geometry, { pointToLayer: (_, latlng) => L.marker(latlng, { icon: draftIcon() }) });
  // Geoman edits one layer; a task's geometry is one feature, so take the one inside.
  return group.getLayers()[0];
}

function boundsOf(layer) {
  return layer.getBounds ? layer.getBounds() : L.latLngBounds([layer.getLatLng(), layer.getLatLng()]);
}
