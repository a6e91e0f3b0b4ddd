// A township officer, on a phone: "My tasks", reports with photos, reports written offline; and
// the bureau verifying what the township reported.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, shot, apiAs, tasks, openByCode, leagueRows, pct, PHONE, sitePhoto } from './helpers.mjs';

let browser;
let bureau;
before(async () => {
  browser = await launch();
  bureau = await apiAs('bureau');
});
after(() => browser?.close());

/** A township's open task in `status`, chosen by the test so tests never share one. */
async function pick(township, status, n = 0) {
  const list = (await tasks(bureau, { township, status })).features;
  assert.ok(list.length > n, `township ${township} has ${n + 1} ${status} task(s)`);
  return list[n];
}

const reports = async (id) => (await bureau.get(`/api/tasks/${id}/reports`)).body;

test('a township officer sees no bureau controls, and may report only on its own township', async () => {
  const own = '330599102';
  const mine = await pick(own, 'completed');
  const other = await pick('330599103', 'in_progress');
  const s = await open(browser, { user: `township-${own}`, allow: [/status of 403/] });
  const { page } = s;
  await page.locator('#who').waitFor();
  assert.equal(await page.locator('#draw-bar').count(), 0, 'no drawing tools');
  await openByCode(page, mine.properties.code);
  assert.equal(await page.locator('#task-edit, [data-action]').count(), 0, 'no edit or verify/return/cancel/supervise');
  // Its own task in full: contact details and reports.
  assert.match(await page.textContent('#task-fields'), /联系电话/);
  await openByCode(page, other.properties.code);
  assert.equal(await page.locator('#task-report, #task-edit, [data-action]').count(), 0, 'nothing to do on another township\'s task');
  assert.ok(!(await page.textContent('#task-fields')).includes('联系电话'), 'another township\'s contacts stay private');
  await shot(page, 'township-no-bureau-controls');

  // Not merely hidden: the service refuses a township's bureau action.
  const res = await page.evaluate(async (id) => {
    const r = await fetch(`/api/tasks/${id}/transitions`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'If-Match': '"v1"' },
      body: JSON.stringify({ action: 'verify' }) });
    return r.status;
  }, mine.id);
  assert.equal(res, 403);
  await s.done();
});

test('"My tasks" puts overdue and returned work first, with the bureau\'s reason, then the soonest deadline', async () => {
  const township = '330599104';
  const done = await pick(township, 'completed');
  const r = await bureau.transition(done.id, 'return', '整改台账缺少验收报告，请补齐后重新上报');
  assert.equal(r.status, 200);
  const s = await open(browser, { user: `township-${township}`, device: PHONE });
  const { page } = s;
  await page.locator('#mine-list').waitFor();
  const items = await page.$$eval('#mine-list > li', (lis) => lis.map((li) => ({
    code: li.dataset.code, urgent: li.classList.contains('overdue') || li.classList.contains('returned'), text: li.textContent })));
  const open_ = (await tasks(bureau, { township, status: 'planned,in_progress,completed' })).features;
  assert.equal(items.length, open_.length);
  const firstCalm = items.findIndex((i) => !i.urgent);
  assert.ok(firstCalm > 0, 'some urgent work on top');
  assert.ok(items.slice(firstCalm).every((i) => !i.urgent), 'all urgent work before the rest');
  const returned = items.find((i) => i.code === done.properties.code);
  assert.ok(returned.urgent);
  assert.match(returned.text, /整改台账缺少验收报告/);
  // Within each group, the soonest deadline first.
  const due = new Map(open_.map((f) => [f.properties.code, f.properties.due_date || '9999']));
  for (const group of [items.slice(0, firstCalm), items.slice(firstCalm)]) {
    const dates = group.map((i) => due.get(i.code));
    assert.deepEqual(dates, [...dates].sort(), 'soonest deadline first');
  }
  await shot(page, 'phone-my-tasks');
  await s.done();
});

test('a township officer reports completion with a photo; the bureau verifies it and the league table changes', async () => {
  const township = '330599105';
  const task = await pick(township, 'in_progress');
  const earlier = (await reports(task.id)).length;
  const s = await open(browser, { user: `township-${township}`, device: PHONE });
  const { page } = s;
  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.locator('#report-form').waitFor();
  assert.equal(await page.getAttribute('#r-photo', 'accept'), 'image/*');
  assert.notEqual(await page.getAttribute('#r-photo', 'capture'), null, 'the phone camera opens');
  await page.check('input[name=action][value=complete]');
  assert.equal(await page.inputValue('#r-progress'), '100');
  await page.fill('#r-note', '河道清淤完成，已拍照留存');
  await page.setInputFiles('#r-photo', { name: 'site.png', mimeType: 'image/png', buffer: sitePhoto() });
  await page.locator('#r-previews img').waitFor();
  await shot(page, 'phone-report-form');
  await page.click('#r-submit');
  await page.locator('#task-message', { hasText: `已上报 ${task.properties.code} 完成` }).waitFor();
  await page.locator('#task-status', { hasText: '已完成待核验' }).waitFor();
  await shot(page, 'phone-report-sent');

  // Stored once, with its photo, and the task is completed.
  const stored = await reports(task.id);
  assert.equal(stored.length, earlier + 1);
  assert.equal(stored[0].action, 'complete');
  assert.equal(stored[0].note, '河道清淤完成，已拍照留存');
  assert.equal(stored[0].photos.length, 1);
  assert.equal((await bureau.get(`/api/tasks/${task.id}`)).body.properties.status, 'completed');
  await s.done();

  // The bureau sees the report with its photo, verifies, and the township's verified rate moves.
  const b = await open(browser, { user: 'bureau', path: '/?tab=league' });
  const before_ = (await leagueRows(b.page)).find((r) => r.code === township);
  await openByCode(b.page, task.properties.code);
  // The demo's earlier reports have photos too: this one's is the one just sent.
  await b.page.locator(`#task-reports img[src="${stored[0].photos[0].thumbnail_url}"]`).waitFor();
  await b.page.click('[data-action=verify]');
  await b.page.locator('#task-status', { hasText: '已销号' }).waitFor();
  const rollup = (await bureau.get('/api/rollups/townships')).body.townships.find((r) => r.township_code === township);
  await b.page.waitForFunction(([code, text]) => document.querySelector(`#league-table tr[data-code="${code}"] td[data-col=verified_rate]`)?.textContent === text,
    [township, pct(rollup.verified_rate)]);
  const after_ = (await leagueRows(b.page)).find((r) => r.code === township);
  assert.notEqual(after_.verified_rate, before_.verified_rate, `verified rate moved from ${before_.verified_rate}`);
  assert.equal((await bureau.get(`/api/tasks/${task.id}`)).body.properties.status, 'verified');
  await shot(b.page, 'bureau-verified');
  await b.done();
});

test('a file that is not a photo is refused in Chinese, with the service\'s reason, and nothing is stored', async () => {
  const township = '330599108';
  const task = await pick(township, 'in_progress');
  const earlier = (await reports(task.id)).length;
  const s = await open(browser, { user: `township-${township}`, device: PHONE, allow: [/status of 415/] });
  const { page } = s;
  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.locator('#report-form').waitFor();
  await page.fill('#r-progress', String(Math.max(60, task.properties.progress)));
  await page.fill('#r-note', '附上验收单');
  // Named and typed as a picture, but a text file: the service judges by the bytes.
  await page.setInputFiles('#r-photo', { name: 'receipt.png', mimeType: 'image/png', buffer: Buffer.from('验收单：已完成') });
  await page.locator('#e-photo', { hasText: '“receipt.png”不是可识别的照片' }).waitFor();
  // Sent anyway, the service refuses it too.
  await page.click('#r-submit');
  const error = page.locator('#report-error', { hasText: '不是可识别的照片' });
  await error.waitFor();
  assert.match(await error.textContent(), /receipt\.png/, 'the service\'s reason names the file');
  await shot(page, 'phone-report-refused');
  assert.equal((await reports(task.id)).length, earlier, 'nothing was stored');
  assert.equal((await bureau.get(`/api/tasks/${task.id}`)).body.properties.progress, task.properties.progress);
  await s.done();
});

test('a report written offline waits in the browser and is stored once when the network is back', async () => {
  const township = '330599106';
  const task = await pick(township, 'planned');
  const s = await open(browser, { user: `township-${township}`, device: PHONE, allow: [/ERR_INTERNET_DISCONNECTED/] });
  const { page, context } = s;
  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.locator('#report-form').waitFor();
  await context.setOffline(true);
  await page.check('input[name=action][value=start]');
  await page.fill('#r-progress', String(Math.max(10, task.properties.progress)));
  await page.fill('#r-note', '施工队已进场（离线填写）');
  await page.setInputFiles('#r-photo', { name: 'start.png', mimeType: 'image/png', buffer: sitePhoto() });
  await page.click('#r-submit');
  await page.locator('#report-queued').waitFor();
  await page.locator(`#outbox li`, { hasText: task.properties.code }).waitFor();
  assert.match(await page.textContent('#outbox'), /待发送的上报（1）/);
  await shot(page, 'phone-offline-waiting');
  assert.equal((await reports(task.id)).length, 0, 'nothing reached the service');

  // Back online: sent by itself, and listed as sent.
  await context.setOffline(false);
  await page.locator('#outbox li[data-state="sent"]', { hasText: task.properties.code }).waitFor();
  assert.match(await page.textContent('#outbox'), /最近发送的上报/);
  const stored = await reports(task.id);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].note, '施工队已进场（离线填写）');
  assert.equal(stored[0].photos.length, 1);
  assert.equal((await bureau.get(`/api/tasks/${task.id}`)).body.properties.status, 'in_progress');
  await s.done();
});

test('a report whose answer was lost on the way back is kept, and its resend is stored once', async () => {
  const township = '330599107';
  const task = await pick(township, 'in_progress');
  const earlier = (await reports(task.id)).length;
  const s = await open(browser, { user: `township-${township}`, device: PHONE, allow: [/ERR_FAILED/] });
  const { page } = s;
  // The report reaches the service, but the phone never hears back.
  let delivered = 0;
  await page.route(`**/api/tasks/${task.id}/reports`, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    await route.fetch();
    delivered += 1;
    await route.abort('failed');
  });
  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.fill('#r-progress', String(Math.min(100, task.properties.progress + 20)));
  await page.fill('#r-note', '完成过半');
  await page.click('#r-submit');
  await page.locator('#report-queued').waitFor();
  assert.equal(delivered, 1);
  assert.equal((await reports(task.id)).length, earlier + 1, 'the first copy was stored');

  // The connection comes good; the outbox resends under the same Idempotency-Key.
  await page.unroute(`**/api/tasks/${task.id}/reports`);
  const replay = page.waitForResponse((r) => r.url().endsWith(`/api/tasks/${task.id}/reports`) && r.request().method() === 'POST');
  await page.click('#outbox-retry');
  const res = await replay;
  assert.equal(res.status(), 201);
  assert.equal(res.headers()['idempotent-replayed'], 'true');
  await page.locator('#outbox li[data-state="sent"]', { hasText: task.properties.code }).waitFor();
  assert.equal((await reports(task.id)).length, earlier + 1, 'stored once');
  await s.done();
});
