// The administrator's task families: add one, rename, recolour or reorder it, retire it (its tasks
// stay, no new ones) and restore it. The service refuses a new code or prefix for a family tasks
// use, and says so beside the field.

import { api, create } from './api.js';
import { t, catName } from './i18n.js';
import { field, showErrors } from './admin-form.js';
import { h, clear } from './ui.js';

const TEXT = [['code', 'families.code', 32], ['prefix', 'families.prefix', 4], ['name_zh', 'families.nameZh', 100],
  ['name_en', 'families.nameEn', 100]];

/** The fields of a family's form (`prefix` names the ids), filled from `f` when editing. */
function familyFields(prefix, f = {}) {
  return [
    ...TEXT.map(([name, key, max]) => field(prefix, name, key, h('input', { value: f[name] ?? '', maxlength: max, autocomplete: 'off' }))),
    field(prefix, 'color', 'families.color', h('input', { type: 'color', value: f.color ?? '#2e8b57' })),
    field(prefix, 'sort_order', 'families.sortOrder', h('input', { type: 'number', step: '1', value: f.sort_order ?? '' })),
    // What the family asks of report photos: set on an existing family (a new one starts at the defaults).
    f.code ? evidenceFields(prefix, f) : null,
  ];
}

/** The far limit for photos (metres) and whether a completion or a start needs a photo of its stage. */
function evidenceFields(prefix, f) {
  const check = (name, key) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name, id: `${prefix}-${name}`, checked: Boolean(f[name]) }), t(key));
  return h('fieldset', { class: 'stack' }, h('legend', {}, t('families.evidence')),
    field(prefix, 'photo_far_m', 'families.photoFar', h('input', { type: 'number', step: '1', min: '10', max: '100000', value: f.photo_far_m ?? 500 })),
    check('require_after_photo', 'families.requireAfter'),
    check('require_before_photo', 'families.requireBefore'));
}

/** The form's values as the API takes them; with `before`, only those that differ from it. */
function values(form, before) {
  const v = {};
  for (const [name] of [...TEXT, ['color'], ['sort_order'], ['photo_far_m']]) {
    const raw = form.elements[name]?.value.trim() ?? '';
    if (raw === '') continue;
    v[name] = name === 'sort_order' || name === 'photo_far_m' ? Number(raw) : raw;
  }
  for (const name of ['require_after_photo', 'require_before_photo']) {
    if (form.elements[name]) v[name] = form.elements[name].checked;
  }
  if (!before) return v;
  // The service keeps prefixes in upper case and colours in lower case.
  const same = (k, x) => (k === 'prefix' || k === 'color' ? String(x).toLowerCase() === String(before[k]).toLowerCase() : x === before[k]);
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => !same(k, x)));
}

/** A form: its fields, a line for the refusal, and its buttons. */
function familyForm(id, fields, buttons, onSubmit) {
  const general = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'stack', id, novalidate: true }, fields, general, h('div', { class: 'buttons' }, buttons));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await onSubmit(form);
      showErrors(form, general, null);
    } catch (err) {
      showErrors(form, general, err);
    }
  });
  return form;
}

/**
 * The task families part of the administrator's page, in `root`.
 * @param {HTMLElement} root
 * @param {{onChanged: (families: object[]) => void}} ctx called with every family after a change
 */
export function familiesAdmin(root, { onChanged }) {
  const list = h('ul', { class: 'admin-list', id: 'admin-families' });
  const status = h('p', { class: 'ok', role: 'status', id: 'admin-family-status' });
  const failed = h('p', { class: 'error', role: 'alert', id: 'admin-family-error' });

  async function reload(changed) {
    const families = (await api('/api/categories')).data;
    clear(list, families.map((f) => item(f)));
    if (changed) {
      onChanged(families);
      status.textContent = t('accounts.saved');
    }
    return families;
  }

  function item(f) {
    const li = h('li', { class: `admin-item${f.retired ? ' retired' : ''}`, dataset: { code: f.code } });
    const show = () => clear(li,
      h('div', {}, h('i', { class: 'swatch', style: { background: f.color }, 'aria-hidden': 'true' }), ' ',
        h('strong', {}, catName(f)), f.retired ? h('span', { class: 'badge' }, t('families.retired')) : null),
      h('div', { class: 'meta' }, `${f.code} · ${f.prefix} · ${f.name_zh} / ${f.name_en}`),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'secondary', dataset: { act: 'edit' }, onclick: edit }, t('families.edit')),
        h('button', { type: 'button', class: f.retired ? 'secondary' : 'danger', dataset: { act: f.retired ? 'unretire' : 'retire' },
          onclick: () => retire(f, !f.retired) }, t(f.retired ? 'families.unretire' : 'families.retire'))));
    const edit = () => {
      const prefix = `admin-family-${f.code}`;
      const form = familyForm(`${prefix}-form`, [familyFields(prefix, f), h('p', { class: 'note' }, t('families.lockedNote'))], [
        h('button', { type: 'submit' }, t('families.save')),
        h('button', { type: 'button', class: 'secondary', onclick: () => { show(); li.querySelector('button')?.focus(); } }, t('common.cancel')),
      ], async (form) => {
        status.textContent = '';
        const change = values(form, f);
        if (Object.keys(change).length) await api(`/api/categories/${encodeURIComponent(f.code)}`, { method: 'PATCH', json: change });
        await reload(true);
      });
      clear(li, form);
      form.elements.name_zh.focus();
    };
    show();
    return li;
  }

  async function retire(f, yes) {
    if (yes && !confirm(t('families.retireConfirm', { name: catName(f) }))) return;
    const path = `/api/categories/${encodeURIComponent(f.code)}`;
    try {
      await (yes ? api(path, { method: 'DELETE' }) : api(path, { method: 'PATCH', json: { retired: false } }));
      failed.textContent = '';
    } catch (err) {
      failed.textContent = err.detail || t('error.network');
    }
    await reload(true);
    list.querySelector(`[data-code="${CSS.escape(f.code)}"] button[data-act]`)?.focus();
  }

  const addForm = familyForm('admin-family-form', familyFields('admin-family'),
    [h('button', { type: 'submit', id: 'admin-family-add' }, t('families.add'))], async (form) => {
      status.textContent = '';
      await create('/api/categories', { method: 'POST', json: values(form) });
      form.reset();
      await reload(true);
    });
  clear(root, h('h3', {}, t('families.new')), addForm, status, failed, list);
  return reload(false);
}
