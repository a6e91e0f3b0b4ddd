// The filter panel (family, status, township, overdue, supervised) and the search box. Every
// change goes to the URL and to the map through onChange.

import { t, statusName, catName, onLangChange, STATUSES } from './i18n.js';
import { h, clear, debounce } from './ui.js';
import { emptyFilters } from './state.js';

/**
 * The filters in `root` and the search box `searchForm`.
 * @param {HTMLElement} root
 * @param {HTMLFormElement} searchForm
 * @param {object} options `categories` and `townships` to choose from (retired families too:
 *   their tasks are still there), the `filters` to start with (state.js), and `onChange(filters)`
 *   called with a copy after every change
 * @returns {{get: () => object, render: () => void}} the filters now, and a redraw of the panel
 */
export function filterPanel(root, searchForm, { categories, townships, filters, onChange }) {
  let current = structuredClone(filters);

  const changed = () => onChange(structuredClone(current));

  function checkboxes(name, items, selected) {
    return items.map(({ value, label, color }) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name, value, checked: selected.includes(value), onchange: (e) => {
        const set = new Set(current[name]);
        if (e.target.checked) set.add(value);
        else set.delete(value);
        // Keep the order of the list, so the URL does not depend on click order.
        current[name] = items.map((i) => i.value).filter((v) => set.has(v));
        changed();
      } }),
      color ? h('i', { class: 'swatch', style: { background: color }, 'aria-hidden': 'true' }) : null,
      label));
  }

  function render() {
    clear(root,
      h('fieldset', {}, h('legend', {}, t('filters.family')),
        checkboxes('category', categories.map((c) => ({ value: c.code, color: c.color,
          label: c.retired ? `${catName(c)}${t('family.retiredMark')}` : catName(c) })), current.category)),
      h('fieldset', {}, h('legend', {}, t('filters.status')),
        checkboxes('status', STATUSES.map((s) => ({ value: s, label: statusName(s) })), current.status)),
      h('label', { class: 'field' }, t('filters.township'),
        h('select', { name: 'township', onchange: (e) => { current.township = e.target.value; changed(); } },
          h('option', { value: '' }, t('filters.all')),
          townships.map((w) => h('option', { value: w.code, selected: w.code === current.township }, w.name)))),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'overdue', checked: current.overdue,
        onchange: (e) => { current.overdue = e.target.checked; changed(); } }), t('filters.overdue')),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'supervised', checked: current.supervised,
        onchange: (e) => { current.supervised = e.target.checked; changed(); } }), t('filters.supervised')),
      h('button', { type: 'button', class: 'secondary', id: 'filters-reset', onclick: () => {
        current = emptyFilters();
        searchInput.value = '';
        render();
        changed();
      } }, t('filters.reset')));
  }

  const searchInput = searchForm.querySelector('input[type=search]');
  searchInput.value = current.q;
  const search = () => {
    if (current.q === searchInput.value.trim()) return;
    current.q = searchInput.value.trim();
    changed();
  };
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });
  searchInput.addEventListener('input', debounce(search, 400));

  render();
  onLangChange(render);
  return {
    get: () => structuredClone(current),
    // The families changed (an administrator's page): drawn again from the same list.
    render,
  };
}
