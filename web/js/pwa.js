// The page's side of the installed app: the service worker (web/sw.js) registered, its news passed
// on, Background Sync asked for when a report waits, the age of what the phone kept, the field
// records of an officer's tasks kept fresh, and all of it forgotten at logout.

import { lang } from './i18n.js';
import * as store from './outbox-store.js';

const DATA_CACHE = 'greenledger-data';
const PREFETCHED = 'greenledger.prefetched';
/** Records of the officer's tasks are fetched for the field at most this often. */
const PREFETCH_EVERY_MS = 3600 * 1000;

/**
 * Registers the service worker (scope /), where the browser has them. Its word that it sent the
 * outbox arrives as the document's `outbox-changed` event, like the page's own sending.
 */
export async function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data?.type === 'outbox-changed') document.dispatchEvent(new CustomEvent('outbox-changed', { detail: e.data }));
  });
  try {
    await navigator.serviceWorker.register('/sw.js', { scope: '/', type: 'module' });
  } catch (e) {
    // Without it the app still works online; offline it cannot start, which the browser says.
    console.warn('service worker not registered', e);
  }
}

/**
 * On the first visit the page's answers came before the service worker was there to keep them:
 * once it takes control, `refetch` asks again for what the field needs. Then (or at once, on a
 * visit it already controls) body[data-field-ready] is set: the app can be opened offline.
 * @param {() => Promise<void>} refetch
 */
export async function whenKept(refetch) {
  const sw = navigator.serviceWorker;
  if (!sw) return;
  if (!sw.controller) {
    await new Promise((resolve) => sw.addEventListener('controllerchange', resolve, { once: true }));
    await refetch();
  }
  document.body.dataset.fieldReady = 'true';
}

/** Asks the browser to wake the service worker for the outbox when the network is back. */
export async function requestSync() {
  const reg = await navigator.serviceWorker?.getRegistration();
  await reg?.sync?.register('outbox').catch(() => {});
}

/**
 * When an answer came from the phone for lack of a network: the time it was stored, else null.
 * @param {Headers} headers
 */
export function offlineCopy(headers) {
  const at = headers?.get('X-Greenledger-Offline-Copy');
  return at ? new Date(at) : null;
}

/** How long ago `date` was, in the reader's language ("3 小时前", "3 hours ago"). */
export function age(date, now = Date.now()) {
  const rtf = new Intl.RelativeTimeFormat(lang() === 'en' ? 'en' : 'zh-CN', { numeric: 'auto' });
  const s = Math.round((date.getTime() - now) / 1000);
  for (const [unit, size] of [['day', 86400], ['hour', 3600], ['minute', 60]]) {
    if (Math.abs(s) >= size) return rtf.format(Math.round(s / size), unit);
  }
  return rtf.format(0, 'minute');
}

/**
 * Fetches each task's reports and history once an hour while online, so the service worker has
 * them when the officer opens the task in the field.
 * @param {string[]} ids the officer's open tasks
 */
export async function keepRecords(ids) {
  if (!navigator.onLine || !navigator.serviceWorker?.controller) return;
  const last = Number(localStorage.getItem(PREFETCHED) || 0);
  if (Date.now() - last < PREFETCH_EVERY_MS) return;
  localStorage.setItem(PREFETCHED, String(Date.now()));
  for (const id of ids) {
    for (const what of ['reports', 'history']) {
      const res = await fetch(`/api/tasks/${id}/${what}`, { credentials: 'same-origin' }).catch(() => null);
      if (!res) return;
    }
  }
}

/** Logging out: the kept answers of the ledger and the outbox leave the phone. The app shell,
 * the same for everyone, stays so the app still opens. */
export async function forgetEverything() {
  localStorage.removeItem(PREFETCHED);
  await Promise.all([window.caches?.delete(DATA_CACHE), store.destroy()]);
}
