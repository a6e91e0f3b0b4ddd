// The administrator's security audit trail (安全审计): who logged in, failed or was throttled, from
// where; logouts, password and token changes, account changes, exports that held contact details,
// and two-step verification turned on, off or failed. Newest first, a page at a time, filtered by
// kind; the same selection downloads as CSV.

import { api, ApiError } from './api.js';
import { t, fmtDateTime } from './i18n.js';
import { h, clear } from './ui.js';

const KINDS = ['login', 'login_failed', 'login_throttled', 'logout', 'session_idle', 'logout_everywhere',
  'password_changed', 'token_created', 'token_revoked', 'account_created', 'account_changed', 'contact_export',
  'two_factor_enrolled', 'two_factor_disabled', 'two_factor_failed', 'recovery_code_used', 'recovery_codes_renewed',
  'two_factor_policy_changed'];
const PAGE = 50;

/**
 * Builds the audit trail view in `root` and loads its first page.
 * @param {HTMLElement} root
 */
export function auditTrail(root) {
  const kind = h('select', { id: 'audit-kind' },
    h('option', { value: '' }, t('audit.allKinds')),
    KINDS.map((k) => h('option', { value: k }, t(`audit.kind.${k}`))));
  const csv = h('a', { id: 'audit-csv', download: 'security-audit.csv' }, t('audit.csv'));
  const rows = h('tbody', { id: 'audit-rows' });
  const more = h('button', { type: 'button', id: 'audit-more', class: 'secondary', hidden: true }, t('audit.more'));
  const status = h('p', { class: 'note', id: 'audit-status', 'aria-live': 'polite' });
  const table = h('table', { class: 'audit' },
    h('thead', {}, h('tr', {}, ['at', 'kind', 'who', 'subject', 'address'].map((c) => h('th', { scope: 'col' }, t(`audit.col.${c}`))))),
    rows);
  clear(root,
    h('div', { class: 'stack' },
      h('label', { class: 'field' }, h('span', {}, t('audit.filter')), kind),
      h('p', { class: 'downloads' }, csv), status, h('div', { class: 'audit-wrap' }, table), more));

  let last = null;
  const query = (extra = '') => (kind.value ? `?kind=${kind.value}${extra && `&${extra}`}` : extra && `?${extra}`);

  async function load(fresh) {
    if (fresh) {
      clear(rows);
      last = null;
    }
    csv.href = `/api/audit.csv${query()}`;
    clear(status, t('common.loading'));
    try {
      const { data } = await api(`/api/audit${query(`limit=${PAGE}${last ? `&before=${last}` : ''}`)}`);
      data.forEach((e) => rows.append(row(e)));
      last = data.length ? data[data.length - 1].id : last;
      more.hidden = data.length < PAGE;
      clear(status, rows.children.length ? t('audit.count', { n: rows.children.length }) : t('audit.none'));
    } catch (e) {
      clear(status, h('span', { class: 'error', role: 'alert' }, e instanceof ApiError ? e.detail : t('error.network')));
    }
  }

  kind.addEventListener('change', () => load(true));
  more.addEventListener('click', () => load(false));
  load(true);
}

/** One event as a table row; the user agent is the address cell's tooltip. */
function row(e) {
  return h('tr', { 'data-kind': e.kind },
    h('td', {}, fmtDateTime(e.at)),
    h('td', {}, t(`audit.kind.${e.kind}`, {}, e.kind)),
    h('td', {}, e.username),
    h('td', {}, e.subject_username || ''),
    h('td', { title: e.user_agent }, e.address));
}
