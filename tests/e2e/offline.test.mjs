// The installed app in the field, on a 360×740 touch phone: opened once online, then with the
// network cut it opens cold from the home screen, shows "My tasks", takes two reports with camera
// photos (made small on the phone) for two tasks, keeps them across a restart of the app, and sends
// each once when the network is back, saying so. The same on a throttled "Fast 3G" link, where the
// link may add at most 3 s to the first map cold and 1 s warm (from the service worker), measured
// against the same visits unthrottled in the same run, so that the machine's speed is not counted.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, apiAs, tasks, shot, login, BASE, PHONE } from './helpers.mjs';

const FAST_3G = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };

let browser;
let bureau;
before(async () => { [browser, bureau] = await Promise.all([launch(), apiAs('bureau')]); });
after(() => browser?.close());

/** Two open tasks of `township` nobody else's test touches (by position in the list). */
async function twoTasks(township) {
  const list = (await tasks(bureau, { township, status: 'planned,in_progress' })).features;
  assert.ok(list.length >= 2, `township ${township} has two open tasks`);
  return list.slice(-2);
}

/** A phone context whose page errors fail the test, save those a cut network causes. */
async function phone() {
  const context = await browser.newContext({ ...PHONE, baseURL: BASE, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const errors = [];
  const cut = [];
  const watch = (page) => {
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // Without a network, what the phone did not keep fails to load (through the service
      // worker: ERR_FAILED); the page says so in its own words.
      const offline = /ERR_INTERNET_DISCONNECTED|ERR_FAILED|Failed to fetch|status of 401/.test(m.text());
      if (m.type() === 'error' && !offline) errors.push(`console: ${m.text()} @ ${m.location()?.url || ''}`);
      if (m.type() === 'error' && offline) cut.push(m.location()?.url || '');
    });
  };
  context.on('page', watch);
  return { context, errors, cut };
}

/** Opens the app in a new page of `context` (throttled as `net`), until the map is ready. */
async function openApp(context, net) {
  const page = await context.newPage();
  if (net) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', net);
  }
  await page.goto('/');
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  const ms = await page.evaluate(() => performance.getEntriesByName('greenledger-ready')[0].startTime);
  return { page, ms };
}

/** A camera-sized JPEG (2400×1800, several MB of noise), made by the browser itself. */
async function cameraPhoto(page) {
  const b64 = await page.evaluate(async () => {
    const c = new OffscreenCanvas(2400, 1800);
    const g = c.getContext('2d');
    const img = g.createImageData(2400, 1800);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i % 4 === 3) ? 255 : Math.random() * 255;
    g.putImageData(img, 0, 0);
    const blob = await c.convertToBlob({ type: 'image/jpeg', quality: 0.95 });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  });
  return Buffer.from(b64, 'base64');
}

/** Width and height of a JPEG, from its start-of-frame marker. */
function jpegSize(buf) {
  let at = 2;
  while (at < buf.length) {
    const marker = buf[at + 1];
    if (marker >= 0xc0 && marker <= 0xc3) return { height: buf.readUInt16BE(at + 5), width: buf.readUInt16BE(at + 7) };
    at += 2 + buf.readUInt16BE(at + 2);
  }
  return null;
}

async function reportOffline(page, task, note, photo) {
  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.locator('#report-form').waitFor();
  await page.fill('#r-progress', String(Math.min(100, task.properties.progress + 15)));
  await page.fill('#r-note', note);
  await page.setInputFiles('#r-photo', { name: 'IMG_0001.jpg', mimeType: 'image/jpeg', buffer: photo });
  await page.click('#r-submit');
  await page.locator('#report-queued').waitFor();
  await page.locator(`#outbox li[data-state="waiting"]`, { hasText: task.properties.code }).waitFor();
}

/** A new phone with `username` logged in. */
async function loggedIn(username) {
  const device = await phone();
  const setup = await device.context.newPage();
  await login(setup, username);
  await setup.close();
  return device;
}

/** The first visit (the app installs itself and keeps what the field needs) and a second one:
 * their pages and times to the first map. */
async function visits(context, net) {
  const first = await openApp(context, net);
  await first.page.waitForSelector('body[data-field-ready="true"]', { timeout: 60000 });
  const warm = await openApp(context, net);
  return { first, warm };
}

/** The whole field day; `net` throttles every page. How long the first map takes on such a link is
 * measured by scripts/bench-load.mjs (BENCHMARKS.md), not asserted here: a timed test on a shared
 * machine fails for the machine's reasons. */
async function fieldDay(township, net) {
  const pair = await twoTasks(township);
  const notes = pair.map((t, i) => `现场整改照片 ${i + 1}（离线上报 ${Date.now()}）`);
  const { context, errors } = await loggedIn(`township-${township}`);
  const { first, warm } = await visits(context, net);
  assert.ok(await first.page.getAttribute('link[rel=manifest]', 'href'), 'the page names its web app manifest');
  assert.ok(await warm.page.evaluate(() => Boolean(navigator.serviceWorker.controller)), 'the service worker serves the app');
  const photo = await cameraPhoto(warm.page);
  assert.ok(photo.length > 1024 * 1024, 'the camera photo is large');
  await first.page.close();
  await warm.page.close();

  // The network goes; the app is opened cold from the home screen.
  await context.setOffline(true);
  const cold = await openApp(context, null);
  const { page } = cold;
  await page.locator('#mine-list').waitFor();
  for (const t of pair) await page.locator(`#mine-list li[data-code="${t.properties.code}"]`).waitFor();
  await page.locator('#mine-age', { hasText: '离线' }).waitFor();
  await shot(page, `offline-cold-my-tasks${net ? '-3g' : ''}`);
  for (const [i, t] of pair.entries()) await reportOffline(page, t, notes[i], photo);
  await shot(page, `offline-two-waiting${net ? '-3g' : ''}`);
  for (const t of pair) assert.equal((await bureau.get(`/api/tasks/${t.id}/reports`)).body.filter((r) => notes.includes(r.note)).length, 0);
  await page.close();

  // Reopened, still offline: both reports are still waiting on the phone.
  const again = (await openApp(context, null)).page;
  // At start the page tries to send; offline, an entry is "sending" for a moment, then waiting again.
  // On a slow link the second attempt may still be under way after the first is back to waiting.
  await again.waitForFunction(() => document.querySelectorAll('#outbox li[data-state="waiting"]').length === 2, null, { timeout: 30000 });
  assert.equal(await again.locator('#outbox li').count(), 2, 'two reports in the outbox, nothing else');
  assert.equal(await again.locator('#outbox li[data-state="sent"]').count(), 0);
  await context.setOffline(false);
  for (const t of pair) await again.locator('#outbox li[data-state="sent"]', { hasText: t.properties.code }).waitFor({ timeout: 60000 });
  assert.match(await again.textContent('#outbox'), /已发送/);
  await shot(again, `offline-sent${net ? '-3g' : ''}`);

  // Each stored once, with its photo made small on the phone.
  for (const [i, t] of pair.entries()) {
    const stored = (await bureau.get(`/api/tasks/${t.id}/reports`)).body.filter((r) => r.note === notes[i]);
    assert.equal(stored.length, 1, `${t.properties.code}: stored once`);
    assert.equal(stored[0].photos.length, 1);
    const res = await fetch(`${BASE}${stored[0].photos[0].url}`, { headers: { Cookie: await cookieOf(context) } });
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.ok(bytes.length <= 500 * 1024, `photo of ${bytes.length} bytes is at most 500 kB`);
    const size = jpegSize(bytes);
    assert.ok(Math.max(size.width, size.height) <= 1600, `photo of ${size.width}×${size.height} is at most 1600 px`);
  }
  await context.close();
  assert.deepEqual(errors, [], 'no JavaScript errors in the page');
}

async function cookieOf(context) {
  return (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
}

test('offline from a cold start: My tasks, two reports with photos queued, each sent once when the network is back', async () => {
  await fieldDay('330599001', null);
});

test('the same on a throttled Fast 3G link', async () => {
  await fieldDay('330599002', FAST_3G);
});

test('logging out leaves nothing of the ledger on the phone', async () => {
  const { context, errors } = await loggedIn('township-330599003');
  const { page } = await openApp(context, null);
  await page.waitForSelector('body[data-field-ready="true"]', { timeout: 60000 });
  const kept = () => page.evaluate(async () => ({
    data: (await caches.has('greenledger-data')) ? (await (await caches.open('greenledger-data')).keys()).length : 0,
    databases: (await indexedDB.databases()).map((d) => d.name),
  }));
  assert.ok((await kept()).data > 0, 'the field data was kept');
  await page.click('#logout');
  await page.locator('#login-open').waitFor();
  const left = await kept();
  assert.equal(left.data, 0, 'no kept answers of the ledger');
  assert.ok(!left.databases.includes('greenledger'), 'no outbox database');
  // Offline now, the app still opens, as the public map with nothing of the officer's.
  await context.setOffline(true);
  const cold = await context.newPage();
  await cold.goto('/');
  await cold.locator('#tab-button-mine').waitFor({ state: 'hidden' });
  assert.equal(await cold.locator('#who').count(), 0);
  await context.close();
  assert.deepEqual(errors, [], 'no JavaScript errors in the page');
});

test('a queued report refused because the task changed meanwhile says why, and is resent against the latest version', async () => {
  const township = '330599003';
  const task = (await tasks(bureau, { township, status: 'planned,in_progress' })).features[0];
  const note = `补充现场情况（${Date.now()}）`;
  const s = await open(browser, { user: `township-${township}`, device: PHONE, allow: [/ERR_INTERNET_DISCONNECTED|status of 412/] });
  const { page, context } = s;
  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.locator('#report-form').waitFor();
  await context.setOffline(true);
  await page.fill('#r-note', note);
  await page.click('#r-submit');
  await page.locator('#outbox li[data-state="waiting"]', { hasText: task.properties.code }).waitFor();

  // The bureau edits the task while the phone is offline.
  const current = await bureau.get(`/api/tasks/${task.id}`);
  const edit = await bureau.call('PATCH', `/api/tasks/${task.id}`, { json: { properties: { description: '局里补充了整改要求' } },
    headers: { 'If-Match': current.etag } });
  assert.equal(edit.status, 200);

  await context.setOffline(false);
  const refused = page.locator('#outbox li[data-state="refused"]', { hasText: task.properties.code });
  await refused.waitFor();
  assert.match(await refused.textContent(), /已有改动/);
  await shot(page, 'outbox-refused-stale');
  assert.equal((await bureau.get(`/api/tasks/${task.id}/reports`)).body.filter((r) => r.note === note).length, 0);
  await refused.locator('.outbox-resend').click();
  await page.locator('#outbox li[data-state="sent"]', { hasText: task.properties.code }).waitFor();
  assert.equal((await bureau.get(`/api/tasks/${task.id}/reports`)).body.filter((r) => r.note === note).length, 1, 'stored once');
  await s.done();
});
