// "My tasks" for a township officer: the township's targets of the year and how far it is, its
// open work, what is overdue or was sent back first, then by the soonest deadline; and the
// reports still waiting in the outbox.

import { api, query, ApiError } from './api.js';
import { t, statusName, fmtDate, fmtDateTime, fmtPct, catName, onLangChange } from './i18n.js';
import { currentCampaign, targetProgress } from './campaign-data.js';
import { h, clear, progressBar } from './ui.js';
import * as outbox from './offline.js';
import { offlineCopy, age, keepRecords } from './pwa.js';

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

/** What the officer can do about a refused report, by why it was refused. */
function refusalHelp(e, username) {
  const status = e.error?.status;
  const why = new ApiError(status, e.error?.problem).detail;
  const discard = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    if (confirm(t('outbox.discardConfirm'))) await outbox.discard(e.key);
  } }, t('outbox.discard'));
  if (status === 412) {
    return [h('p', { class: 'error' }, t('outbox.do.stale')),
      h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'outbox-resend', onclick: () => outbox.resend(e, username) }, t('outbox.resend')), discard)];
  }
  if (status === 401) return [h('p', { class: 'error' }, t('outbox.do.login'))];
  return [h('p', { class: 'error' }, why), h('p', { class: 'note' }, t('outbox.do.fix')), h('div', { class: 'buttons' }, discard)];
}

/** One report of the outbox with its state: waiting, sending, sent (when), refused (why, what to do). */
function outboxItem(e, username) {
  const state = {
    waiting: h('span', { class: 'waiting' }, t('outbox.waiting')),
    sending: h('span', { class: 'waiting' }, t('outbox.sending')),
    sent: h('span', { class: 'ok' }, t('outbox.sent', { time: e.sentAt ? fmtDateTime(e.sentAt) : '' })),
    refused: h('strong', { class: 'error' }, t('outbox.refused')),
  }[e.state];
  return h('li', { dataset: { key: e.key, state: e.state } },
    h('strong', {}, e.code), ` ${e.title} · ${fmtDateTime(e.created)} · `, state,
    e.state === 'refused' ? refusalHelp(e, username) : null);
}

/** The outbox: reports waiting, being sent, refused, and those sent lately. */
function outboxSection(all, username) {
  if (!all.length) return null;
  const open = all.filter((e) => e.state !== 'sent');
  return h('section', { class: 'outbox', id: 'outbox', 'aria-live': 'polite' },
    h('h3', {}, open.length ? t('outbox.title', { n: open.length }) : t('outbox.recent')),
    open.length ? h('p', { class: 'note' }, navigator.onLine ? t('outbox.online') : t('outbox.offline')) : null,
    h('ul', {}, all.map((e) => outboxItem(e, username))),
    h('div', { class: 'buttons' },
      open.length ? h('button', { type: 'button', id: 'outbox-retry', onclick: () => outbox.flush(username) }, t('outbox.retry')) : null,
      open.length < all.length ? h('button', { type: 'button', class: 'secondary', id: 'outbox-clear', onclick: () => outbox.clearSent() }, t('outbox.clearSent')) : null));
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

/** The township's targets of the year: each family's achieved against set, and the whole. */
function targetsSection(mine, families) {
  if (!mine || !mine.targets.length) return null;
  const { current, targets, rate } = mine;
  const family = (code) => (families.get(code) ? catName(families.get(code)) : code);
  return h('section', { class: 'mine-targets', id: 'mine-targets' },
    h('h3', {}, t('mine.targets', { name: catName(current.campaign), year: current.year })),
    h('p', { class: 'meta', id: 'mine-target-rate' }, t('mine.targetRate', { rate: fmtPct(rate) })),
    h('ul', {}, targets.map((g) => h('li', { dataset: { category: g.category } },
      h('strong', {}, family(g.category)), ' ',
      g.task_count ? t('mine.targetTasks', { done: g.tasks_achieved, of: g.task_count }) : '',
      g.quantity ? ` ${t('mine.targetQuantity', { done: g.quantity_achieved, of: g.quantity, unit: g.unit })}` : '',
      ` · ${fmtPct(g.rate)}`,
      h('span', { class: 'note' }, ` (${t(g.counted_when === 'completed' ? 'mine.countedCompleted' : 'mine.countedVerified')})`)))));
}

/** The township's targets of the running campaign year, or null (none, or offline). */
async function loadTargets(township) {
  try {
    const current = await currentCampaign();
    if (!current) return null;
    const p = await targetProgress(current.campaign.code, current.year, township);
    return { current, targets: p.targets, rate: p.townships[0]?.rate ?? null };
  } catch {
    return null;
  }
}

/**
 * A township officer's "My tasks" in `root`.
 * @param {HTMLElement} root
 * @param {object} options the `user`, `families` (task families by code), and `onOpen(id)` and
 *   `onReport(id)` for a task's buttons
 * @returns {{reload: () => Promise<void>, notify: (message: string) => void, find: (id: string) => object | null}}
 */
export function myTasks(root, { user, families, onOpen, onReport }) {
  let tasks = null;
  let targets = null;
  let saved = null; // when the list shown was stored on the phone, if it comes from there
  let kept = [];
  let error = '';
  let notice = '';

  async function reload() {
    targets = await loadTargets(user.township);
    try {
      // A department officer's tasks are those its department leads, across townships.
      const mine = user.role === 'department' ? { department: user.department } : { township: user.township };
      const r = await api(`/api/tasks${query({ ...mine, status: ['planned', 'in_progress', 'completed'], limit: 10000 })}`);
      tasks = sortMine(r.data.features);
      saved = offlineCopy(r.headers);
      error = '';
    } catch (e) {
      error = e.detail || t('error.network');
    }
    await refreshOutbox();
    if (tasks && !saved) await keepRecords(tasks.map((f) => f.id));
  }

  async function refreshOutbox() {
    kept = await outbox.entries();
    render();
  }

  function render() {
    clear(root,
      notice ? h('p', { class: 'ok', role: 'status', id: 'report-queued', tabindex: '-1' }, notice) : null,
      outboxSection(kept, user.username),
      saved ? h('p', { class: 'stale', id: 'mine-age' }, t('offline.mine', { age: age(saved) })) : null,
      error ? h('p', { class: 'error' }, error) : null,
      targetsSection(targets, families),
      !tasks ? h('p', { class: 'note' }, t('common.loading'))
        : tasks.length ? h('ol', { class: 'mine', id: 'mine-list' }, tasks.map((f) => taskItem(f, { onOpen, onReport })))
          : h('p', { class: 'note' }, t('mine.empty')));
  }

  document.addEventListener('outbox-changed', (e) => {
    if (e.detail?.sent) {
      notice = '';
      reload();
    } else refreshOutbox();
  });
  window.addEventListener('online', refreshOutbox);
  window.addEventListener('offline', refreshOutbox);
  onLangChange(render);
  render();
  return {
    reload,
    /** A message over the list (e.g. that a report was kept for later), brought into view. */
    async notify(text) {
      notice = text;
      await refreshOutbox();
      const shown = root.querySelector('#report-queued');
      shown?.scrollIntoView({ block: 'start' });
      shown?.focus({ preventScroll: true });
    },
    /**
     * A task of the list, as last loaded (from the phone when offline), or null.
     * @param {string} id
     */
    find: (id) => tasks?.find((f) => f.id === id) ?? null,
  };
}
