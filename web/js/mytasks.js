// "My tasks" for a township officer: the township's open work, what is overdue or was sent back
// first, then by the soonest deadline; and the reports still waiting in the outbox.

import { get, query } from './api.js';
import { t, statusName, fmtDate, fmtDateTime, onLangChange } from './i18n.js';
import { h, clear, progressBar } from './ui.js';
import * as outbox from './offline.js';

function sortMine(features) {
  const urgent = (p) => (p.overdue || p.return_reason ? 0 : 1);
  return [...features].sort((a, b) => {
    const x = a.properties;
    const y = b.properties;
    return urgent(x) - urgent(y)
      || (x.due_date || '9999').localeCompare(y.due_date || '9999')
      || x.code.localeCompare(y.code);
  });
}

/** The reports waiting to be sent, each refused one with its reason and a way to drop it. */
function outboxSection(waiting, onDiscarded) {
  if (!waiting.length) return null;
  return h('section', { class: 'outbox', id: 'outbox', 'aria-live': 'polite' },
    h('h3', {}, t('outbox.title', { n: waiting.length })),
    h('p', { class: 'note' }, navigator.onLine ? t('outbox.online') : t('outbox.offline')),
    h('ul', {}, waiting.map((e) => h('li', { dataset: { key: e.key } },
      h('strong', {}, e.code), ` ${e.title} · ${fmtDateTime(e.created)}`,
      e.error ? h('p', { class: 'error' }, e.error.detail) : h('span', { class: 'waiting' }, ` · ${t('outbox.waiting')}`),
      e.error ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
        if (confirm(t('outbox.discardConfirm'))) {
          await outbox.remove(e.key);
          onDiscarded();
        }
      } }, t('outbox.discard')) : null))),
    h('button', { type: 'button', id: 'outbox-retry', onclick: () => outbox.flush() }, t('outbox.retry')));
}

/** One task of the list: what it is, how urgent, how far along, and its buttons. */
function taskItem(f, { onOpen, onReport }) {
  const p = f.properties;
  return h('li', { class: `mine-item${p.overdue ? ' overdue' : ''}${p.return_reason ? ' returned' : ''}`, dataset: { code: p.code } },
    h('button', { type: 'button', class: 'link mine-open', onclick: () => onOpen(f.id) }, h('strong', {}, p.code), ' ', p.title),
    h('p', { class: 'meta' },
      h('span', { class: `badge st-${p.status}` }, statusName(p.status)),
      p.overdue ? h('span', { class: 'badge od' }, t('task.overdue')) : null,
      p.supervised ? h('span', { class: 'badge sup' }, t('task.supervised')) : null,
      p.due_date ? ` ${t('task.dueDate')}: ${fmtDate(p.due_date)}` : ''),
    p.return_reason ? h('p', { class: 'returned' }, `${t('task.returnReason')}: ${p.return_reason}`) : null,
    progressBar(p.progress, t('task.progress')),
    p.status === 'planned' || p.status === 'in_progress'
      ? h('button', { type: 'button', class: 'mine-report', onclick: () => onReport(f.id) }, t('report.open')) : null);
}

/**
 * A township officer's "My tasks" in `root`.
 * @param {HTMLElement} root
 * @param {object} options the `user`, and `onOpen(id)` and `onReport(id)` for a task's buttons
 * @returns {{reload: () => Promise<void>, notify: (message: string) => void}}
 */
export function myTasks(root, { user, onOpen, onReport }) {
  let tasks = null;
  let waiting = [];
  let error = '';
  let notice = '';

  async function reload() {
    try {
      const fc = await get(`/api/tasks${query({ township: user.township, status: ['planned', 'in_progress', 'completed'], limit: 10000 })}`);
      tasks = sortMine(fc.features);
      error = '';
    } catch (e) {
      error = e.detail || t('error.network');
    }
    await refreshOutbox();
  }

  async function refreshOutbox() {
    waiting = await outbox.waiting();
    render();
  }

  function render() {
    clear(root,
      notice ? h('p', { class: 'ok', role: 'status', id: 'report-queued' }, notice) : null,
      outboxSection(waiting, refreshOutbox),
      error ? h('p', { class: 'error' }, error) : null,
      !tasks ? h('p', { class: 'note' }, t('common.loading'))
        : tasks.length ? h('ol', { class: 'mine', id: 'mine-list' }, tasks.map((f) => taskItem(f, { onOpen, onReport })))
          : h('p', { class: 'note' }, t('mine.empty')));
  }

  document.addEventListener('outbox-changed', (e) => {
    if (e.detail?.sent) {
      notice = '';
      reload();
    }
    else refreshOutbox();
  });
  window.addEventListener('online', refreshOutbox);
  window.addEventListener('offline', refreshOutbox);
  onLangChange(render);
  render();
  return {
    reload,
    refreshOutbox,
    /** A message over the list (e.g. that a report was kept for later). */
    async notify(text) {
      notice = text;
      await refreshOutbox();
      root.scrollIntoView({ block: 'start' });
    },
  };
}
