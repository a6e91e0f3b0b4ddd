// The administrator's accounts: one made at a time or a whole roster from a CSV file, each with a
// temporary password the service makes and shows this once (with a CSV of them to hand out); the
// list of accounts, each to deactivate, activate or give a new temporary password.

import { api, create, ApiError } from './api.js';
import { t } from './i18n.js';
import { field, showErrors } from './admin-form.js';
import { h, clear, uuid } from './ui.js';
import { departmentList, departmentName } from './departments.js';

const ROLES = ['township', 'department', 'bureau', 'admin'];

/** Each refused row of a roster, "Row 3, township: …", under the refusal's summary. */
function rowErrors(err) {
  const lines = (err.errors || []).map(({ pointer, message }) => {
    const [row, name] = pointer.split('/').slice(1);
    return row === undefined ? message
      : t('accounts.rowError', { row, field: name ? t(`field.${name}`, {}, name) : '', detail: message });
  });
  return [h('p', { class: 'error', role: 'alert' }, err instanceof ApiError ? err.detail : t('error.network')),
    lines.length ? h('ul', { class: 'errors', id: 'admin-bulk-errors' }, lines.map((l) => h('li', {}, l))) : null];
}

let download = null;

/** A roster's answer: what was made and skipped, and the temporary passwords, shown this once. */
function shownOnce(report) {
  if (download) URL.revokeObjectURL(download);
  download = null;
  const made = report.created.filter((a) => a.temporary_password);
  if (made.length && report.passwords_csv) download = URL.createObjectURL(new Blob([report.passwords_csv], { type: 'text/csv;charset=utf-8' }));
  return h('div', { class: 'temp-passwords', id: 'admin-passwords' },
    h('p', { class: 'ok', role: 'status' }, t('accounts.created', { n: report.created.length, skipped: report.skipped.length })),
    report.skipped.length ? h('ul', { class: 'note' }, report.skipped.map((s) => h('li', {}, t('accounts.skipped', s)))) : null,
    report.created.length ? h('p', { class: 'note' }, t('accounts.passwordsOnce')) : null,
    h('ul', { class: 'password-list' }, report.created.map((a) => h('li', {},
      h('span', {}, `${a.username} `),
      a.temporary_password ? h('code', { dataset: { username: a.username }, 'aria-label': t('accounts.passwordFor', a) }, a.temporary_password)
        : h('span', { class: 'note' }, t('accounts.given'))))),
    download ? h('a', { class: 'download', id: 'admin-passwords-csv', href: download, download: 'temporary-passwords.csv' },
      t('accounts.download')) : null);
}

/** The form for one account: made through the roster endpoint, so its password is made there too. */
function newAccountForm(townships, result, onMade) {
  const role = h('select', {}, ROLES.map((r) => h('option', { value: r }, t(`role.${r}`))));
  const township = h('select', {}, townships.map((w) => h('option', { value: w.code }, `${w.name} (${w.code})`)));
  const department = h('select', {});
  // Filled when chosen, so a department the administrator has just added on the other tab is offered.
  const offerDepartments = () => {
    const chosen = department.value;
    clear(department, departmentList().filter((d) => !d.retired)
      .map((d) => h('option', { value: d.code, selected: d.code === chosen }, `${departmentName(d.code)} (${d.code})`)));
  };
  const general = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'stack', id: 'admin-user-form', novalidate: true },
    field('admin-user', 'username', 'accounts.username', h('input', { required: true, autocomplete: 'off', maxlength: 64 })),
    field('admin-user', 'display_name', 'accounts.displayName', h('input', { maxlength: 100, autocomplete: 'off' })),
    field('admin-user', 'role', 'accounts.role', role),
    field('admin-user', 'township', 'accounts.township', township),
    field('admin-user', 'department', 'accounts.department', department),
    general,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'admin-user-create' }, t('accounts.create'))));
  const townshipRow = township.closest('.field');
  const departmentRow = department.closest('.field');
  const follow = () => {
    townshipRow.hidden = role.value !== 'township';
    departmentRow.hidden = role.value !== 'department';
    if (role.value === 'department') offerDepartments();
  };
  role.addEventListener('change', follow);
  follow();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    general.textContent = '';
    const row = { username: form.elements.username.value.trim(), display_name: form.elements.display_name.value.trim(),
      role: role.value, ...(role.value === 'township' ? { township: township.value } : {}),
      ...(role.value === 'department' ? { department: department.value } : {}) };
    try {
      const { data } = await create('/api/users/bulk', { method: 'POST', json: [row] });
      form.reset();
      follow();
      showErrors(form, general, null);
      clear(result, shownOnce(data));
      onMade();
    } catch (err) {
      showErrors(form, general, err);
    }
  });
  return form;
}

/** The CSV upload: checked whole by the service, stored only if every row is right. */
function bulkForm(result, onMade) {
  const file = h('input', { type: 'file', accept: '.csv,text/csv', required: true });
  const skip = h('input', { type: 'checkbox', id: 'admin-bulk-skip' });
  const submit = h('button', { type: 'submit', id: 'admin-bulk-submit' }, t('accounts.upload'));
  // One key per file and choice: a retry after a lost answer is stored once.
  let key = uuid();
  const renew = () => { key = uuid(); };
  file.addEventListener('change', renew);
  skip.addEventListener('change', renew);
  const form = h('form', { class: 'stack', id: 'admin-bulk-form' },
    h('p', { class: 'note' }, t('accounts.bulkIntro')),
    field('admin-bulk', 'file', 'accounts.file', file),
    h('label', { class: 'check' }, skip, t('accounts.skipExisting')),
    h('div', { class: 'buttons' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!file.files.length) return file.focus();
    const body = new FormData();
    body.append('file', file.files[0], file.files[0].name);
    submit.disabled = true;
    clear(result, h('p', { class: 'note' }, t('common.loading')));
    try {
      const { data } = await api(`/api/users/bulk${skip.checked ? '?skip_existing=true' : ''}`,
        { method: 'POST', form: body, headers: { 'Idempotency-Key': key } });
      renew();
      clear(result, shownOnce(data));
      onMade();
    } catch (err) {
      clear(result, rowErrors(err));
    } finally {
      submit.disabled = false;
    }
    result.querySelector('[role=alert], [role=status]')?.scrollIntoView({ block: 'nearest' });
  });
  return form;
}

/** One account of the list, with what an administrator may do to it. */
function accountItem(u, townships, act) {
  const town = townships.find((w) => w.code === u.township);
  return h('li', { class: 'admin-item', dataset: { username: u.username } },
    h('div', {}, h('strong', {}, u.username), u.display_name ? ` ${u.display_name}` : ''),
    h('div', { class: 'meta' }, t(`role.${u.role}`), town ? ` · ${town.name}` : '',
      u.department ? ` · ${departmentName(u.department)}` : '',
      u.active ? null : h('span', { class: 'badge' }, t('accounts.inactive')),
      u.must_change_password ? h('span', { class: 'badge' }, t('accounts.mustChange')) : null),
    h('div', { class: 'buttons' },
      h('button', { type: 'button', class: 'secondary', dataset: { act: u.active ? 'deactivate' : 'activate' },
        onclick: () => act(u, u.active ? 'deactivate' : 'activate') }, t(u.active ? 'accounts.deactivate' : 'accounts.activate')),
      h('button', { type: 'button', class: 'secondary', dataset: { act: 'reset' }, onclick: () => act(u, 'reset') },
        t('accounts.reset'))));
}

/**
 * The accounts part of the administrator's page, in `root`.
 * @param {HTMLElement} root
 * @param {{townships: {code: string, name: string}[]}} ctx the county's townships
 */
export function accountsAdmin(root, { townships }) {
  const result = h('div', { id: 'admin-result', 'aria-live': 'polite' });
  const heading = h('h3', { id: 'admin-users-heading' });
  const list = h('ul', { class: 'admin-list', id: 'admin-users', 'aria-labelledby': 'admin-users-heading' });

  async function reload() {
    try {
      const users = (await api('/api/users')).data;
      heading.textContent = t('accounts.list', { n: users.length });
      clear(list, users.map((u) => accountItem(u, townships, act)));
    } catch (err) {
      clear(list, h('li', { class: 'error' }, err.detail || t('error.network')));
    }
  }

  async function act(u, what) {
    if (what !== 'activate' && !confirm(t(what === 'reset' ? 'accounts.resetConfirm' : 'accounts.deactivateConfirm', u))) return;
    const json = what === 'reset' ? { reset_password: true } : { active: what === 'activate' };
    try {
      const { data } = await api(`/api/users/${u.id}`, { method: 'PATCH', json });
      clear(result, data.temporary_password
        ? shownOnce({ created: [data], skipped: [], passwords_csv: '' })
        : h('p', { class: 'ok', role: 'status' }, t('accounts.saved')));
    } catch (err) {
      clear(result, rowErrors(err));
    }
    await reload();
    list.querySelector(`[data-username="${CSS.escape(u.username)}"] button[data-act]`)?.focus();
  }

  clear(root,
    h('h3', {}, t('accounts.new')), newAccountForm(townships, result, reload),
    h('h3', {}, t('accounts.bulk')), bulkForm(result, reload),
    result,
    heading, list);
  return reload();
}
