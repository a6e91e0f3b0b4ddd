// The side panel of one task: its public fields, progress and status history for everyone; the
// private fields, full history and reports for those entitled; the actions the viewer may take.

import { api, ApiError } from './api.js';
import { t, onLangChange } from './i18n.js';
import { h, clear } from './ui.js';
import { taskSummary, historyList, reportList, beforeAfter } from './task-view.js';
import { transitionControls, chaseControl } from './actions.js';
import { offlineCopy, age } from './pwa.js';

/** Whether the user works for the bureau (bureau staff or an administrator). */
export const isStaff = (user) => user && (user.role === 'bureau' || user.role === 'admin');
/** Whether the task is the user's own to report on: its township's officer, or its lead department's. */
const isOwnTownship = (user, p) => user && ((user.role === 'township' && user.township === p.township)
  || (user.role === 'department' && Boolean(p.lead_department) && user.department === p.lead_department));

/** The buttons the viewer may use: editing and transitions for the bureau, a report for its township. */
function taskActions(shown, ctx, show) {
  const { feature, etag } = shown;
  const p = feature.properties;
  const user = ctx.user();
  const actions = h('div', { class: 'actions' });
  if (isStaff(user)) {
    actions.append(h('button', { type: 'button', id: 'task-edit', onclick: () => ctx.onEdit(feature, etag) }, t('task.edit')));
    actions.append(transitionControls(feature, etag, {
      onDone: (f, next, action) => {
        show(f, next, t(`actions.done.${action}`, { code: f.properties.code }));
        ctx.onChanged(f);
      },
      onStale: (current) => { show(current.feature, current.etag, current.message, 'error'); ctx.onChanged(current.feature); },
    }));
    const chase = chaseControl(feature, { onDone: (units) => show(feature, etag, t('chase.done', { code: p.code, n: units })) });
    if (chase) actions.append(chase);
  }
  if (isOwnTownship(user, p) && (p.status === 'planned' || p.status === 'in_progress')) {
    actions.append(h('button', { type: 'button', id: 'task-report', onclick: () => ctx.onReport(feature, etag) }, t('report.open')));
  }
  return actions;
}

/** [history, reports, photos] of a task: the history for everyone, the reports (else null) for
 * those entitled, and for a verified task its photos before and after the work. */
function records(feature, user) {
  const id = feature.id;
  return Promise.all([
    api(`/api/tasks/${id}/history`).then((r) => r.data).catch(() => []),
    isStaff(user) || isOwnTownship(user, feature.properties)
      ? api(`/api/tasks/${id}/reports`).then((r) => r.data).catch(() => null) : null,
    feature.properties.status === 'verified'
      ? api(`/api/tasks/${id}/photos`).then((r) => r.data).catch(() => null) : null,
  ]);
}

/**
 * History and reports arrive after the task; they fill their own boxes so that a form the user
 * has started in the panel (a return reason, say) is not redrawn under their fingers.
 */
function fillRecords(body, shown) {
  const hb = body.querySelector('#history-box');
  const rb = body.querySelector('#reports-box');
  const pb = body.querySelector('#photos-box');
  if (pb) clear(pb, beforeAfter(shown.photos));
  if (hb) clear(hb, h('h3', {}, t('history.title')), historyList(shown.history));
  if (rb) clear(rb, reportList(shown.reports));
}

/** A task fresh from the service, with its ETag; null when it does not exist for the viewer. */
async function fetchTask(id) {
  try {
    return await api(`/api/tasks/${id}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/**
 * The panel of one task in `panel` (#detail).
 * @param {HTMLElement} panel
 * @param {object} ctx `categories` (Map by code), `user()` (the caller now), and the handlers
 *   `onClose`, `onEdit(feature, etag)`, `onReport(feature, etag)` and `onChanged()`
 * @returns {object} `open(id)`, `show(feature, etag, message)`, `showContent(heading, node)`,
 *   `close()`, `current()` ({feature, etag} shown) and `rerender()`
 */
export function detailPanel(panel, ctx) {
  const body = panel.querySelector('.panel-body');
  const title = panel.querySelector('.panel-title');
  let shown = null; // {feature, etag, history, reports, message}

  panel.querySelector('.panel-close').addEventListener('click', () => ctx.onClose());
  const reveal = (open) => {
    panel.hidden = !open;
    document.body.classList.toggle('detail-open', open);
  };

  function render() {
    if (!shown) return;
    const { feature } = shown;
    const p = feature.properties;
    title.textContent = p.code;
    const actions = taskActions(shown, ctx, show);
    clear(body,
      taskSummary(p, ctx.categories.get(p.category), { ...shown, staff: isStaff(ctx.user()) }),
      actions.childElementCount ? actions : null,
      h('div', { id: 'photos-box' }),
      h('section', { id: 'history-box' }),
      h('div', { id: 'reports-box' }));
    fillRecords(body, shown);
  }

  async function show(feature, etag, message = '', messageKind = 'ok') {
    shown = { feature, etag, history: null, reports: null, photos: null, message, messageKind };
    reveal(true);
    render();
    // A message says what just happened: show it at the top, in full below the panel's header,
    // wherever the panel was scrolled to (the send button of a long form, say).
    if (message) panel.scrollTop = 0;
    const [history, reports, photos] = await records(feature, ctx.user());
    if (shown?.feature.id !== feature.id) return;
    shown.history = history;
    shown.reports = reports;
    shown.photos = photos;
    fillRecords(body, shown);
  }

  onLangChange(render);
  return {
    /** Loads a task fresh (with its ETag) and shows it; false when it does not exist for the viewer. */
    async open(id, message) {
      const r = await fetchTask(id);
      const saved = r && offlineCopy(r.headers);
      if (r && saved && !message) await show(r.data, r.etag, t('offline.copy', { age: age(saved) }), 'stale');
      else if (r) await show(r.data, r.etag, message);
      return r?.data ?? null;
    },
    show,
    /** Puts a form (task editor, report) in the panel in place of a task. */
    showContent(heading, node) {
      shown = null;
      title.textContent = heading;
      clear(body, node);
      reveal(true);
    },
    close() {
      shown = null;
      reveal(false);
    },
    current: () => shown,
    rerender: render,
  };
}
