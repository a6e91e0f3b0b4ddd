// The task panel as the application uses it: opening a task (from the map, a search, the URL or
// "My tasks"), closing it, and the report form in its place. Each keeps the URL naming the open
// task and the map's ring around it in step with what the panel shows.

import { t } from './i18n.js';
import { NetworkError } from './api.js';
import { writeUrl } from './state.js';
import { detailPanel } from './detail.js';
import { reportForm } from './report.js';
import { h, $ } from './ui.js';

const L = window.L;

/** The URL names the open task (or none), so a copied link opens it again. */
function remember(app, id) {
  app.state.task = id;
  writeUrl(app.state);
}

/**
 * The panel in #detail, wired to the application.
 * @param {import('./app.js').App} app
 * @returns {TaskPanel}
 *
 * @typedef {object} TaskPanel
 * @property {(id: string, zoom?: boolean) => Promise<void>} open shows a task; `zoom` fits the map to it
 * @property {() => void} close
 * @property {(feature: object, etag: string, message?: string) => void} show a task just saved
 * @property {(id: string) => Promise<void>} reportOn the report form of a task, loaded fresh
 * @property {(heading: string, node: Node) => void} showContent a form in place of a task
 */
export function taskPanel(app) {
  const detail = detailPanel($('#detail'), {
    categories: app.categories,
    user: () => app.user,
    onClose: () => close(),
    onEdit: (feature, etag) => app.editor.edit(feature, etag),
    onReport: (feature, etag) => report(feature, etag),
    onChanged: () => app.refresh(),
  });

  /**
   * Loads and shows a task. Offline, a task the phone did not keep is shown as "My tasks" last
   * saw it; one it does not know at all is told, not left as a dead button.
   */
  async function load(id) {
    try {
      return await detail.open(id);
    } catch (e) {
      if (!(e instanceof NetworkError)) throw e;
      const kept = app.mine?.find(id);
      if (kept) {
        await detail.show(kept, `"v${kept.properties.version}"`, t('offline.fromList'), 'stale');
        return kept;
      }
      detail.showContent(t('offline.title'), h('p', { class: 'error', role: 'alert' }, t('offline.noTask')));
      return null;
    }
  }

  async function open(id, zoom = false) {
    const f = await load(id);
    remember(app, f ? id : null);
    if (!f) return;
    app.layer.select(f);
    if (zoom && f.geometry) app.map.fitBounds(L.geoJSON(f.geometry).getBounds(), { maxZoom: 16, padding: [24, 24] });
  }

  function close() {
    detail.close();
    app.layer.select(null);
    remember(app, null);
  }

  function show(feature, etag, message) {
    remember(app, feature.id);
    detail.show(feature, etag, message);
    app.layer.select(feature);
  }

  function report(feature, etag, message) {
    const form = reportForm(feature, etag, {
      username: app.user?.username,
      onSent: async (filed) => {
        await open(feature.id);
        const key = filed?.action ? `report.sent.${filed.action}` : 'report.sent';
        detail.show(detail.current().feature, detail.current().etag, t(key, { code: feature.properties.code }));
        app.refresh();
      },
      onQueued: () => {
        // The officer's next look is at the list of what is waiting, not at the form.
        close();
        app.tabs.show('mine');
        app.mine?.notify(t('report.queued'));
      },
      onStale: (stale) => report(stale.feature, stale.etag, stale.message),
    });
    detail.showContent(t('report.title', { code: feature.properties.code }),
      h('div', {}, message ? h('p', { class: 'error', role: 'alert' }, message) : null, form));
  }

  async function reportOn(id) {
    const f = await load(id);
    if (f) report(f, detail.current().etag);
  }

  return { open, close, show, reportOn, showContent: (heading, node) => detail.showContent(heading, node) };
}
