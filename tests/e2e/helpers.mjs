// Shared by the browser tests: Debian's Chromium driven by playwright-core (no browser download),
// one browser per test file, a fresh context per test, and every page error or console error
// turned into a test failure, since a screenshot would hide them.

import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import zlib from 'node:zlib';
import assert from 'node:assert/strict';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

export const BASE = process.env.GREENLEDGER_E2E_URL || 'http://127.0.0.1:8097';
export const PASSWORD = process.env.GREENLEDGER_DEMO_PASSWORD || 'greenledger-demo';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(root, 'test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
export const DESKTOP = { viewport: { width: 1280, height: 820 } };


/**
 * A page in a new context that records JavaScript errors; `done()` asserts there were none.
 * `allow` lists console errors a test provokes on purpose (a 412 it sets up, a network it cuts);
 * `base` is another service than the tests' own (scripts/e2e.sh starts a few).
 */
export async function open(browser, { device = DESKTOP, path: p = '/', user, allow = [], base = BASE } = {}) {
  // The service worker is tested on its own (offline.test.mjs); here the page meets the network
  // directly, so that a test's routes and cut connections reach it.
  const context = await browser.newContext({ ...device, baseURL: base, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
    serviceWorkers: 'block' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} @ ${m.location()?.url || ''}`);
  });
  if (user) await login(page, user);
  if (p !== null) await gotoReady(page, p);
  return {
    page,
    context,
    errors,
    async done() {
      const left = errors.filter((e) => !allow.some((re) => re.test(e)));
      await context.close();
      assert.deepEqual(left, [], 'no JavaScript errors in the page');
    },
  };
}

/** Every visible control smaller than `min` px (44 unless told) either way, described. Checkboxes and radios count as
 * the row of their label, which is what the finger presses. */
export function smallTargets(page, min = 44) {
  return page.evaluate((min) => {
    const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=tab], .leaflet-marker-icon';
    const out = [];
    for (const el of document.querySelectorAll(sel)) {
      const target = el.matches('input[type=checkbox], input[type=radio]') ? el.closest('label') || el : el;
      const r = target.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden' || el.closest('[hidden], [inert]')) continue;
      // Skip links wait off screen until focused.
      if (r.right <= 0 || r.left >= innerWidth) continue;
      if (Math.round(r.width) < min || Math.round(r.height) < min) {
        const name = (el.id ? `#${el.id}` : '') + (el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : '');
        out.push(`${el.tagName.toLowerCase()}${name} "${(el.textContent || el.getAttribute('aria-label') || el.title || '').trim().slice(0, 20)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
      }
    }
    return out;
  }, min);
}

/** Logs in through the API from the page's context, so the session cookie is the page's. */
export async function login(page, username) {
  const res = await page.request.post(`${BASE}/api/session`, {
    data: { username, password: PASSWORD }, headers: { Origin: BASE },
  });
  assert.equal(res.status(), 200, `login as ${username}`);
}

export async function gotoReady(page, p = '/') {
  await page.goto(p);
  await page.waitForSelector('body[data-ready="true"]');
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** The API as a logged-in user, outside the browser: for setting up and checking what got stored. */
export async function apiAs(username) {
  let cookie = '';
  if (username) {
    const res = await fetch(`${BASE}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }) });
    assert.equal(res.status, 200, `login as ${username}`);
    cookie = res.headers.get('set-cookie').split(';')[0];
  }
  const call = async (method, p, { json, headers = {} } = {}) => {
    const res = await fetch(`${BASE}${p}`, { method, headers: { Cookie: cookie, Origin: BASE,
      ...(json ? { 'Content-Type': 'application/json' } : {}), ...headers }, body: json ? JSON.stringify(json) : undefined });
    const type = res.headers.get('content-type') || '';
    const body = type.includes('json') ? await res.json() : await res.text();
    return { status: res.status, body, etag: res.headers.get('etag'), headers: res.headers };
  };
  return {
    get: (p) => call('GET', p),
    call,
    async transition(id, action, reason) {
      const { etag } = await call('GET', `/api/tasks/${id}`);
      return call('POST', `/api/tasks/${id}/transitions`, { json: { action, reason }, headers: { 'If-Match': etag } });
    },
    /** A report on task `id` as the report form sends it: `fields` (action, progress, note) and
     * photos: a number of small PNGs, or the JPEGs given (Buffers). */
    async report(id, fields, photos = 0) {
      const { etag } = await call('GET', `/api/tasks/${id}`);
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, String(v));
      if (Array.isArray(photos)) photos.forEach((b, i) => form.append('photo', new Blob([b], { type: 'image/jpeg' }), `IMG_${i}.jpg`));
      for (let i = 0; i < (Array.isArray(photos) ? 0 : photos); i++) form.append('photo', new Blob([sitePhoto()], { type: 'image/png' }), `site-${i}.png`);
      const res = await fetch(`${BASE}/api/tasks/${id}/reports`, { method: 'POST', body: form,
        headers: { Cookie: cookie, Origin: BASE, 'If-Match': etag, 'Idempotency-Key': crypto.randomUUID() } });
      return { status: res.status, body: await res.json() };
    },
  };
}

let photoCount = 0;

/** CRC-32 of a PNG chunk's type and data. */
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A small PNG of its own each time it is called, as every photo from the field is: the service
 * holds a file already used in another report against a verification (the same bytes twice).
 * @returns {Buffer}
 */
export function sitePhoto() {
  photoCount += 1;
  const n = photoCount + Math.floor(Math.random() * 1e6);
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0);
  header.writeUInt32BE(2, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const rows = Buffer.from([0, n & 255, (n >> 8) & 255, (n >> 16) & 255, 90, 140, 90, 0, 30, 60, 90, 200, 100, 50]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** A 1×1 PNG, as a phone camera's picture would arrive (an image the browser can decode). */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** Tasks as an anonymous visitor or a user sees them (all pages of the filter). */
export async function tasks(api, params = {}) {
  const q = new URLSearchParams({ limit: '10000', ...params });
  const r = await api.get(`/api/tasks?${q}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Opens a task's panel through the search box, as a user would find it by its code. */
export async function openByCode(page, code) {
  await page.fill('#search-input', code);
  await page.press('#search-input', 'Enter');
  const hit = page.locator('#search-results button', { hasText: code }).first();
  await hit.waitFor();
  // A single match opens by itself; among several the reader picks it.
  if (await page.getAttribute('#search-results', 'data-single') !== 'true') await hit.click();
  await page.locator('#detail-title', { hasText: code }).waitFor();
}

/** The league table as shown: township name → {column: text}. */
export async function leagueRows(page) {
  return page.$$eval('#league-table tbody tr', (rows) => rows.map((tr) => ({
    code: tr.dataset.code,
    name: tr.querySelector('th').textContent.trim(),
    ...Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent.trim()])),
  })));
}

export const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);
