// The responsible departments (牵头单位 / 配合单位): the list the service keeps, their names in the
// reader's language, and the department league table beside the townships' (GET
// /api/rollups/departments, the same figures over the tasks each department leads).

import { get, query } from './api.js';
import { t, depName, fmtPct, onLangChange } from './i18n.js';
import { h, clear } from './ui.js';

/** @type {Map<string, {code: string, name_zh: string, name_en: string, retired: boolean}>} */
const known = new Map();

/**
 * Keeps the department list (GET /api/departments) for the names shown everywhere.
 * @param {object[]} list
 */
export function setDepartments(list) {
  known.clear();
  for (const d of list || []) known.set(d.code, d);
}

/** Every department, in the administrator's order, retired ones included. */
export const departmentList = () => [...known.values()];

/**
 * A department's name in the reader's language; its code when the list does not hold it.
 * @param {string | null | undefined} code
 */
export function departmentName(code) {
  if (!code) return '';
  const d = known.get(code);
  return d ? depName(d) : code;
}

const COLUMNS = [
  { key: 'not_cancelled', label: 'league.tasks' },
  { key: 'completion_rate', label: 'league.completion', pct: true },
  { key: 'verified_rate', label: 'league.verified', pct: true },
  { key: 'overdue', label: 'league.overdue' },
  { key: 'on_time_rate', label: 'league.ontime', pct: true },
];

const cell = (row, col) => (col.pct ? fmtPct(row[col.key]) : row[col.key] ?? '—');

/**
 * The department league in `root`, best completion rate first, the total of all led tasks below.
 * @param {HTMLElement} root
 * @returns {{refresh: (filters: object) => Promise<void>}}
 */
export function departmentLeague(root) {
  let data = null;

  function render() {
    if (!data) return;
    if (!data.departments) {
      clear(root, h('p', { class: 'note' }, t('departments.unavailable')));
      return;
    }
    const rows = data.departments.filter((r) => r.not_cancelled > 0 || !known.get(r.department_code)?.retired)
      .sort((a, b) => (b.completion_rate ?? -1) - (a.completion_rate ?? -1)
        || departmentName(a.department_code).localeCompare(departmentName(b.department_code), 'zh-CN'));
    const line = (r, name) => [h('th', { scope: 'row' }, name), COLUMNS.map((c) => h('td', { dataset: { col: c.key } }, cell(r, c)))];
    clear(root, h('table', { class: 'league', id: 'department-league-table' },
      h('caption', {}, t('departments.caption')),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('departments.department')),
        COLUMNS.map((c) => h('th', { scope: 'col' }, t(c.label))))),
      h('tbody', {}, rows.map((r) => h('tr', { dataset: { code: r.department_code } }, line(r, departmentName(r.department_code))))),
      h('tfoot', {}, h('tr', { class: 'county' }, line(data.total, t('departments.total'))))));
  }

  onLangChange(render);
  return {
    async refresh(filters) {
      try {
        const params = { category: filters.category, supervised: filters.supervised ? 'true' : '' };
        data = await get(`/api/rollups/departments${query(params)}`);
      } catch {
        data = { departments: null };
      }
      render();
    },
  };
}
