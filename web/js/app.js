// The map application: loads the reference data, builds the parts and wires them to each other
// and to the URL. Who is logged in decides which parts appear: everyone gets the public map;
// bureau staff the drawing tools, editing, transitions and the review queue; township officers
// "My tasks".

import { get, ApiError } from './api.js';
import { t, setLang, lang, applyI18n, onLangChange } from './i18n.js';
import { setCountyZone } from './county.js';
import { setDepartments } from './departments.js';
import { readUrl, writeUrl } from './state.js';
import { createMap, townshipLayer } from './map.js';
import { tasksLayer } from './tasks-layer.js';
import { statusLine } from './map-status.js';
import { filterPanel } from './filters.js';
import { figures } from './figures.js';
import { searchResults } from './search-results.js';
import { sidebarTabs } from './tabs.js';
import { taskPanel } from './task-panel.js';
import { account } from './account.js';
import { whoAmI } from './auth.js';
import { choosePassword } from './password.js';
import * as outbox from './offline.js';
import { registerWorker, whenKept } from './pwa.js';
import { $, debounce } from './ui.js';

/**
 * The parts of the running application, shared by the modules that wire them.
 * @typedef {object} App
 * @property {{view: object | null, filters: object, task: string | null, tab: string | null, lang: string}} state
 *   what the URL holds (state.js)
 * @property {object | null} user the caller (GET /api/me), null for the public
 * @property {object} config the service's map settings (GET /api/config)
 * @property {Map<string, object>} categories task families by code
 * @property {Map<string, string>} colors each family's colour by code
 * @property {{code: string, name: string}[]} townships by code
 * @property {object} map the Leaflet map
 * @property {object} towns the township layer (map.js)
 * @property {object} layer the tasks on the map (tasks-layer.js)
 * @property {import('./task-panel.js').TaskPanel} panel
 * @property {object} editor the bureau's editor (editor.js)
 * @property {object | null} mine a township officer's "My tasks" (mytasks.js)
 * @property {object | null} [review] the bureau's review queue (review.js)
 * @property {object | null} [inbox] a unit officer's inbox of reminders (inbox.js)
 * @property {{get: () => object, render: () => void}} filters the filter panel (filters.js)
 * @property {object[]} categoryList task families in their order, retired ones included
 * @property {() => void} refresh the ledger changed: everything shown is asked for again
 */

const L = window.L;
const LANG_KEY = 'greenledger.lang';

/** What every part needs before the map draws: settings, townships, task families, the caller. */
async function loadApp(url) {
  const [config, townshipFc, categoryList, user, departments] = await Promise.all([
    get('/api/config'), get('/api/townships'), get('/api/categories'), whoAmI(),
    // The map works without them (a service from before departments, a failed request).
    get('/api/departments').catch(() => []),
  ]);
  setCountyZone(config.timezone);
  setDepartments(departments);
  return {
    config, townshipFc, categoryList, user, mine: null,
    state: { view: url.view, filters: url.filters, task: url.task, tab: url.tab, lang: lang() },
    categories: new Map(categoryList.map((c) => [c.code, c])),
    colors: new Map(categoryList.map((c) => [c.code, c.color])),
    townships: townshipFc.features.map((f) => ({ code: f.properties.code, name: f.properties.name }))
      .sort((a, b) => a.code.localeCompare(b.code)),
  };
}

/** The map, its township shading, the tasks on it and the status line under it. */
function buildMap(app) {
  app.map = createMap($('#map'), app.config);
  app.towns = townshipLayer(app.map, app.townshipFc);
  const { view } = app.state;
  const county = app.towns.layer.getBounds();
  if (view) app.map.setView([view.lat, view.lng], view.z);
  else if (county.isValid()) app.map.fitBounds(county, { padding: [8, 8] });
  // A new ledger has no townships yet: show the country until an administrator imports them.
  else app.map.setView([35, 105], 4);

  // Status line: how many tasks are in view, and when not all are drawn, why and what to do.
  const status = statusLine(app.map, { onMore: () => app.layer.more() });
  app.layer = tasksLayer(app.map, {
    colors: app.colors,
    onSelect: (id) => app.panel.open(id),
    onLoaded: (c) => {
      status.update(c);
      // For tests and the benchmark: how the view is drawn, and a tick each time a view is done.
      document.body.dataset.tasksMode = c.mode;
      document.body.dataset.tasksDrawn = String(Number(document.body.dataset.tasksDrawn || 0) + 1);
    },
    onError: (e) => status.update({ error: e.detail || t('error.network') }),
  });
}

/** The side bar (tabs, filters, search results, figures), the task panel and the editor. */
function buildPanels(app) {
  app.panel = taskPanel(app);
  app.figures = figures(app);
  app.search = searchResults($('#search-results'), {
    onPick: (id) => app.panel.open(id, true),
    onJump: (features, matched) => {
      if (matched === 1) app.panel.open(features[0].id, true);
      else app.map.fitBounds(L.geoJSON(features).getBounds(), { maxZoom: 16, padding: [24, 24] });
    },
  });
  app.tabs = sidebarTabs({
    onShow: (name) => {
      app.state.tab = name === 'filters' ? null : name;
      if (name === 'chart') app.figures.showChart();
      if (name === 'review') app.review?.reload();
      if (name === 'inbox') app.inbox?.reload();
      writeUrl(app.state);
    },
  });
  app.filters = filterPanel($('#tab-filters'), $('#search'), {
    categories: app.categoryList, townships: app.townships, filters: app.state.filters,
    onChange: (f) => {
      const searched = f.q !== app.state.filters.q;
      app.state.filters = f;
      writeUrl(app.state);
      app.layer.load(f);
      app.figures.refresh();
      app.search.update(f.q, { jump: searched && Boolean(f.q.trim()) });
    },
  });
  // The bureau's editor comes with the bureau's login (account.js).
  app.editor = null;
}

/** Keeps the URL, the language and the outbox following what the reader and the network do. */
function follow(app) {
  app.map.on('moveend', debounce(() => {
    const c = app.map.getCenter();
    app.state.view = { z: app.map.getZoom(), lat: c.lat, lng: c.lng };
    writeUrl(app.state);
    app.layer.load(app.state.filters);
  }, 150));
  onLangChange(() => {
    app.state.lang = lang();
    localStorage.setItem(LANG_KEY, app.state.lang);
    writeUrl(app.state);
    app.account.render();
    app.search.update(app.state.filters.q);
  });
  $('#lang-switch').addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
  // Reports written offline go out as soon as the network is back.
  window.addEventListener('online', () => app.user && outbox.flush(app.user.username));
  document.addEventListener('outbox-changed', (e) => e.detail?.sent && app.refresh());
}

async function main() {
  const url = readUrl();
  setLang(url.lang || localStorage.getItem(LANG_KEY) || 'zh');
  applyI18n();
  /** @type {App} */
  const app = await loadApp(url);
  if (app.user?.must_change_password) {
    // Nothing else answers this account yet: the form first, then the page as the account sees it.
    await choosePassword();
    location.reload();
    return;
  }
  if (app.user?.two_factor_required && !app.user.two_factor) {
    // The administrator requires two-step verification of this role: it is turned on first.
    await (await import('./two-factor.js')).enrolNow(app.user);
    location.reload();
    return;
  }
  app.refresh = () => {
    app.layer.invalidate();
    app.layer.load(app.state.filters, { force: true });
    app.figures.refresh();
    app.mine?.reload();
    app.review?.refresh();
  };
  buildMap(app);
  buildPanels(app);
  app.account = account(app);
  follow(app);

  app.account.apply();
  app.tabs.show(app.state.tab || (app.mine ? 'mine' : 'filters'));
  await Promise.all([app.layer.load(app.state.filters), app.figures.refresh(), app.search.update(app.state.filters.q)]);
  if (app.state.task) await app.panel.open(app.state.task);
  // Tests and the load benchmark wait for this: the map is drawn and answers input.
  document.body.dataset.ready = 'true';
  performance.mark('greenledger-ready');
  // Only now: installing fetches the whole shell, which must not compete with the first map.
  registerWorker();
  whenKept(() => keepForTheField(app));
}

/** What an officer needs offline, asked for again through the service worker, which keeps it. */
async function keepForTheField(app) {
  await Promise.all(['/api/me', '/api/config', '/api/categories', '/api/townships', '/api/departments']
    .map((p) => fetch(p).catch(() => null)));
  await app.mine?.reload();
}

main().catch((e) => {
  console.error(e);
  const msg = document.getElementById('fatal');
  msg.hidden = false;
  msg.textContent = `${t('error.start')} ${e instanceof ApiError ? e.detail : e.message}`;
});
