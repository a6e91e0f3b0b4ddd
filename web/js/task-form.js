// The bureau's task form: its fields, what they hold, and where a refusal or a newer version is
// shown. The editor (editor.js) decides what is sent and when.

import { t, catName } from './i18n.js';
import { h, clear } from './ui.js';
import { departmentList, departmentName } from './departments.js';

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

/** The fields a newer version is compared on, when someone else saved first. */
const CONFLICT_FIELDS = ['title', 'category', 'lead_unit', 'due_date', 'planned_investment', 'visibility'];

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

/** The choices of the form: family, visibility, township (else found from the geometry), supervision.
 * A retired family is offered only to the tasks already in it. */
function choices(mode, p, { categories, townships }) {
  const open = [...categories.values()].filter((c) => !c.retired || c.code === p.category);
  return {
    category: h('select', { name: 'category', id: 'f-category', required: true, 'aria-describedby': 'e-category' },
      mode === 'create' ? h('option', { value: '' }, t('form.choose')) : null,
      open.map((c) => h('option', { value: c.code, selected: c.code === p.category }, catName(c)))),
    visibility: h('select', { name: 'visibility', id: 'f-visibility' },
      ['public', 'internal'].map((v) => h('option', { value: v, selected: (p.visibility || 'public') === v }, t(`visibility.${v}`)))),
    township: h('select', { name: 'township', id: 'f-township' },
      h('option', { value: '' }, t('form.autoTownship')),
      townships().map((w) => h('option', { value: w.code, selected: p.township_overridden && p.township === w.code }, w.name))),
    supervised: h('input', { type: 'checkbox', name: 'supervised', id: 'f-supervised', checked: !!p.supervised }),
    ...departmentChoices(p),
  };
}

/** The lead department (one, or none) and the supporting ones (any): a retired department is
 * offered only to the tasks that already have it. */
function departmentChoices(p) {
  const support = new Set(p.support_departments || []);
  const offered = (code) => departmentList().filter((d) => !d.retired || d.code === code || support.has(d.code));
  return {
    lead_department: h('select', { name: 'lead_department', id: 'f-lead_department', 'aria-describedby': 'e-lead_department' },
      h('option', { value: '' }, t('departments.none')),
      offered(p.lead_department).map((d) => h('option', { value: d.code, selected: d.code === p.lead_department }, departmentName(d.code)))),
    support_departments: h('fieldset', { class: 'field checks', id: 'f-support_departments', 'aria-describedby': 'e-support_departments' },
      h('legend', {}, t('field.support_departments')),
      offered(null).map((d) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'support_departments', value: d.code, checked: support.has(d.code) }),
        departmentName(d.code)))),
  };
}

/**
 * The form's values as the API takes them: numbers as numbers, empty fields as null.
 * @returns {object}
 */
function readValues(form, mode, c) {
  const v = { category: c.category.value, visibility: c.visibility.value };
  for (const f of FIELDS) {
    const el = form.elements[f.name];
    if (!el) continue;
    const raw = el.value.trim();
    v[f.name] = raw === '' ? null : f.type === 'number' ? Number(raw) : raw;
  }
  v.township = c.township.value || null;
  v.lead_department = c.lead_department.value || null;
  v.support_departments = [...c.support_departments.querySelectorAll('input:checked')].map((i) => i.value);
  if (mode === 'create') v.supervised = c.supervised.checked;
  return v;
}

/** The form's error slot for a field error (or the geometry's note), if it has one. */
function slotOf(form, { pointer }) {
  const m = /^\/properties\/([^/]+)/.exec(pointer);
  const name = m ? m[1] : pointer.startsWith('/geometry') ? 'geometry' : null;
  return name && form.querySelector(`.field-error[data-for="${name}"]`);
}

/** Each of the refusal's field errors beside its field (or the geometry's note), the first focused. */
function showFieldErrors(form, err) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const e of err.errors) {
    const slot = slotOf(form, e);
    if (slot) {
      slot.textContent = e.message;
      const el = form.elements[slot.dataset.for];
      // A group of checkboxes is a list, not one element: the group is marked instead.
      (el instanceof Element ? el : form.querySelector(`#f-${slot.dataset.for}`))?.setAttribute('aria-invalid', 'true');
    }
  }
  form.querySelector('[aria-invalid]')?.focus();
}

/**
 * What changed from the task's properties `p`: only those go in a PATCH. The township counts as
 * set only where the bureau chose it (else it follows the geometry).
 * @param {object} values the form's values
 * @param {object} p the task's properties as loaded
 */
export function changedFields(values, p) {
  const changed = {};
  for (const [k, x] of Object.entries(values)) {
    const before = k === 'township' ? (p.township_overridden ? p.township : null) : (p[k] ?? null);
    if (Array.isArray(x)) {
      if (x.join(',') !== (before || []).join(',')) changed[k] = x;
    } else if (x !== before && !(x === null && before === '')) changed[k] = x;
  }
  return changed;
}

/**
 * The task form. `mode` create: empty fields for a new task; edit: `feature`'s fields.
 * @param {object} options `mode`, `feature`, `message` (shown on top), `categories` (Map by code),
 *   `townships()`, `extraButtons`, and the handlers `onSubmit()` and `onCancel()`
 * @returns {TaskForm}
 *
 * @typedef {object} TaskForm
 * @property {HTMLFormElement} form
 * @property {() => object} values
 * @property {(text: string) => void} say a message on top of the form ('' clears it)
 * @property {(g: object) => void} describeGeometry
 * @property {(err: object) => void} showErrors a refusal (ApiError)
 * @property {(stale: object, onReload: () => void) => void} showConflict a newer version (actions.js `staleFrom`)
 * @property {() => void} focus
 */
export function taskForm({ mode, feature, message, categories, townships, extraButtons = [], onSubmit, onCancel }) {
  const p = feature?.properties || {};
  const general = h('p', { class: 'error', role: 'alert', id: 'form-error' }, message || '');
  const conflict = h('div', { class: 'conflict', id: 'form-conflict', hidden: true });
  const geomNote = h('p', { class: 'note', id: 'form-geometry' });
  const geomError = h('p', { class: 'field-error', id: 'e-geometry', dataset: { for: 'geometry' } });
  const c = choices(mode, p, { categories, townships });
  const form = h('form', { class: 'stack task-form', id: 'task-form', novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    conflict.hidden = true;
    general.textContent = '';
    onSubmit();
  } },
  general, conflict, geomNote, geomError,
  row('category', c.category),
  FIELDS.filter((f) => mode === 'edit' || !f.edit).map((f) => row(f.name, input(f, p[f.name]))),
  row('visibility', c.visibility),
  row('township', c.township),
  row('lead_department', c.lead_department),
  c.support_departments,
  h('p', { class: 'field-error', id: 'e-support_departments', dataset: { for: 'support_departments' } }),
  mode === 'create' ? h('label', { class: 'check' }, c.supervised, t('field.supervised')) : null,
  h('div', { class: 'buttons' },
    h('button', { type: 'submit', id: 'form-save' }, t('form.save')),
    extraButtons,
    h('button', { type: 'button', class: 'secondary', id: 'form-cancel', onclick: onCancel }, t('common.cancel'))));

  return {
    form,
    values: () => readValues(form, mode, c),
    say: (text) => { general.textContent = text; },
    describeGeometry: (g) => { geomNote.textContent = t('form.geometry', { type: t(`geometry.${g.type}`, {}, g.type) }); },
    showErrors(err) {
      general.textContent = err.text ? err.text((e) => Boolean(slotOf(form, e))) : err.detail;
      showFieldErrors(form, err);
    },
    showConflict(stale, onReload) {
      const now = stale.feature.properties;
      general.textContent = stale.message;
      clear(conflict,
        h('h3', {}, t('conflict.current', { version: now.version })),
        h('dl', { class: 'fields' }, CONFLICT_FIELDS.flatMap((k) => [
          h('dt', {}, t(`field.${k}`)),
          h('dd', { dataset: { field: k } }, k === 'category' ? catName(categories.get(now[k]) || { code: now[k] }) : String(now[k] ?? '—'))])),
        h('button', { type: 'button', id: 'conflict-reload', onclick: onReload }, t('conflict.reload')));
      conflict.hidden = false;
      general.scrollIntoView({ block: 'start' });
    },
    focus: () => (mode === 'create' ? c.category : form.elements.title).focus(),
  };
}
