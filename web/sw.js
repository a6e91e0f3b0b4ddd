// The service worker: keeps the app on the phone so that it opens from the home screen with no
// network, keeps what an officer needs in the field (who is logged in, the township's open tasks
// with their reports and history, the township boundaries, the task families and the map settings),
// and sends the reports written offline on a Background Sync, even with the page closed.
//
// The service serves this file at /sw.js with SHELL_VERSION and SHELL_FILES (the versioned URLs of
// the app shell) written in front of it, and every asset URL below under that version.
//
//   shell      cache-first: versioned URLs never change; the page itself from the shell of the
//              version that names them. A new version is fetched whole when the service has one.
//   reference  stale-while-revalidate: boundaries, families, settings are shown at once and
//              refreshed behind; public, so they stay at logout.
//   the ledger network-first, the last answer kept: the caller, the township's task list, a
//              task, its reports and history. An answer from the phone carries
//              X-Greenledger-Offline-Copy (when it was stored), so the page says how old it is.

/* global SHELL_VERSION, SHELL_FILES */
import { sendWaiting } from '/js/outbox-store.js';

const SHELL = `greenledger-shell-${SHELL_VERSION}`;
const DATA = 'greenledger-data';
// Public and the same for everyone: kept at logout, so the app still opens offline.
const REFERENCE_CACHE = 'greenledger-reference';
const REFERENCE = new Set(['/api/config', '/api/categories', '/api/townships', '/api/departments']);
const STORED_AT = 'X-Greenledger-Stored-At';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    await cache.addAll([new Request('/', { cache: 'reload' }), ...SHELL_FILES]);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('greenledger-shell-') && name !== SHELL) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** Which of the ledger's answers are kept for the field: the caller, one task and its records, and
 * a township's list (an officer's own tasks); not the map's views, which change with every pan. */
function keptForTheField(url) {
  if (url.pathname === '/api/me') return true;
  if (/^\/api\/tasks\/[^/]+(\/(reports|history))?$/.test(url.pathname)) return true;
  return url.pathname === '/api/tasks' && url.searchParams.has('township') && !url.searchParams.has('bbox');
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && (url.pathname === '/' || url.pathname === '/index.html')) {
    event.respondWith(shellFirst('/', request));
  } else if (url.pathname.startsWith('/v/')) {
    event.respondWith(shellFirst(request, request));
  } else if (REFERENCE.has(url.pathname)) {
    event.respondWith(staleWhileRevalidate(request, event));
  } else if (keptForTheField(url)) {
    event.respondWith(networkFirst(request));
  }
});

/** From the shell cache, else from the network (kept when it is of this version). */
async function shellFirst(key, request) {
  const hit = await caches.match(key, { ignoreSearch: key === '/' });
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok && new URL(request.url).pathname.startsWith(`/v/${SHELL_VERSION}/`)) {
    const cache = await caches.open(SHELL);
    await cache.put(request, res.clone());
  }
  return res;
}

/** A copy of `res` stamped with when it was stored. */
async function stamped(res) {
  const headers = new Headers(res.headers);
  headers.set(STORED_AT, new Date().toISOString());
  return new Response(await res.clone().blob(), { status: res.status, statusText: res.statusText, headers });
}

async function keep(request, res, cacheName = DATA) {
  if (!res.ok) return;
  const cache = await caches.open(cacheName);
  // An anonymous "who am I" is nobody's field data: it replaces the officer's, it is not kept.
  if (new URL(request.url).pathname === '/api/me' && !(await res.clone().json().catch(() => null))?.user) {
    await cache.delete(request);
    return;
  }
  await cache.put(request, await stamped(res));
}

async function staleWhileRevalidate(request, event) {
  const cached = await caches.match(request, { cacheName: REFERENCE_CACHE });
  const fresh = fetch(request).then(async (res) => {
    await keep(request, res, REFERENCE_CACHE);
    return res;
  });
  if (cached) {
    event.waitUntil(fresh.catch(() => {}));
    return cached;
  }
  return fresh;
}

async function networkFirst(request) {
  let res;
  try {
    res = await fetch(request);
  } catch (e) {
    const cached = await caches.match(request, { cacheName: DATA });
    if (!cached) throw e;
    const headers = new Headers(cached.headers);
    headers.set('X-Greenledger-Offline-Copy', cached.headers.get(STORED_AT) || '');
    return new Response(await cached.blob(), { status: cached.status, statusText: cached.statusText, headers });
  }
  if (res.ok) await keep(request, res);
  // Logged out, or no longer allowed: what was kept must not be shown again.
  else if (res.status === 401 || res.status === 403 || res.status === 404) await (await caches.open(DATA)).delete(request);
  return res;
}

/** The username the kept /api/me names: reports are sent only with their author's session. */
async function currentUser() {
  const me = await caches.match('/api/me', { cacheName: DATA });
  return me ? (await me.json()).user?.username : null;
}

async function tellPages(result) {
  for (const client of await self.clients.matchAll({ type: 'window' })) client.postMessage({ type: 'outbox-changed', ...result });
}

self.addEventListener('sync', (event) => {
  if (event.tag !== 'outbox') return;
  event.waitUntil((async () => {
    const username = await currentUser();
    if (!username) return;
    const result = await sendWaiting(username);
    await tellPages(result);
    // Still no network: the browser tries the sync again later.
    if (result.offline) throw new Error('offline');
  })());
});
