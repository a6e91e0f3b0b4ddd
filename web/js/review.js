// The bureau's review queue (待审核): what needs the bureau, in four sections as GET /api/review
// orders them (new reports and answers to returns newest first, completions oldest first, overdue
// tasks longest overdue first), with the count on the tab's badge. From the list the clerk verifies
// a completion (after a confirmation, and with a reason when no report has a photo), returns it
// (with a reason), or marks a report seen. The badge is asked for again after every action and
// every minute while the page is visible.

import { api, create, ApiError } from './api.js';
import { t, statusName, actionName, fmtDate, fmtDateTime, onLangChange } from './i18n.js';
import { h, clear } from './ui.js';
import { staleFrom } from './actions.js';
import { flagText } from './task-view.js';

/** The sections in the order shown, by the service's names. */
const SECTIONS = ['new_reports', 'awaiting_verification', 'return_answers', 'overdue_without_report'];
/** How often the badge is asked for while the page is visible. */
const POLL_MS = 60_000;
/** Thumbnails shown per item; the rest are counted. */
const THUMBS = 6;
const FLAGS = { no_photo: 'danger', supervised: 'sup', late: 'od', returned_before: 'warn' };

const itemKey = (item) => (item.report ? `r-${item.report.id}` : `t-${item.kind}-${item.task.id}`);

/** The thumbnails of an item's photos, each a link to the picture. */
function thumbnails(urls) {
  if (!urls.length) return null;
  return h('div', { class: 'photos' },
    urls.slice(0, THUMBS).map((url, i) => h('a', { href: url, target: '_blank', rel: 'noopener' },
      // The thumbnail first: the picture itself is a tap away.
      h('img', { src: `${url}?size=thumb`, alt: t('reports.photo', { n: i + 1 }), loading: 'lazy' }))),
    urls.length > THUMBS ? h('span', { class: 'note' }, t('review.morePhotos', { n: urls.length - THUMBS })) : null);
}

/** When the item happened, as its kind says it. */
function when(item) {
  if (item.kind === 'overdue_without_report') return t('review.dueSince', { date: fmtDate(item.task.due_date) });
  if (item.kind === 'awaiting_verification') return t('review.completedAt', { time: fmtDateTime(item.at) });
  return t('review.reportedAt', { time: fmtDateTime(item.at) });
}

/** What a report says: who, what kind, the progress, the note. */
function reportLines(r) {
  if (!r) return null;
  return [
    h('p', { class: 'review-report' }, r.author_name,
      r.action ? h('strong', {}, ` · ${actionName(r.action)}`) : '',
      r.progress !== null && r.progress !== undefined ? ` · ${t('task.progress')} ${r.progress}%` : ''),
    r.note ? h('p', { class: 'review-note' }, r.note) : null,
  ];
}

function flagBadges(flags) {
  const on = Object.keys(FLAGS).filter((f) => flags?.[f]);
  if (!on.length) return null;
  return h('p', { class: 'badges' }, on.map((f) => h('span', { class: `badge ${FLAGS[f]}`, dataset: { flag: f } }, t(`review.flag.${f}`))));
}

/** What the item's photos and reports give a verifier to doubt, each once, with how often. */
function evidenceList(evidence) {
  const counts = new Map();
  for (const f of evidence || []) {
    const text = flagText(f);
    counts.set(text, { flag: f.flag, n: (counts.get(text)?.n || 0) + 1 });
  }
  if (!counts.size) return null;
  return h('ul', { class: 'flags evidence-flags' }, [...counts].map(([text, { flag, n }]) =>
    h('li', { class: `flag flag-${flag}` }, n > 1 ? t('evidence.times', { text, n }) : text)));
}

/**
 * The bureau's review queue in `root`, its count in `badge`.
 * @param {HTMLElement} root the tab's panel
 * @param {object} options `badge` (the element on the tab showing the count), `visible()` (whether
 *   the panel is shown), `onOpen(id)` (zoom to a task and open it) and `onChanged(feature, etag,
 *   message)` (a task was verified or returned)
 * @returns {{reload: () => Promise<void>, refresh: () => Promise<void>}} `reload` asks for the queue
 *   again (when the tab is shown), `refresh` the badge, and the queue too when it is shown and changed
 */
export function reviewQueue(root, { badge, visible, onOpen, onChanged }) {
  let queue = null;
  let error = '';
  let form = null; // {key, action, item, reason, needsReason, error, sending}
  let asked = 0; // the latest request for the queue: an older answer arriving later is dropped

  function setCount(n) {
    badge.textContent = n > 0 ? String(n) : '';
    badge.hidden = !(n > 0);
  }

  async function reload() {
    const mine = ++asked;
    let data = null;
    let failed = '';
    try {
      data = (await api('/api/review')).data;
    } catch (e) {
      failed = e instanceof ApiError ? e.detail : t('error.network');
    }
    if (mine !== asked) return;
    error = failed;
    if (data) {
      queue = data;
      setCount(queue.count);
      if (form && !SECTIONS.some((s) => queue[s].some((i) => itemKey(i) === form.key))) form = null;
    }
    render();
  }

  async function refresh() {
    try {
      const { count } = (await api('/api/review/count')).data;
      setCount(count);
      if (visible() && !form && (!queue || count !== queue.count)) await reload();
    } catch {
      // Offline or logged out: the badge keeps its last count; the next minute asks again.
    }
  }

  // The head stays put while the list under it is redrawn, so that what the status line says is
  // announced (a live region made anew is not) and the list keeps its scroll position.
  const notice = h('p', { role: 'status', id: 'review-notice', tabindex: '-1' });
  const total = h('p', { class: 'note', id: 'review-total' });
  const refreshButton = h('button', { type: 'button', class: 'secondary', id: 'review-refresh', onclick: () => {
    tell('');
    reload();
  } });
  const body = h('div', { class: 'review-body' });
  clear(root, h('div', { class: 'review-head' }, h('div', {}, notice, total), refreshButton), body);

  /** Says what became of an action: `task` adds a button opening the task. */
  function tell(text, kind = 'ok', task = null) {
    notice.className = kind;
    clear(notice, text, task ? [' ', h('button', { type: 'button', class: 'link', id: 'review-show', onclick: () => onOpen(task) }, t('review.show'))] : null);
  }

  /** Where an item is: its section and place, for the focus to go to what takes its place. */
  function placeOf(key) {
    const li = root.querySelector(`li[data-key="${key}"]`);
    if (!li) return null;
    return { section: li.closest('section').id, index: [...li.parentElement.children].indexOf(li) };
  }

  /** After an item left the list, the focus goes to the one now in its place (else the status line). */
  function focusAfter(place) {
    const items = place ? [...root.querySelectorAll(`#${place.section} li`)] : [];
    const next = items[Math.min(place?.index ?? 0, items.length - 1)];
    (next?.querySelector('.review-open') || notice).focus();
  }

  async function transition(item, action, reason) {
    const { task } = item;
    const place = placeOf(itemKey(item));
    try {
      const r = await create(`/api/tasks/${task.id}/transitions`, {
        method: 'POST', json: { action, reason: reason || undefined }, headers: { 'If-Match': `"v${task.version}"` },
      });
      const text = t(`review.done.${action}`, { code: task.code });
      form = null;
      tell(text, 'ok', task.id);
      await reload();
      focusAfter(place);
      onChanged(r.data, r.etag, text);
    } catch (e) {
      const stale = staleFrom(e);
      if (stale || !form) {
        // Someone changed the task since the list was loaded: say so, and show the list as it is now.
        form = null;
        tell(`${task.code}: ${stale ? stale.message : e.detail || t('error.network')}`, 'error', task.id);
        await reload();
        notice.focus();
        if (stale) onChanged(stale.feature, stale.etag, stale.message);
        return;
      }
      // The service's refusal, in the form: a missing reason opens the reason field.
      form.sending = false;
      form.error = e instanceof ApiError ? e.detail : t('error.network');
      if (e instanceof ApiError && e.errors.some((x) => x.pointer === '/reason')) form.needsReason = true;
      render();
      root.querySelector('#review-reason')?.focus();
    }
  }

  async function markSeen(reports, item) {
    const place = item ? placeOf(itemKey(item)) : null;
    try {
      const r = await api('/api/review/seen', { method: 'POST', json: { reports } });
      setCount(r.data.count);
      tell(item ? t('review.done.seen', { code: item.task.code }) : t('review.done.seenAll', { n: reports.length }));
    } catch (e) {
      tell(e instanceof ApiError ? e.detail : t('error.network'), 'error');
    }
    await reload();
    focusAfter(place);
  }

  function openForm(item, action) {
    form = { key: itemKey(item), action, item, reason: '', needsReason: action === 'return' || Boolean(item.flags?.no_photo), error: '' };
    render();
    (root.querySelector('#review-reason') || root.querySelector('#review-confirm'))?.focus();
  }

  function closeForm() {
    const key = form?.key;
    form = null;
    render();
    root.querySelector(`[data-key="${key}"] [data-action]`)?.focus();
  }

  /** The confirmation of a verification or the reason of a return, under the item. */
  function actionForm() {
    const { item, action } = form;
    const reason = form.needsReason ? h('textarea', { id: 'review-reason', rows: 3,
      'aria-invalid': form.error && !form.reason.trim() ? 'true' : undefined, 'aria-describedby': 'review-form-error',
      oninput: (e) => { form.reason = e.target.value; } }, form.reason) : null;
    const submit = (e) => {
      e.preventDefault();
      if (form.needsReason && !form.reason.trim()) {
        form.error = t('actions.reasonRequired');
        render();
        root.querySelector('#review-reason')?.focus();
        return;
      }
      form.sending = true;
      form.error = '';
      render();
      transition(item, action, form.reason.trim());
    };
    const escape = (e) => {
      if (e.key === 'Escape') closeForm();
    };
    return h('form', { class: 'review-form', id: 'review-form', novalidate: true, onsubmit: submit, onkeydown: escape, dataset: { action } },
      action === 'verify' ? h('p', {}, t('review.confirmVerify', { code: item.task.code })) : null,
      action === 'verify' && form.needsReason && item.flags?.no_photo ? h('p', { class: 'returned' }, t('review.noPhoto')) : null,
      reason ? h('label', { class: 'field' }, t(action === 'verify' ? 'review.verifyReason' : 'actions.reason.return'), reason) : null,
      h('p', { class: 'error', role: 'alert', id: 'review-form-error' }, form.error),
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', id: 'review-confirm', disabled: Boolean(form.sending) }, t(`review.confirm.${action}`)),
        h('button', { type: 'button', class: 'secondary', id: 'review-cancel', onclick: closeForm }, t('common.cancel'))));
  }

  function buttons(item) {
    const act = (action, label, onclick, cls = '') => h('button', { type: 'button', class: cls, dataset: { action }, onclick }, label);
    if (item.kind === 'awaiting_verification') {
      return h('div', { class: 'buttons' },
        act('verify', actionName('verify'), () => openForm(item, 'verify')),
        act('return', t('review.return'), () => openForm(item, 'return'), 'secondary'));
    }
    if (item.report) {
      return h('div', { class: 'buttons' }, act('seen', t('review.seen'), () => markSeen([item.report.id], item), 'secondary'));
    }
    return null;
  }

  function itemView(item) {
    const { task } = item;
    const key = itemKey(item);
    return h('li', { class: 'review-item', dataset: { key, kind: item.kind, code: task.code, task: task.id } },
      h('button', { type: 'button', class: 'link review-open', onclick: () => onOpen(task.id) },
        h('strong', {}, task.code), ' ', task.title),
      h('p', { class: 'meta' }, h('span', { class: `badge st-${task.status}` }, statusName(task.status)),
        ` ${task.township_name} · ${when(item)}`),
      reportLines(item.report),
      flagBadges(item.flags),
      evidenceList(item.evidence),
      thumbnails(item.photos),
      form?.key === key ? actionForm() : buttons(item));
  }

  function section(name) {
    const items = queue[name];
    const unseen = items.filter((i) => i.report).map((i) => i.report.id);
    return h('section', { class: 'review-section', id: `review-${name}`, 'aria-labelledby': `review-h-${name}` },
      h('h2', { id: `review-h-${name}` }, t(`review.section.${name}`), ` (${items.length})`),
      items.length ? h('p', { class: 'note' }, t(`review.order.${name}`)) : null,
      unseen.length > 1 ? h('button', { type: 'button', class: 'secondary review-seen-all', onclick: () => markSeen(unseen) },
        t('review.seenAll', { n: unseen.length })) : null,
      items.length
        ? h('ol', { class: 'review-list' }, items.map(itemView))
        : h('p', { class: 'note' }, t('review.empty')));
  }

  function render() {
    const shown = queue ? SECTIONS.reduce((n, sec) => n + queue[sec].length, 0) : 0;
    total.textContent = queue ? t('review.total', { n: queue.count }) : '';
    refreshButton.textContent = t('review.refresh');
    clear(body,
      error ? h('p', { class: 'error', role: 'alert' }, error) : null,
      !queue ? h('p', { class: 'note' }, t('common.loading'))
        : [shown ? null : h('p', { class: 'ok', id: 'review-clear' }, t('review.allClear')), SECTIONS.map(section)]);
  }

  setInterval(() => document.visibilityState === 'visible' && refresh(), POLL_MS);
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && refresh());
  onLangChange(() => {
    tell('');
    render();
  });
  render();
  if (visible()) reload();
  else refresh();
  return { reload, refresh };
}
