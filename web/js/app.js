// The map application: loads the reference data, builds the parts and wires them to each other
// and to the URL. Who is logged in decides which parts appear: everyone gets the public map;
// bureau staff the drawing tools, editing and transitions; township officers "My tasks".

import { get, ApiError } from './api.js';
import { t, setLang, lang, applyI18n, onLangChange } from './i18n.js';
import { setCountyZone } from './county.js';
import { readUrl, writeUrl } from './state.js';
import { createMap, townshipLayer } from './map.js';
import { tasksLayer } from './tasks-layer.js';
import { statusLine } from './map-status.js';
import { filterPanel } from './filters.js';
import { leagueTable } from './league.js';
import { monthlyChart } from './monthly.js';
import { townshipFigures, monthlyCompletions } from './rollups.js';
import { detailPanel, isStaff } from './detail.js';
import { whoAmI, loginDialog, logout } from './auth.js';
import { editor as makeEditor } from './editor.js';
import { myTasks } from './mytasks.js';
import { reportForm } from './report.js';
import * as outbox from './offline.js';
import { h, $, $$, clear, debounce } from './ui.js';

const L = window.L;

async function main() {
  const url = readUrl();
  setLang(url.lang || localStorage.getItem('greenledger.lang') || 'zh');
  applyI18n();
  const [config, townshipFc, categoryList, firstUser] = await Promise.all([
    get('/api/config'), get('/api/townships'), get('/api/categories'), whoAmI(),
  ]);
  let user = firstUser;
  setCountyZone(config.timezone);
  const state = { view: url.view, filters: url.filters, task: url.task, tab: url.tab, lang: lang() };
  const categories = new Map(categoryList.map((c) => [c.code, c]));
  const colors = new Map(categoryList.map((c) => [c.code, c.color]));
  const townships = townshipFc.features.map((f) => ({ code: f.properties.code, name: f.properties.name }))
    .sort((a, b) => a.code.localeCompare(b.code));

  const map = createMap($('#map'), config);
  const towns = townshipLayer(map, townshipFc);
  if (state.view) map.setView([state.view.lat, state.view.lng], state.view.z);
  else map.fitBounds(towns.layer.getBounds(), { padding: [8, 8] });

  // Status line: how many tasks are in view, and when not all are drawn, why and what to do.
  const status = statusLine(map, { onMore: () => layer.more() });

  const detail = detailPanel($('#detail'), {
    categories,
    user: () => user,
    onClose: () => closeDetail(),
    onEdit: (feature, etag) => editor.edit(feature, etag),
    onReport: (feature, etag) => openReport(feature, etag),
    onChanged: () => refresh(),
  });

  const layer = tasksLayer(map, {
    colors,
    onSelect: (id) => selectTask(id),
    onLoaded: (c) => {
      status.update(c);
      // For tests and the benchmark: how the view is drawn, and a tick each time a view is done.
      document.body.dataset.tasksMode = c.mode;
      document.body.dataset.tasksDrawn = String(Number(document.body.dataset.tasksDrawn || 0) + 1);
    },
    onError: (e) => status.update({ error: e.detail || t('error.network') }),
  });

  filterPanel($('#tab-filters'), $('#search'), {
    categories: categoryList, townships, filters: state.filters,
    onChange: (f) => {
      state.filters = f;
      writeUrl(state);
      layer.load(f);
      refreshFigures();
      searchResults();
    },
  });

  const league = leagueTable($('#league'), {
    onPick: (code) => {
      const b = towns.bounds(code);
      if (b) map.fitBounds(b, { padding: [16, 16] });
    },
  });
  const chart = monthlyChart($('#chart-box'));
  let chartData = null;

  async function refreshFigures() {
    try {
      const figures = await townshipFigures(state.filters);
      towns.update(figures.rows);
      league.update(figures);
    } catch (e) {
      towns.update(null);
      league.update({ rows: null, reason: 'error' });
    }
    try {
      chartData = await monthlyCompletions(state.filters);
    } catch (e) {
      chartData = { months: null, reason: 'error' };
    }
    if (state.tab === 'chart') chart.update(chartData);
  }

  // Search results: matches anywhere in the county, to jump to.
  async function searchResults() {
    const box = $('#search-results');
    const q = state.filters.q.trim();
    if (!q) {
      clear(box);
      return;
    }
    try {
      const fc = await get(`/api/tasks?q=${encodeURIComponent(q)}&limit=10`);
      clear(box, fc.features.length
        ? h('ul', {}, fc.features.map((f) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => selectTask(f.id, true) },
          h('strong', {}, f.properties.code), ' ', f.properties.title))))
        : h('p', { class: 'note' }, t('search.none')),
      fc.numberMatched > fc.features.length ? h('p', { class: 'note' }, t('search.more', { n: fc.numberMatched })) : null);
    } catch (e) {
      clear(box, h('p', { class: 'error' }, e.detail || t('error.network')));
    }
  }

  async function selectTask(id, zoom = false) {
    const f = await detail.open(id);
    if (!f) {
      state.task = null;
      writeUrl(state);
      return;
    }
    state.task = id;
    writeUrl(state);
    layer.select(f);
    if (zoom && f.geometry) {
      const b = L.geoJSON(f.geometry).getBounds();
      map.fitBounds(b, { maxZoom: 16, padding: [24, 24] });
    }
  }

  function closeDetail() {
    detail.close();
    layer.select(null);
    state.task = null;
    writeUrl(state);
  }

  function refresh() {
    layer.invalidate();
    layer.load(state.filters, { force: true });
    refreshFigures();
    mine?.reload();
  }

  const editor = makeEditor(map, $('#detail'), {
    categories,
    townships: () => townships,
    showForm: (title, node) => detail.showContent(title, node),
    hideOnMap: (id, yes) => layer.hide(id, yes),
    onSaved: (feature, etag, message) => {
      state.task = feature.id;
      writeUrl(state);
      detail.show(feature, etag, message);
      layer.select(feature);
      refresh();
    },
    onChanged: () => refresh(),
    onCancel: (feature) => (feature ? selectTask(feature.id) : closeDetail()),
  });

  function openReport(feature, etag, message) {
    const form = reportForm(feature, etag, {
      onSent: async () => {
        await selectTask(feature.id);
        detail.show(detail.current().feature, detail.current().etag, t('report.sent'));
        refresh();
      },
      onQueued: () => {
        // The officer's next look is at the list of what is waiting, not at the form.
        closeDetail();
        showTab('mine');
        mine?.notify(t('report.queued'));
      },
      onStale: (stale) => openReport(stale.feature, stale.etag, stale.message),
    });
    detail.showContent(t('report.title', { code: feature.properties.code }),
      h('div', {}, message ? h('p', { class: 'error', role: 'alert' }, message) : null, form));
  }

  // Tabs of the side bar.
  function showTab(name) {
    const tabs = $$('#tabs [role=tab]').filter((b) => !b.hidden);
    if (!tabs.some((b) => b.dataset.tab === name)) name = tabs[0].dataset.tab;
    state.tab = name === 'filters' ? null : name;
    for (const b of tabs) b.setAttribute('aria-selected', String(b.dataset.tab === name));
    for (const p of $$('.tab-panel')) p.hidden = p.id !== `tab-${name}`;
    if (name === 'chart' && chartData) chart.update(chartData);
    writeUrl(state);
  }
  for (const b of $$('#tabs [role=tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));

  // Who is logged in.
  const dialog = loginDialog($('#login-dialog'), { onLogin: (u) => { user = u; applyUser(true); } });
  applyI18n($('#login-dialog'));
  let mine = null;
  function renderAccount() {
    const account = $('#account');
    document.body.dataset.role = user ? user.role : 'public';
    if (!user) {
      clear(account, h('button', { type: 'button', id: 'login-open', onclick: () => dialog.open() }, t('login.open')));
      return;
    }
    clear(account,
      h('span', { class: 'who', id: 'who' }, user.display_name || user.username),
      h('button', { type: 'button', class: 'secondary', id: 'logout', onclick: async () => {
        await logout().catch(() => {});
        // A clean page: nothing of the last user's rights or data stays in memory.
        location.reload();
      } }, t('login.logout')));
  }
  function applyUser(justLoggedIn = false) {
    renderAccount();
    if (!user) return;
    if (isStaff(user)) editor.enable();
    if (user.role === 'township' && user.township && !mine) {
      $('#tab-button-mine').hidden = false;
      mine = myTasks($('#tab-mine'), {
        user,
        onOpen: (id) => selectTask(id, true),
        onReport: async (id) => {
          const f = await detail.open(id);
          if (f) openReport(f, detail.current().etag);
        },
      });
      mine.reload();
      if (justLoggedIn || !state.tab) showTab('mine');
      outbox.flush();
    }
    if (justLoggedIn) {
      refresh();
      if (state.task) selectTask(state.task);
    }
  }
  onLangChange(() => {
    state.lang = lang();
    localStorage.setItem('greenledger.lang', state.lang);
    writeUrl(state);
    renderAccount();
    searchResults();
  });
  $('#lang-switch').addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));

  // Reports written offline go out as soon as the network is back.
  window.addEventListener('online', () => user && outbox.flush());
  document.addEventListener('outbox-changed', (e) => e.detail?.sent && refresh());

  map.on('moveend', debounce(() => {
    const c = map.getCenter();
    state.view = { z: map.getZoom(), lat: c.lat, lng: c.lng };
    writeUrl(state);
    layer.load(state.filters);
  }, 150));

  applyUser();
  showTab(state.tab || (mine ? 'mine' : 'filters'));
  await Promise.all([layer.load(state.filters), refreshFigures(), searchResults()]);
  if (state.task) await selectTask(state.task);
  // Tests and the load benchmark wait for this: the map is drawn and answers input.
  document.body.dataset.ready = 'true';
  performance.mark('greenledger-ready');
}

main().catch((e) => {
  console.error(e);
  const msg = document.getElementById('fatal');
  msg.hidden = false;
  msg.textContent = `${t('error.start')} ${e instanceof ApiError ? e.detail : e.message}`;
});
