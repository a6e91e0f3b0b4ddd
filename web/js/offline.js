// Reports written without a network wait in IndexedDB (photos included) and are sent when the
// network is back, each with the Idempotency-Key it was given when written: a report that did reach
// the service before the connection dropped is answered with the first copy, never stored twice.

import { api, ApiError, NetworkError } from './api.js';

const DB = 'greenledger';
const STORE = 'outbox';

let dbPromise = null;
function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbPromise;
}

async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(STORE, mode);
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(result?.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

/** Keeps a report in the outbox (replacing one with the same key). */
export const save = (entry) => tx('readwrite', (s) => s.put(entry));
/** Drops a report from the outbox. */
export const remove = (key) => tx('readwrite', (s) => s.delete(key));
/**
 * The reports waiting in the outbox, oldest first.
 * @returns {Promise<object[]>}
 */
export async function waiting() {
  const all = (await tx('readonly', (s) => s.getAll())) || [];
  return all.sort((a, b) => a.created.localeCompare(b.created));
}

/** Sends one report; resolves with the API answer or throws ApiError / NetworkError. */
export function send(entry) {
  const form = new FormData();
  if (entry.action) form.append('action', entry.action);
  if (entry.progress !== null && entry.progress !== undefined) form.append('progress', String(entry.progress));
  form.append('note', entry.note || '');
  for (const p of entry.photos || []) form.append('photo', p.blob, p.name);
  return api(`/api/tasks/${entry.taskId}/reports`, {
    method: 'POST', form, headers: { 'If-Match': entry.etag, 'Idempotency-Key': entry.key },
  });
}

let flushing = null;

/**
 * Sends what is waiting, oldest first. Stops at the first network failure; a refusal is kept on
 * the entry for the user to see (and retry or discard). Returns how many were sent.
 */
export function flush() {
  flushing ??= (async () => {
    let sent = 0;
    try {
      for (const entry of await waiting()) {
        try {
          await send(entry);
          await remove(entry.key);
          sent += 1;
        } catch (e) {
          if (e instanceof NetworkError) break;
          if (!(e instanceof ApiError)) throw e;
          await save({ ...entry, error: { status: e.status, detail: e.detail, current_version: e.problem?.current_version } });
        }
      }
    } finally {
      flushing = null;
    }
    document.dispatchEvent(new CustomEvent('outbox-changed', { detail: { sent } }));
    return sent;
  })();
  return flushing;
}
