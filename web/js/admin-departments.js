// The administrator's departments (牵头单位 / 配合单位): add one, rename or reorder it, retire it
// (its tasks and accounts stay, no new tasks) and restore it. A department's code never changes.

import { api, create } from './api.js';
import { t, depName } from './i18n.js';
import { field, showErrors } from './admin-form.js';
import { h, clear } from './ui.js';
import { setDepartments } from './departments.js';

const TEXT = [['name_zh', 'departmentsAdmin.nameZh', 100], ['name_en', 'departmentsAdmin.nameEn', 100]];

/** The fields of a department's form (`prefix` names the ids); the code only for a new one. */
function departmentFields(prefix, d) {
  return [
    d ? null : field(prefix, 'code', 'departmentsAdmin.code', h('input', { maxlength: 32, autocomplete: 'off' })),
    ...TEXT.map(([name, key, max]) => field(prefix, name, key, h('input', { value: d?.[name] ?? '', maxlength: max, autocomplete: 'off' }))),
    field(prefix, 'sort_order', 'departmentsAdmin.sortOrder', h('input', { type: 'number', step: '1', value: d?.sort_order ?? '' })),
  ];
}

/** The form's values as the API takes them; with `before`, only those that differ from it. */
function values(form, before) {
  const v = {};
  for (const name of ['code', 'name_zh', 'name_en', 'sort_order']) {
    const raw = form.elements[name]?.value.trim();
    if (!raw) continue;
    v[name] = name === 'sort_order' ? Number(raw) : raw;
  }
  return before ? Object.fromEntries(Object.entries(v).filter(([k, x]) => x !== before[k])) : v;
}

function departmentForm(id, fields, buttons, onSubmit) {
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
 * The departments part of the administrator's page, in `root`.
 * @param {HTMLElement} root
 */
export function departmentsAdmin(root) {
  const list = h('ul', { class: 'admin-list', id: 'admin-departments-list' });
  const status = h('p', { class: 'ok', role: 'status', id: 'admin-department-status' });
  const failed = h('p', { class: 'error', role: 'alert', id: 'admin-department-error' });

  async function reload(changed) {
    const departments = (await api('/api/departments')).data;
    setDepartments(departments);
    clear(list, departments.map(item));
    if (changed) status.textContent = t('accounts.saved');
  }

  function item(d) {
    const li = h('li', { class: `admin-item${d.retired ? ' retired' : ''}`, dataset: { code: d.code } });
    const show = () => clear(li,
      h('div', {}, h('strong', {}, depName(d)), d.retired ? h('span', { class: 'badge' }, t('departmentsAdmin.retired')) : null),
      h('div', { class: 'meta' }, `${d.code} · ${d.name_zh} / ${d.name_en}`),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'secondary', dataset: { act: 'edit' }, onclick: edit }, t('departmentsAdmin.edit')),
        h('button', { type: 'button', class: d.retired ? 'secondary' : 'danger', dataset: { act: d.retired ? 'unretire' : 'retire' },
          onclick: () => retire(d, !d.retired) }, t(d.retired ? 'departmentsAdmin.unretire' : 'departmentsAdmin.retire'))));
    const edit = () => {
      const prefix = `admin-department-${d.code}`;
      const form = departmentForm(`${prefix}-form`, departmentFields(prefix, d), [
        h('button', { type: 'submit' }, t('departmentsAdmin.save')),
        h('button', { type: 'button', class: 'secondary', onclick: show }, t('common.cancel')),
      ], async (form) => {
        status.textContent = '';
        const change = values(form, d);
        if (Object.keys(change).length) await api(`/api/departments/${encodeURIComponent(d.code)}`, { method: 'PATCH', json: change });
        await reload(true);
      });
      clear(li, form);
      form.elements.name_zh.focus();
    };
    show();
    return li;
  }

  async function retire(d, yes) {
    if (yes && !confirm(t('departmentsAdmin.retireConfirm', { name: depName(d) }))) return;
    const path = `/api/departments/${encodeURIComponent(d.code)}`;
    try {
      await (yes ? api(path, { method: 'DELETE' }) : api(path, { method: 'PATCH', json: { retired: false } }));
      failed.textContent = '';
    } catch (err) {
      failed.textContent = err.detail || t('error.network');
    }
    await reload(true);
  }

  const addForm = departmentForm('admin-department-form', departmentFields('admin-department'),
    [h('button', { type: 'submit', id: 'admin-department-add' }, t('departmentsAdmin.add'))], async (form) => {
      status.textContent = '';
      await create('/api/departments', { method: 'POST', json: values(form) });
      form.reset();
      await reload(true);
    });
  clear(root, h('h3', {}, t('departmentsAdmin.new')), addForm, status, failed, list);
  return reload(false);
}
