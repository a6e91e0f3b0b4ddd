// The bureau's transitions on a task: verify (销号; with a reason when no report has a photo),
// return with a reason (退回整改), cancel with a reason, supervise (督办) and lift supervision.
// Each is sent with the ETag the user looked at. And the bureau's chase of a task (催办).

import { create, ApiError } from './api.js';
import { t, actionName } from './i18n.js';
import { h, clear, uuid } from './ui.js';

function available(p) {
  const open = p.status !== 'verified' && p.status !== 'cancelled';
  return [
    p.status === 'completed' && 'verify',
    p.status === 'completed' && 'return',
    open && 'cancel',
    open && !p.supervised && 'supervise',
    p.supervised && 'unsupervise',
  ].filter(Boolean);
}

const NEEDS_REASON = new Set(['return', 'cancel']);

/** The 412 answer as something to show: the task as it is now, with its ETag and a message. */
export function staleFrom(err) {
  const current = err.problem?.current;
  if (err instanceof ApiError && err.status === 412 && current) {
    return { feature: current, etag: `"v${err.problem.current_version}"`,
      message: t('conflict.message', { version: err.problem.current_version }) };
  }
  return null;
}

/**
 * The buttons of the transitions the service allows the viewer on this task (start, complete,
 * verify, return with a reason, cancel...), each sent with the task's ETag.
 * @param {object} feature the task as GET /api/tasks/{id} sent it
 * @param {string} etag its ETag
 * @param {{onDone: Function, onStale: Function}} handlers `onDone(feature, etag, action)` after a
 *   transition; `onStale(staleFrom(err))` when the task changed meanwhile (412)
 * @returns {HTMLElement}
 */
export function transitionControls(feature, etag, { onDone, onStale }) {
  const box = h('div', { class: 'transitions' });
  const error = h('p', { class: 'error', role: 'alert', id: 'transition-error' });
  const reasonBox = h('div', { class: 'reason-form', hidden: true });

  async function send(action, reason) {
    error.textContent = '';
    try {
      const r = await create(`/api/tasks/${feature.id}/transitions`, {
        method: 'POST', json: { action, reason: reason || undefined }, headers: { 'If-Match': etag },
      });
      onDone(r.data, r.etag, action);
    } catch (e) {
      const stale = staleFrom(e);
      if (stale) return onStale(stale);
      // No report of the task has a photo: the bureau may still verify, saying why.
      if (action === 'verify' && !reason && e instanceof ApiError && e.errors.some((x) => x.pointer === '/reason')) askReason(action);
      error.textContent = e instanceof ApiError ? e.detail : t('error.network');
    }
  }

  function askReason(action) {
    const text = h('textarea', { id: 'transition-reason', required: true, rows: 3 });
    clear(reasonBox,
      h('label', { class: 'field' }, t(`actions.reason.${action}`), text),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', id: 'transition-confirm', onclick: () => {
          if (!text.value.trim()) {
            error.textContent = t('actions.reasonRequired');
            text.focus();
            return;
          }
          send(action, text.value.trim());
        } }, t('actions.confirm', { action: actionName(action) })),
        h('button', { type: 'button', class: 'secondary', onclick: () => { reasonBox.hidden = true; } }, t('common.cancel'))));
    reasonBox.hidden = false;
    text.focus();
  }

  for (const action of available(feature.properties)) {
    box.append(h('button', { type: 'button', class: action === 'cancel' ? 'danger' : '', dataset: { action },
      onclick: () => (NEEDS_REASON.has(action) ? askReason(action) : send(action)) }, actionName(action)));
  }
  return h('div', { class: 'transition-box' }, box, reasonBox, error);
}

/**
 * The bureau's chase of one open task (催办): a button opening a message field; the message goes
 * to the task's township and lead department (inbox, robots, e-mail) and into the task's history.
 * @param {object} feature the task as GET /api/tasks/{id} sent it
 * @param {{onDone: (units: number) => void}} handlers `onDone(units)` after the chase, with how many
 *   units it went to
 * @returns {HTMLElement | null} nothing for a verified or cancelled task
 */
export function chaseControl(feature, { onDone }) {
  const p = feature.properties;
  if (p.status === 'verified' || p.status === 'cancelled') return null;
  const error = h('p', { class: 'error', role: 'alert', id: 'chase-error' });
  const form = h('div', { class: 'reason-form', hidden: true });
  // One key per message written: a retry after a lost answer chases once.
  let key = uuid();

  async function send(text) {
    error.textContent = '';
    try {
      const r = await create(`/api/tasks/${feature.id}/chase`, { method: 'POST', json: { message: text }, headers: { 'Idempotency-Key': key } });
      key = uuid();
      form.hidden = true;
      onDone(r.data.units.length);
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.detail : t('error.network');
    }
  }

  function open() {
    const text = h('textarea', { id: 'chase-message', rows: 3, maxlength: 1000 });
    clear(form,
      h('label', { class: 'field' }, t('chase.message'), text),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', id: 'chase-send', onclick: () => {
          if (!text.value.trim()) {
            error.textContent = t('chase.required');
            text.focus();
            return;
          }
          send(text.value.trim());
        } }, t('chase.send')),
        h('button', { type: 'button', class: 'secondary', onclick: () => { form.hidden = true; } }, t('common.cancel'))));
    form.hidden = false;
    text.focus();
  }

  return h('div', { class: 'transition-box' },
    h('button', { type: 'button', class: 'secondary', id: 'task-chase', onclick: open }, t('chase.open')), form, error);
}
