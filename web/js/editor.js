// The bureau's editing: draw a point, a river stretch or an area with Leaflet-Geoman and fill in
// the task form; or change an existing task's fields and geometry. Every change is sent with the
// ETag of the version the user started from, so nobody overwrites someone else's edit unseen.

import { api, create, ApiError } from './api.js';
import { t, onLangChange, lang } from './i18n.js';
import { h, clear } from './ui.js';
import { geoman } from './lib.js';
import { staleFrom } from './actions.js';
import { taskForm, changedFields } from './task-form.js';

const L = window.L;

const SHAPES = [
  { shape: 'Marker', key: 'draw.point', icon: '●' },
  { shape: 'Line', key: 'draw.line', icon: '〰' },
  { shape: 'Polygon', key: 'draw.area', icon: '⬟' },
];

const draftIcon = () => L.divIcon({ className: 'task-marker', html: '<span class="pin draft"></span>', iconSize: [20, 20], iconAnchor: [10, 10] });

/** Stores a new task from the form's values (those set) on `geometry`. */
function createTask(values, geometry) {
  const properties = Object.fromEntries(Object.entries(values).filter(([, x]) => x !== null && x !== ''));
  return create('/api/tasks', { method: 'POST', contentType: 'application/geo+json',
    json: { type: 'Feature', geometry, properties } });
}

/** Sends what changed of a task (and its new geometry, if any); null when nothing did. */
async function patchTask(feature, etag, values, geometry) {
  const body = {};
  const changed = changedFields(values, feature.properties);
  if (Object.keys(changed).length) body.properties = changed;
  if (geometry) body.geometry = geometry;
  if (!Object.keys(body).length) return null;
  return api(`/api/tasks/${feature.id}`, { method: 'PATCH', json: body, headers: { 'If-Match': etag } });
}

const geometryOf = (layer) => layer.toGeoJSON().geometry;

/** The drawing bar: a button per kind of geometry, in the reader's language. */
function drawBar(onPick) {
  const control = L.control({ position: 'topright' });
  control.onAdd = () => {
    const div = h('div', { class: 'draw-bar leaflet-bar', id: 'draw-bar', role: 'toolbar' });
    L.DomEvent.disableClickPropagation(div);
    const render = () => clear(div, SHAPES.map((s) => h('button', { type: 'button', dataset: { shape: s.shape },
      title: t(s.key), 'aria-label': t(s.key), onclick: () => onPick(s.shape) },
    h('span', { 'aria-hidden': 'true' }, s.icon), h('span', { class: 'label' }, t(s.key)))));
    render();
    onLangChange(render);
    return div;
  };
  return control;
}

/** Drawing and editing on the map, and the task form in the panel; one draft at a time. */
class Editor {
  #map;
  #ctx;
  #draft = null; // the layer being drawn or edited
  #toolbar = null;

  constructor(map, ctx) {
    this.#map = map;
    this.#ctx = ctx;
  }

  /** Shows the drawing tools (bureau and administrators only). */
  async enable() {
    if (this.#toolbar) return;
    this.#toolbar = drawBar((shape) => this.#startDrawing(shape)).addTo(this.#map);
    await geoman(this.#map);
    // Geoman's drawing hints come from its own tables; keep them in the user's language.
    const hints = () => this.#map.pm.setLang(lang() === 'en' ? 'en' : 'zh');
    hints();
    onLangChange(hints);
    this.#map.on('pm:create', this.#onCreate);
  }

  /** Hides the drawing tools and drops any draft. */
  disable() {
    this.#toolbar?.remove();
    this.#toolbar = null;
    this.#clearDraft();
    this.#map.off('pm:create', this.#onCreate);
  }

  /** The form of an existing task, as loaded with `etag`. */
  edit(feature, etag) {
    this.#clearDraft();
    this.#openForm({ mode: 'edit', feature, etag });
  }

  #clearDraft() {
    if (this.#draft) {
      this.#draft.pm?.disable();
      this.#map.removeLayer(this.#draft);
    }
    this.#draft = null;
  }

  async #startDrawing(shape) {
    const map = this.#map;
    await geoman(map);
    this.#clearDraft();
    map.pm.disableDraw();
    map.pm.setGlobalOptions({ snappable: false, allowSelfIntersection: false, markerStyle: { icon: draftIcon() } });
    map.pm.enableDraw(shape, { continueDrawing: false, finishOn: shape === 'Line' ? 'dblclick' : null });
  }

  #onCreate = (e) => {
    this.#draft = e.layer;
    // Geoman adds what it draws to the map; it stays our draft until saved or dropped.
    this.#map.pm.disableDraw();
    this.#openForm({ mode: 'create' });
  };

  /** Makes the task's geometry editable on the map (left off the tasks layer meanwhile). */
  async #editGeometry(feature, onEdited) {
    await geoman(this.#map);
    if (!this.#draft) {
      this.#ctx.hideOnMap(feature.id, true);
      this.#draft = editableLayer(feature.geometry).addTo(this.#map);
      this.#draft.on('pm:edit', () => onEdited(geometryOf(this.#draft)));
    }
    this.#draft.pm.enable({ allowSelfIntersection: false, snappable: false });
    this.#map.fitBounds(boundsOf(this.#draft), { maxZoom: 16 });
  }

  #close(mode, feature, cancelled) {
    if (mode === 'edit') this.#ctx.hideOnMap(feature.id, false);
    this.#clearDraft();
    if (cancelled) this.#ctx.onCancel(mode === 'edit' ? feature : null);
  }

  /** The task form. `mode` create: a new task on the draft; edit: `feature` with `etag`. */
  #openForm({ mode, feature, etag, message }) {
    const ctx = this.#ctx;
    let geometryChanged = mode === 'create';
    const editGeometry = () => this.#editGeometry(feature, (g) => {
      geometryChanged = true;
      ui.describeGeometry(g);
    });
    const ui = taskForm({
      mode, feature, message, categories: ctx.categories, townships: ctx.townships,
      extraButtons: mode === 'edit' ? [h('button', { type: 'button', class: 'secondary', id: 'edit-geometry', onclick: editGeometry }, t('form.editGeometry'))] : [],
      onSubmit: () => this.#save(ui, { mode, feature, etag, geometryChanged }),
      onCancel: () => this.#close(mode, feature, true),
    });
    ui.describeGeometry(mode === 'create' ? geometryOf(this.#draft) : feature.geometry);
    ctx.showForm(mode === 'create' ? t('form.newTitle') : t('form.editTitle', { code: feature.properties.code }), ui.form);
    ui.focus();
  }

  async #save(ui, { mode, feature, etag, geometryChanged }) {
    const draft = this.#draft;
    try {
      const r = mode === 'create' ? await createTask(ui.values(), geometryOf(draft))
        : await patchTask(feature, etag, ui.values(), geometryChanged && draft ? geometryOf(draft) : null);
      if (!r) return ui.say(t('form.nothing'));
      this.#close(mode, feature, false);
      this.#ctx.onSaved(r.data, r.etag, t(mode === 'create' ? 'form.created' : 'form.updated', { code: r.data.properties.code }));
    } catch (err) {
      const stale = staleFrom(err);
      if (stale) {
        ui.showConflict(stale, () => {
          this.#close(mode, feature, false);
          this.#openForm({ mode: 'edit', feature: stale.feature, etag: stale.etag, message: t('conflict.reloaded') });
        });
        this.#ctx.onChanged(stale.feature);
      } else if (err instanceof ApiError) ui.showErrors(err);
      else ui.say(t('error.network'));
    }
  }
}

/**
 * The bureau's editor on `map`, its forms shown in the task panel.
 * @param {object} map the Leaflet map
 * @param {object} ctx `categories` (Map by code), `townships()`, `showForm(title, node)`,
 *   `hideOnMap(id, yes)`, and the handlers `onSaved(feature, etag, message)`, `onChanged()` and
 *   `onCancel(feature | null)`
 * @returns {Editor}
 */
export function editor(map, ctx) {
  return new Editor(map, ctx);
}

function editableLayer(geometry) {
  const group = L.geoJSON(geometry, { pointToLayer: (_, latlng) => L.marker(latlng, { icon: draftIcon() }) });
  // Geoman edits one layer; a task's geometry is one feature, so take the one inside.
  return group.getLayers()[0];
}

function boundsOf(layer) {
  return layer.getBounds ? layer.getBounds() : L.latLngBounds([layer.getLatLng(), layer.getLatLng()]);
}
