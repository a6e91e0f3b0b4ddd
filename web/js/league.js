// The league table of townships: sortable by its figures; a row zooms the map to its township.

import { t, fmtPct, onLangChange } from './i18n.js';
import { h, clear } from './ui.js';

const COLUMNS = [
  { key: 'township_name', label: 'league.township', text: true },
  { key: 'not_cancelled', label: 'league.tasks' },
  { key: 'completion_rate', label: 'league.completion', pct: true },
  { key: 'verified_rate', label: 'league.verified', pct: true },
  { key: 'overdue', label: 'league.overdue' },
  { key: 'on_time_rate', label: 'league.ontime', pct: true },
];

/**
 * The league table in `root`.
 * @param {HTMLElement} root
 * @param {{onPick: (code: string) => void}} handlers `onPick` gets the township clicked
 * @returns {{update: (data: {rows: object[] | null, county?: object, reason?: string}) => void}}
 */
export function leagueTable(root, { onPick }) {
  let data = null;
  let sort = { key: 'completion_rate', desc: true };

  function compare(a, b) {
    const col = COLUMNS.find((c) => c.key === sort.key);
    const x = a[sort.key];
    const y = b[sort.key];
    // Townships without a figure go last whichever way the column is sorted.
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
    if (y === null || y === undefined) return -1;
    const d = col.text ? String(x).localeCompare(String(y), 'zh-CN') : x - y;
    return (sort.desc ? -d : d) || a.township_name.localeCompare(b.township_name, 'zh-CN');
  }

  function cell(row, col) {
    const v = row[col.key];
    if (col.pct) return fmtPct(v);
    return v ?? '—';
  }

  function render() {
    if (!data) return;
    if (!data.rows) {
      clear(root, h('p', { class: 'note' }, t('league.unavailable')));
      return;
    }
    const rows = [...data.rows].sort(compare);
    const head = h('tr', {}, COLUMNS.map((c) => {
      const active = sort.key === c.key;
      return h('th', { scope: 'col', 'aria-sort': active ? (sort.desc ? 'descending' : 'ascending') : 'none' },
        h('button', { type: 'button', class: 'sort', dataset: { key: c.key }, onclick: () => {
          sort = { key: c.key, desc: active ? !sort.desc : !c.text };
          render();
        } }, t(c.label), active ? (sort.desc ? ' ▼' : ' ▲') : ''));
    }));
    const body = rows.map((r) => h('tr', { dataset: { code: r.township_code } },
      COLUMNS.map((c, i) => (i === 0
        ? h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => onPick(r.township_code) }, r.township_name))
        : h('td', { dataset: { col: c.key } }, cell(r, c))))));
    const foot = data.county
      ? h('tfoot', {}, h('tr', { class: 'county' }, COLUMNS.map((c, i) => (i === 0
        ? h('th', { scope: 'row' }, t('league.county'))
        : h('td', { dataset: { col: c.key } }, cell(data.county, c))))))
      : null;
    clear(root,
      h('table', { class: 'league', id: 'league-table' },
        h('caption', {}, t('league.caption')),
        h('thead', {}, head), h('tbody', {}, body), foot));
  }

  onLangChange(render);
  return {
    update(d) {
      data = d;
      render();
    },
  };
}
