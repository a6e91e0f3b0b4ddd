// The outbox of reports written on the phone, shared by the page and the service worker (which
// sends it on a Background Sync when the page is closed): no DOM, no words, only IndexedDB and fetch.
//
// Each entry keeps the Idempotency-Key it was given when written, so a report that reached the
// service before the connection dropped is answered with its first copy, never stored twice. Its
// `state` is what the officer sees: waiting, sending, sent (with `sentAt`), refused (with the
// service's problem document). Sending happens under a Web Lock, so the page and the worker never
// send the same report at once; an entry left `sending` by a closed page is sent again, same key.

const DB = 'greenledger';
const STORE = 'outbox';
const LOCK = 'greenledger-outbox';
/** How long a sent report stays listed as sent. */
const SENT_KEPT_MS = 24 * 3600 * 1000;

let dbPromise = null;
function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => {
      // Logging out deletes the database: let go of it instead of blocking that.
      req.result.onversionchange = () => {
        req.result.close();
        dbPromise = null;
      };
      resolve(req.result);
    };
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
export const put = (entry) => tx('readwrite', (s) => s.put(entry));
/** Drops a report from the outbox. */
export const drop = (key) => tx('readwrite', (s) => s.delete(key));

/**
 * Every report of the outbox, oldest first; entries written before states existed are waiting.
 * @returns {Promise<object[]>}
 */
export async function entries() {
  const all = (await tx('readonly', (s) => s.getAll())) || [];
  return all.map((e) => ({ state: 'waiting', ...e })).sort((a, b) => a.created.localeCompare(b.created));
}

/** Closes the database and deletes it with every report in it (logging out). */
export async function destroy() {
  if (dbPromise) (await dbPromise.catch(() => null))?.close();
  dbPromise = null;
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(DB);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}

/**
 * The multipart body of a report (POST /api/tasks/{id}/reports).
 * @param {object} entry
 * @returns {FormData}
 */
export function reportBody(entry) {
  const form = new FormData();
  if (entry.action) form.append('action', entry.action);
  if (entry.progress !== null && entry.progress !== undefined) form.append('progress', String(entry.progress));
  form.append('note', entry.note || '');
  if (entry.confirmLower) form.append('confirm_lower', 'true');
  // Where the phone was when the report was written, if the officer let the browser say.
  if (entry.position) {
    form.append('longitude', String(entry.position.lon));
    form.append('latitude', String(entry.position.lat));
    if (Number.isFinite(entry.position.accuracy)) form.append('accuracy', String(entry.position.accuracy));
  }
  // The phone's clock as the report leaves: the service compares it with its own.
  form.append('device_time', new Date().toISOString());
  // Each photo in the part of what it shows; one kept from before photos were marked, as plain photo.
  for (const p of entry.photos || []) form.append(p.stage ? `photo_${p.stage}` : 'photo', p.blob, p.name);
  return form;
}

/**
 * Posts one report: the answer's status and body. Throws a TypeError when the request never
 * reached the service (no network), as fetch does.
 */
async function post(entry) {
  const res = await fetch(`/api/tasks/${entry.taskId}/reports`, {
    method: 'POST', body: reportBody(entry), credentials: 'same-origin',
    // A refusal is worded in the language the report was written in, even sent from the background.
    headers: { 'If-Match': entry.etag, 'Idempotency-Key': entry.key, 'Accept-Language': entry.lang === 'en' ? 'en' : 'zh-CN' },
  });
  const body = await res.json().catch(() => null);
  return { status: res.status, ok: res.ok, body, etag: res.headers.get('etag') };
}

/** Runs `fn` holding the outbox lock (where the browser has Web Locks). */
function locked(fn) {
  return navigator.locks ? navigator.locks.request(LOCK, fn) : fn();
}

/**
 * Sends one report now: marks it sending, then sent or refused; a network failure puts it back
 * to waiting and rethrows. Resolves with the service's answer.
 */
async function sendOne(entry, onChange) {
  const sending = { ...entry, state: 'sending', error: null };
  await put(sending);
  onChange();
  let answer;
  try {
    answer = await post(sending);
  } catch (e) {
    await put({ ...sending, state: 'waiting' });
    throw e;
  }
  if (answer.ok) {
    // The photos are on the service now; only what the list shows stays on the phone.
    await put({ ...sending, photos: [], photoCount: sending.photos?.length || 0, state: 'sent', sentAt: new Date().toISOString() });
  } else {
    await put({ ...sending, state: 'refused', error: { status: answer.status, problem: answer.body || {} } });
  }
  return answer;
}

/**
 * Sends every waiting report of `username`, oldest first, and forgets sent ones older than a day.
 * Stops at the first network failure. Resolves with {sent, refused, offline}.
 * @param {string} username whose reports to send: another user's wait for that user's session
 * @param {() => void} [onChange] called as each report starts and ends sending
 */
export function sendWaiting(username, onChange = () => {}) {
  return locked(async () => {
    const out = { sent: 0, refused: 0, offline: false };
    for (const entry of await entries()) {
      if (entry.state === 'sent') {
        if (Date.now() - Date.parse(entry.sentAt) > SENT_KEPT_MS) await drop(entry.key);
        continue;
      }
      // A refusal waits for the officer, except a lapsed session: logging in again is the answer.
      if (entry.state === 'refused' && entry.error?.status !== 401) continue;
      if (entry.username && entry.username !== username) continue;
      try {
        const answer = await sendOne(entry, onChange);
        out[answer.ok ? 'sent' : 'refused'] += 1;
        onChange();
      } catch {
        out.offline = true;
        break;
      }
    }
    return out;
  });
}
