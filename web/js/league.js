// The league table of townships: sortable by its figures; a row zooms the map to its township.
// With a campaign running, each township's completion against its targets (目标完成率) beside them.

import { t, fmtPct, onLangChange, catName as campaignName } from './i18n.js';
import { h, clear } from './ui.js';

const COLUMNS = [
  { key: 'township_name', label: 'league.township', text: true },
  { key: 'not_cancelled', label: 'league.tasks' },
  { key: 'completion_rate', label: 'league.completion', pct: true },
  { key: 'verified_rate', label: 'league.verified', pct: true },
  { key: 'overdue', label: 'league.overdue' },
  { key: 'on_time_rate', label: 'league.ontime', pct: true },
  { key: 'against_target', label: 'league.target', pct: true, targets: true },
];

/**
 * The league table in `root`.
 * @param {HTMLElement} root
 * @param {{onPick: (code: string) => void}} handlers `onPick` gets the township clicked
 * @returns {{update: (data: {rows: object[] | null, county?: object, reason?: string, campaign?: {campaign: object, year: number}}) => void}}
 *   with `campaign`, rows carry `against_target`
 */
export function leagueTable(root, { onPick }) {
  let data = null;
  let sort = { key: 'completion_rate', desc: true };

  const columns = () => COLUMNS.filter((c) => !c.targets || data?.campaign);

  function compare(a, b) {
    const col = columns().find((c) => c.key === sort.key) || COLUMNS[2];
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
    const cols = columns();
    const head = h('tr', {}, cols.map((c) => {
      const active = sort.key === c.key;
      return h('th', { scope: 'col', 'aria-sort': active ? (sort.desc ? 'descending' : 'ascending') : 'none' },
        h('button', { type: 'button', class: 'sort', dataset: { key: c.key }, onclick: () => {
          sort = { key: c.key, desc: active ? !sort.desc : !c.text };
          render();
        } }, t(c.label), active ? (sort.desc ? ' ▼' : ' ▲') : ''));
    }));
    const body = rows.map((r) => h('tr', { dataset: { code: r.township_code } },
      cols.map((c, i) => (i === 0
        ? h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => onPick(r.township_code) }, r.township_name))
        : h('td', { dataset: { col: c.key } }, cell(r, c))))));
    const foot = data.county
      ? h('tfoot', {}, h('tr', { class: 'county' }, cols.map((c, i) => (i === 0
        ? h('th', { scope: 'row' }, t('league.county'))
        : h('td', { dataset: { col: c.key } }, cell(data.county, c))))))
      : null;
    clear(root,
      h('table', { class: 'league', id: 'league-table' },
        h('caption', {}, t('league.caption'), data.campaign
          ? h('span', { class: 'note', id: 'league-campaign' }, ' ', t('league.against', { name: campaignName(data.campaign.campaign), year: data.campaign.year }))
          : null),
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
