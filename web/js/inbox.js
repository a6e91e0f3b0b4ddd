// The inbox (收件箱) of a township or department officer: the daily reminders (催办) of what is
// due soon, overdue, without reports or returned, and the bureau's chases of single tasks, newest
// first, with the unread count on the tab's badge. Each task named opens on the map; an item is
// marked read on its own or all at once. The badge is asked for again every minute while the page
// is visible.

import { api, ApiError } from './api.js';
import { t, fmtDate, fmtDateTime, onLangChange } from './i18n.js';
import { h, clear } from './ui.js';

/** The digest's sections in the order shown (most urgent first), as the service names them. */
const SECTIONS = ['overdue', 'returned', 'due_soon', 'stale'];
const POLL_MS = 60_000;
const PAGE = 50;

/** One task named by an item: a button opening it. */
function taskLine(task, onOpen) {
  return h('li', {},
    h('button', { type: 'button', class: 'link inbox-task', dataset: { task: task.id, code: task.code }, onclick: () => onOpen(task.id) },
      h('strong', {}, task.code), ' ', task.title),
    task.due_date ? h('span', { class: 'note' }, ` · ${t('inbox.due', { date: fmtDate(task.due_date) })}`) : '');
}

/** A digest's sections: each with its count and the tasks it names. */
function digestBody(item, onOpen) {
  return SECTIONS.filter((s) => item.counts[s] > 0).map((s) => {
    const tasks = item.items.filter((i) => i.section === s);
    const more = item.counts[s] - tasks.length;
    return h('div', { class: 'inbox-section', dataset: { section: s } },
      h('h3', {}, t(`inbox.section.${s}`), ` (${item.counts[s]})`),
      h('ul', {}, tasks.map((task) => taskLine(task, onOpen))),
      more > 0 ? h('p', { class: 'note' }, t('inbox.more', { n: more })) : null);
  });
}

/**
 * The caller's inbox in `root`, its unread count in `badge`.
 * @param {HTMLElement} root the tab's panel
 * @param {object} options `badge` (the element on the tab showing the count), `visible()` (whether
 *   the panel is shown) and `onOpen(id)` (zoom to a task and open it)
 * @returns {{reload: () => Promise<void>, refresh: () => Promise<void>}} `reload` asks for the
 *   list again, `refresh` the badge (and the list too when it is shown and the count changed)
 */
export function inbox(root, { badge, visible, onOpen }) {
  let page = null;
  let error = '';

  function setCount(n) {
    badge.textContent = n > 0 ? String(n) : '';
    badge.hidden = !(n > 0);
  }

  async function reload() {
    try {
      page = (await api(`/api/inbox?limit=${PAGE}`)).data;
      error = '';
      setCount(page.unread);
    } catch (e) {
      error = e instanceof ApiError ? e.detail : t('error.network');
    }
    render();
  }

  async function refresh() {
    try {
      const { unread } = (await api('/api/inbox/count')).data;
      setCount(unread);
      if (visible() && (!page || unread !== page.unread)) await reload();
    } catch {
      // Offline or logged out: the badge keeps its last count; the next minute asks again.
    }
  }

  async function mark(path, focusAfter) {
    try {
      setCount((await api(path, { method: 'POST' })).data.unread);
    } catch (e) {
      error = e instanceof ApiError ? e.detail : t('error.network');
    }
    await reload();
    (root.querySelector(focusAfter) || root.querySelector('#inbox-total'))?.focus();
  }

  function itemView(item) {
    const title = item.kind === 'chase'
      ? t('inbox.chase', { code: item.items[0]?.code || '' })
      : t('inbox.digest', { date: fmtDate(item.day) });
    return h('li', { class: `inbox-item${item.read ? '' : ' unread'}`, dataset: { id: item.id, kind: item.kind, read: String(item.read) } },
      h('p', { class: 'meta' },
        item.read ? null : h('span', { class: 'badge warn' }, t('inbox.unread')), ' ',
        h('strong', {}, title), ' ',
        h('time', { class: 'note', datetime: item.created_at }, fmtDateTime(item.created_at))),
      item.kind === 'chase'
        ? [h('p', { class: 'inbox-message' }, item.message),
          item.from ? h('p', { class: 'note' }, t('inbox.from', { name: item.from })) : null,
          h('ul', {}, item.items.map((task) => taskLine(task, onOpen)))]
        : digestBody(item, onOpen),
      item.read ? null : h('button', { type: 'button', class: 'secondary inbox-read', onclick: () => mark(`/api/inbox/${item.id}/read`, '.inbox-read') },
        t('inbox.markRead')));
  }

  function render() {
    const head = h('div', { class: 'review-head' },
      h('p', { class: 'note', id: 'inbox-total', tabindex: '-1' }, page ? t('inbox.total', { n: page.total, unread: page.unread }) : ''),
      page?.unread ? h('button', { type: 'button', class: 'secondary', id: 'inbox-read-all', onclick: () => mark('/api/inbox/read', '#inbox-total') },
        t('inbox.markAll')) : null);
    clear(root, head,
      error ? h('p', { class: 'error', role: 'alert' }, error) : null,
      !page ? h('p', { class: 'note' }, t('common.loading'))
        : page.items.length ? h('ol', { class: 'inbox-list', id: 'inbox-list' }, page.items.map(itemView))
          : h('p', { class: 'note', id: 'inbox-empty' }, t('inbox.empty')));
  }

  setInterval(() => document.visibilityState === 'visible' && refresh(), POLL_MS);
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && refresh());
  onLangChange(render);
  render();
  if (visible()) reload();
  else refresh();
  return { reload, refresh };
}
