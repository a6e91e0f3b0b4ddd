// The published assessment (检查考核) of the campaign year the map shows: the latest frozen
// ranking of townships and departments, as everyone may read it, with its workbook and the
// targets' CSV to download. Drafts are the bureau's (campaigns.js).

import { get } from './api.js';
import { t, catName, fmtDateTime, onLangChange } from './i18n.js';
import { assessmentPath, targetsCsv } from './campaign-data.js';
import { h, clear } from './ui.js';

/**
 * A ranking table of `units` (townships or departments), best first.
 * @param {object[]} units as the service gives them
 * @param {string} id the table's id
 * @param {string} caption
 * @returns {HTMLElement}
 */
export function rankingTable(units, id, caption) {
  return h('table', { class: 'league ranking', id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ['ranking.rank', 'ranking.unit', 'ranking.tasks', 'ranking.score'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, units.map((u) => h('tr', { dataset: { code: u.code } },
      h('td', { dataset: { col: 'rank' } }, u.rank ?? t('ranking.unranked')),
      h('th', { scope: 'row' }, u.name),
      h('td', {}, u.tasks),
      h('td', { dataset: { col: 'score' } }, u.score === null ? '—' : u.score.toFixed(2))))));
}

/**
 * The published ranking in `root`, for the campaign year given to `update`.
 * @param {HTMLElement} root
 * @returns {{update: (current: {campaign: object, year: number} | null) => Promise<void>}}
 */
export function publishedRanking(root) {
  let current = null;
  let result = null;

  function render() {
    if (!current) {
      clear(root);
      return;
    }
    const { campaign, year } = current;
    const path = assessmentPath(campaign.code, year);
    clear(root,
      h('h2', {}, t('ranking.title', { name: catName(campaign), year })),
      result
        ? [h('p', { class: 'note', id: 'ranking-version' }, t('ranking.frozen', { version: result.version, at: fmtDateTime(result.frozen_at), reason: result.reason })),
          rankingTable(result.townships, 'ranking-townships', t('ranking.townships')),
          rankingTable(result.departments, 'ranking-departments', t('ranking.departments'))]
        : h('p', { class: 'note', id: 'ranking-none' }, t('ranking.none')),
      h('p', { class: 'downloads' },
        result ? h('a', { id: 'ranking-xlsx', href: `${path}.xlsx`, download: true }, t('ranking.xlsx')) : null,
        h('a', { id: 'targets-csv', href: targetsCsv(campaign.code, year), download: true }, t('ranking.targetsCsv'))));
  }

  onLangChange(render);
  return {
    async update(next) {
      current = next;
      result = null;
      if (current) {
        try {
          result = await get(assessmentPath(current.campaign.code, current.year));
        } catch {
          // 404 until a result is frozen; any other failure shows the same, and the map goes on.
        }
      }
      render();
    },
  };
}
