// The administrator's page, opened from the account corner: the accounts (one at a time, a roster
// from a CSV file, deactivating, temporary passwords), the task families and the reminders (催办),
// as tabs in the panel beside the map. Loaded only for administrators.

import { t } from './i18n.js';
import { accountsAdmin } from './admin-accounts.js';
import { familiesAdmin } from './admin-families.js';
import { departmentsAdmin } from './admin-departments.js';
import { remindersAdmin } from './admin-reminders.js';
import { h } from './ui.js';

const PARTS = ['accounts', 'families', 'departments', 'reminders'];
const TAB_LABELS = { accounts: 'admin.tabAccounts', families: 'admin.tabFamilies', departments: 'admin.tabDepartments',
  reminders: 'admin.tabReminders' };

/**
 * Builds the page in `root`, its first tab shown.
 * @param {HTMLElement} root
 * @param {object} ctx `townships` ({code, name}[]) and `onFamiliesChanged(families)`
 * @returns {Promise<void>} when every part has loaded its lists
 */
export function adminPage(root, { townships, onFamiliesChanged }) {
  const panes = Object.fromEntries(PARTS.map((p) => [p, h('section', { id: `admin-${p}`, role: 'tabpanel',
    class: 'admin-pane', 'aria-labelledby': `admin-tab-${p}`, tabindex: '-1' })]));
  const tabs = PARTS.map((p) => h('button', { type: 'button', role: 'tab', id: `admin-tab-${p}`, 'aria-controls': `admin-${p}`,
    onclick: () => show(p), onkeydown: (e) => move(e, p) }, t(TAB_LABELS[p])));

  function show(part) {
    PARTS.forEach((p, i) => {
      panes[p].hidden = p !== part;
      tabs[i].setAttribute('aria-selected', String(p === part));
      tabs[i].tabIndex = p === part ? 0 : -1;
    });
  }

  // Arrow keys move between the tabs (the WAI-ARIA tabs pattern); Tab goes on into the pane.
  function move(e, part) {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (!step) return;
    e.preventDefault();
    const next = PARTS[(PARTS.indexOf(part) + step + PARTS.length) % PARTS.length];
    show(next);
    tabs[PARTS.indexOf(next)].focus();
  }

  root.append(h('div', { role: 'tablist', class: 'tabs', 'aria-label': t('admin.title') }, tabs), ...PARTS.map((p) => panes[p]));
  show('accounts');
  return Promise.all([
    accountsAdmin(panes.accounts, { townships }),
    familiesAdmin(panes.families, { onChanged: onFamiliesChanged }),
    departmentsAdmin(panes.departments),
    remindersAdmin(panes.reminders),
  ]).then(() => {});
}
