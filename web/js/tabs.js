// The side bar's tabs (filters, league, chart, "My tasks"): which panel shows.

import { $$ } from './ui.js';

/**
 * Wires the tab buttons of #tabs to their panels.
 * @param {{onShow: (name: string) => void}} handlers called after a tab is shown
 * @returns {{show: (name: string) => void}} shows a tab; a hidden or unknown one gives the first
 */
export function sidebarTabs({ onShow }) {
  function show(name) {
    const tabs = $$('#tabs [role=tab]').filter((b) => !b.hidden);
    if (!tabs.some((b) => b.dataset.tab === name)) name = tabs[0].dataset.tab;
    for (const b of tabs) b.setAttribute('aria-selected', String(b.dataset.tab === name));
    for (const p of $$('.tab-panel')) p.hidden = p.id !== `tab-${name}`;
    onShow(name);
  }
  for (const b of $$('#tabs [role=tab]')) b.addEventListener('click', () => show(b.dataset.tab));
  return { show };
}
