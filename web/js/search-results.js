// The search box's results: matches anywhere in the county (not only in view), to jump to.

import { get } from './api.js';
import { t } from './i18n.js';
import { h, clear } from './ui.js';

/**
 * The list of matches in `box`.
 * @param {HTMLElement} box
 * @param {{onPick: (id: string) => void, onJump: (features: object[], matched: number) => void}} handlers
 *   `onPick` opens the task chosen; `onJump` takes the map to the matches of a new search
 * @returns {{update: (q: string, options?: {jump?: boolean}) => Promise<void>}} shows the matches
 *   of `q` (nothing when it is blank); `jump` when the reader has just searched
 */
export function searchResults(box, { onPick, onJump }) {
  const item = (f) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => onPick(f.id) },
    h('strong', {}, f.properties.code), ' ', f.properties.title));

  async function update(q, { jump = false } = {}) {
    q = q.trim();
    if (!q) {
      clear(box);
      return;
    }
    try {
      const fc = await get(`/api/tasks?q=${encodeURIComponent(q)}&limit=10`);
      clear(box, fc.features.length ? h('ul', {}, fc.features.map(item)) : h('p', { class: 'note' }, t('search.none')),
        // Past 10,000 matches the API leaves the count out (a full page then says there are more).
        (fc.numberMatched ?? Infinity) > fc.features.length && fc.features.length
          ? h('p', { class: 'note' }, t('search.more', { n: fc.numberMatched ?? '10000+' })) : null);
      // The map shows only matches in view: take it to them, so a search never leaves it empty.
      box.dataset.single = String(fc.numberMatched === 1);
      if (jump && fc.features.length) onJump(fc.features, fc.numberMatched);
    } catch (e) {
      clear(box, h('p', { class: 'error' }, e.detail || t('error.network')));
    }
  }

  return { update };
}
