// The side panel of one task: its public fields, progress and status history for everyone; the
// private fields, full history and reports for those entitled; the actions the viewer may take.

import { api, ApiError } from './api.js';
import { t, statusName, catName, fmtDate, fmtDateTime, fmtMoney, onLangChange, actionName } from './i18n.js';
import { h, clear, progressBar } from './ui.js';
import { transitionControls } from './actions.js';

/** Whether the user works for the bureau (bureau staff or an administrator). */
export const isStaff = (user) => user && (user.role === 'bureau' || user.role === 'admin');
const isOwnTownship = (user, p) => user && user.role === 'township' && user.township === p.township;

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

  function field(label, value) {
    if (value === null || value === undefined || value === '') return null;
    return [h('dt', {}, t(label)), h('dd', {}, value)];
  }

  function badges(p) {
    return h('p', { class: 'badges' },
      h('span', { class: `badge st-${p.status}`, id: 'task-status' }, statusName(p.status)),
      p.supervised ? h('span', { class: 'badge sup' }, t('task.supervised')) : null,
      p.overdue ? h('span', { class: 'badge od' }, t('task.overdue')) : null,
      p.visibility === 'internal' ? h('span', { class: 'badge internal' }, t('visibility.internal')) : null);
  }

  function historyList(entries) {
    if (!entries) return h('p', { class: 'note' }, t('common.loading'));
    if (!entries.length) return h('p', { class: 'note' }, t('history.empty'));
    return h('ol', { class: 'history', id: 'task-history' }, entries.slice().reverse().map((e) => h('li', {},
      h('time', { datetime: e.at }, fmtDateTime(e.at)), ' ',
      h('strong', {}, e.action ? actionName(e.action) : t(`history.kind.${e.kind}`)),
      e.status_before && e.status_after && e.status_before !== e.status_after
        ? ` ${statusName(e.status_before)} → ${statusName(e.status_after)}` : '',
      e.actor_name ? h('span', { class: 'actor' }, ` · ${e.actor_name}`) : '',
      e.reason ? h('div', { class: 'reason' }, `${t('history.reason')}: ${e.reason}`) : null,
      e.changes ? h('div', { class: 'changes' }, changeText(e)) : null)));
  }

  function changeText(e) {
    const c = e.changes;
    if (e.kind === 'reported') {
      return [c.progress?.after !== undefined ? `${c.progress.after}%` : '', c.note || '',
        c.photos ? t('reports.photos', { n: c.photos }) : ''].filter(Boolean).join(' · ');
    }
    // A creation snapshots every field; an edit lists what changed.
    if (e.kind === 'created') return '';
    return `${t('history.changed')}: ${Object.keys(c).map((k) => t(`field.${k}`, {}, k)).join(', ')}`;
  }

  function reportList(reports) {
    if (!reports) return null;
    return h('section', {}, h('h3', {}, t('reports.title')),
      reports.length ? h('ul', { class: 'reports', id: 'task-reports' }, reports.map((r) => h('li', {},
        h('time', { datetime: r.created_at }, fmtDateTime(r.created_at)), ' ', r.author_name || r.author,
        r.action ? h('strong', {}, ` · ${actionName(r.action)}`) : '',
        r.progress !== null && r.progress !== undefined ? ` · ${r.progress}%` : '',
        r.note ? h('p', {}, r.note) : null,
        r.photos?.length ? h('div', { class: 'photos' }, r.photos.map((ph, i) => h('a', { href: ph.url, target: '_blank', rel: 'noopener' },
          h('img', { src: ph.url, alt: t('reports.photo', { n: i + 1 }), loading: 'lazy' })))) : null)))
        : h('p', { class: 'note' }, t('reports.empty')));
  }

  function render() {
    if (!shown) return;
    const { feature } = shown;
    const p = feature.properties;
    const cat = ctx.categories.get(p.category);
    title.textContent = p.code;
    const user = ctx.user();
    const actions = h('div', { class: 'actions' });
    if (isStaff(user)) {
      actions.append(h('button', { type: 'button', id: 'task-edit', onclick: () => ctx.onEdit(shown.feature, shown.etag) }, t('task.edit')));
      actions.append(transitionControls(feature, shown.etag, {
        onDone: (f, etag) => { show(f, etag, t('actions.done')); ctx.onChanged(f); },
        onStale: (current) => { show(current.feature, current.etag, current.message, 'error'); ctx.onChanged(current.feature); },
      }));
    }
    if (isOwnTownship(user, p) && (p.status === 'planned' || p.status === 'in_progress')) {
      actions.append(h('button', { type: 'button', id: 'task-report', onclick: () => ctx.onReport(shown.feature, shown.etag) }, t('report.open')));
    }
    clear(body,
      shown.message ? h('p', { class: shown.messageKind === 'error' ? 'error' : 'ok', role: 'status', id: 'task-message' }, shown.message) : null,
      h('h2', { id: 'task-title' }, p.title),
      h('p', { class: 'family' }, h('i', { class: 'swatch', style: { background: cat?.color || '#888' }, 'aria-hidden': 'true' }),
        cat ? catName(cat) : p.category),
      badges(p),
      progressBar(p.progress, t('task.progress')),
      p.return_reason ? h('p', { class: 'returned', id: 'task-return-reason' }, `${t('task.returnReason')}: ${p.return_reason}`) : null,
      p.cancel_reason ? h('p', { class: 'note' }, `${t('task.cancelReason')}: ${p.cancel_reason}`) : null,
      p.description ? h('p', { class: 'description' }, p.description) : null,
      h('dl', { class: 'fields', id: 'task-fields' },
        field('task.township', p.township_name),
        field('task.leadUnit', p.lead_unit),
        field('task.dueDate', p.due_date ? fmtDate(p.due_date) : null),
        field('task.planned', p.planned_investment !== null ? fmtMoney(p.planned_investment) : null),
        field('task.actual', p.actual_investment !== null ? fmtMoney(p.actual_investment) : null),
        field('task.target', p.target_quantity !== null && p.target_quantity !== undefined ? `${p.target_quantity} ${p.target_unit || ''}` : null),
        field('task.contactPerson', p.contact_person),
        field('task.contactPhone', p.contact_phone),
        field('task.completedAt', p.completed_at ? fmtDateTime(p.completed_at) : null),
        field('task.verifiedAt', p.verified_at ? fmtDateTime(p.verified_at) : null),
        field('task.lastReport', p.last_report_at ? fmtDateTime(p.last_report_at) : null),
        field('task.version', String(p.version))),
      actions.childElementCount ? actions : null,
      h('section', { id: 'history-box' }),
      h('div', { id: 'reports-box' }));
    renderRecords();
  }

  // History and reports arrive after the task; they fill their own boxes so that a form the user
  // has started in the panel (a return reason, say) is not redrawn under their fingers.
  function renderRecords() {
    const hb = body.querySelector('#history-box');
    const rb = body.querySelector('#reports-box');
    if (hb) clear(hb, h('h3', {}, t('history.title')), historyList(shown.history));
    if (rb) clear(rb, reportList(shown.reports));
  }

  async function show(feature, etag, message = '', messageKind = 'ok') {
    shown = { feature, etag, history: null, reports: null, message, messageKind };
    panel.hidden = false;
    document.body.classList.add('detail-open');
    render();
    const id = feature.id;
    const user = ctx.user();
    const [history, reports] = await Promise.all([
      api(`/api/tasks/${id}/history`).then((r) => r.data).catch(() => []),
      isStaff(user) || isOwnTownship(user, feature.properties)
        ? api(`/api/tasks/${id}/reports`).then((r) => r.data).catch(() => null) : null,
    ]);
    if (shown?.feature.id !== id) return;
    shown.history = history;
    shown.reports = reports;
    renderRecords();
  }

  onLangChange(render);
  return {
    /** Loads a task fresh (with its ETag) and shows it; false when it does not exist for the viewer. */
    async open(id, message) {
      try {
        const r = await api(`/api/tasks/${id}`);
        await show(r.data, r.etag, message);
        return r.data;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }
    },
    show,
    /** Puts a form (task editor, report) in the panel in place of a task. */
    showContent(heading, node) {
      shown = null;
      title.textContent = heading;
      clear(body, node);
      panel.hidden = false;
      document.body.classList.add('detail-open');
    },
    close() {
      shown = null;
      panel.hidden = true;
      document.body.classList.remove('detail-open');
    },
    current: () => shown,
    rerender: render,
  };
}
