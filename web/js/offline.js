// The page's outbox: a report sent at once when the network is there, else kept on the phone
// (outbox-store.js, shared with the service worker) and sent later, at the next start, when the
// network comes back, or by the service worker on a Background Sync with the page closed. Every
// change is told as the document's `outbox-changed` event, so the lists redraw.

import { api } from './api.js';
import * as store from './outbox-store.js';
import { requestSync } from './pwa.js';

const changed = (detail = {}) => document.dispatchEvent(new CustomEvent('outbox-changed', { detail }));

/** Every report of the outbox (waiting, sending, sent, refused), oldest first. */
export const entries = () => store.entries();

/**
 * Sends one report now; resolves with the API answer or throws ApiError / NetworkError.
 * @param {object} entry the report, as the form wrote it
 */
export function send(entry) {
  return api(`/api/tasks/${entry.taskId}/reports`, {
    method: 'POST', form: store.reportBody(entry), headers: { 'If-Match': entry.etag, 'Idempotency-Key': entry.key },
  });
}

/** Keeps a report that could not go, and asks the browser to wake us when the network is back. */
export async function keep(entry) {
  await store.put({ ...entry, state: 'waiting' });
  await requestSync();
  changed();
}

/** Drops a report from the outbox. */
export async function discard(key) {
  await store.drop(key);
  changed();
}

/** Forgets the reports already sent. */
export async function clearSent() {
  for (const e of await store.entries()) if (e.state === 'sent') await store.drop(e.key);
  changed();
}

/**
 * Sends `username`'s waiting reports now (one sender at a time, page or service worker).
 * @returns {Promise<{sent: number, refused: number, offline: boolean}>}
 */
export async function flush(username) {
  if (!username) return { sent: 0, refused: 0, offline: false };
  const result = await store.sendWaiting(username, () => changed());
  changed(result);
  return result;
}

/**
 * Sends a refused report again: after a 412, against the task's current version (same key: if
 * the first copy was stored after all, the service answers with it).
 */
export async function resend(entry, username) {
  const version = entry.error?.problem?.current_version;
  await store.put({ ...entry, state: 'waiting', error: null, etag: version ? `"v${version}"` : entry.etag });
  return flush(username);
}
