// The bureau's review queue (待审核): the badge on its tab follows what the townships send, the
// clerk verifies a completion from the list after a confirmation (with a reason when no report has
// a photo), returns one with a reason, marks a report seen; the service's refusals are shown; and
// no one but the bureau has the tab. The tasks are Qingxi's (330599101), which the tests after this
// file do not change.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, shot, apiAs, tasks, gotoReady, PHONE, sitePhoto } from './helpers.mjs';

const TOWNSHIP = '330599101';

let browser;
let bureau;
let township;
let inProgress;
let completed;
before(async () => {
  browser = await launch();
  [bureau, township] = await Promise.all([apiAs('bureau'), apiAs(`township-${TOWNSHIP}`)]);
  // The file's own work, beside a point task of Qingxi: the demo's tasks are other files' to use,
  // and its completions mostly carry photos, where these tests need some without.
  const near = (await tasks(bureau, { township: TOWNSHIP })).features.find((f) => f.geometry.type === 'Point');
  const [lng, lat] = near.geometry.coordinates;
  const made = async (i, properties) => {
    const geometry = { type: 'Point', coordinates: [lng + 0.0004 * (i + 1), lat + 0.0003] };
    const res = await bureau.call('POST', '/api/tasks', { json: { type: 'Feature', geometry,
      properties: { title: `排污口整治复核 ${i + 1}`, category: 'watershed', township: TOWNSHIP, ...properties } } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };
  inProgress = [await made(0, { status: 'in_progress', progress: 60 }), await made(1, { status: 'in_progress', progress: 70 })];
  completed = [];
  for (let i = 2; i < 6; i++) completed.push(await made(i, { status: 'completed', progress: 100 }));
});
after(() => browser?.close());

const queue = async () => (await bureau.get('/api/review')).body;
const statusOf = async (id) => (await bureau.get(`/api/tasks/${id}`)).body.properties;
const badge = (page) => page.evaluate(() => {
  const b = document.querySelector('#review-count');
  return b.hidden ? 0 : Number(b.textContent);
});
const waitBadge = (page, n) => page.waitForFunction((want) => {
  const b = document.querySelector('#review-count');
  return (b.hidden ? 0 : Number(b.textContent)) === want;
}, n);

/** The bureau's page with the review tab open, the item of `code` in `section` shown. */
async function reviewPage(code, section, options = {}) {
  const s = await open(browser, { user: 'bureau', path: '/?tab=review', ...options });
  await s.page.locator(`#review-${section} li[data-code="${code}"]`).waitFor();
  return s;
}

/** [west, south, east, north] of a GeoJSON geometry. */
function bboxOf(geometry) {
  const pts = JSON.stringify(geometry.coordinates).match(/-?\d+(\.\d+)?,-?\d+(\.\d+)?/g).map((p) => p.split(',').map(Number));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** Counts the transitions the page sends, to show that a form refused something by itself. */
function countTransitions(page) {
  const sent = { n: 0 };
  page.on('request', (r) => {
    if (r.method() === 'POST' && /\/transitions$/.test(r.url())) sent.n += 1;
  });
  return sent;
}

test('a township\'s completion with a photo raises the badge; the bureau verifies it from 待审核 and it leaves the list', async () => {
  const task = inProgress[0];
  const { code } = task.properties;
  // The bureau's page is open all along; its clock is the test's to move, for the minute the badge waits.
  const b = await open(browser, { user: 'bureau', path: null });
  await b.page.clock.install();
  await gotoReady(b.page, '/');
  await b.page.locator('#review-count:not([hidden])').waitFor();
  const before_ = await badge(b.page);
  assert.equal(before_, (await bureau.get('/api/review/count')).body.count, 'the badge counts the queue');

  // The officer reports the work done, with a photo, from the phone.
  const s = await open(browser, { user: `township-${TOWNSHIP}`, device: PHONE });
  await s.page.locator(`#mine-list li[data-code="${code}"] .mine-report`).click();
  await s.page.check('input[name=action][value=complete]');
  await s.page.fill('#r-note', '排污口封堵完成，附现场照片');
  await s.page.setInputFiles('#r-photo', { name: 'site.png', mimeType: 'image/png', buffer: sitePhoto() });
  await s.page.locator('#r-previews img').waitFor();
  await s.page.click('#r-submit');
  await s.page.locator('#task-message', { hasText: `已上报 ${code} 完成` }).waitFor();
  await s.done();

  // A minute later the bureau's badge has both: the new report and the completion to verify.
  await b.page.clock.fastForward('01:01');
  await waitBadge(b.page, before_ + 2);
  await shot(b.page, 'review-badge-up');

  const { page } = b;
  await page.click('#tab-button-review');
  const item = page.locator(`#review-awaiting_verification li[data-code="${code}"]`);
  await item.waitFor();
  // The newest completion comes last: the list is oldest first.
  assert.equal(await page.locator('#review-awaiting_verification li.review-item').last().getAttribute('data-code'), code);
  assert.match(await item.textContent(), /青溪镇/);
  assert.equal(await item.locator('[data-flag=no_photo]').count(), 0);
  const thumb = item.locator('.photos img').first();
  await thumb.scrollIntoViewIfNeeded();
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await thumb.elementHandle());
  const report = page.locator(`#review-new_reports li[data-code="${code}"]`);
  assert.match(await report.textContent(), /排污口封堵完成/);
  assert.equal(await report.locator('.photos img').count(), 1);
  await shot(page, 'review-queue');

  // 核验销号 asks first; with a photo on file it needs no reason.
  await item.locator('[data-action=verify]').click();
  const form = page.locator('#review-form');
  assert.match(await form.textContent(), new RegExp(`确认将 ${code} 核验销号`));
  assert.equal(await form.locator('textarea').count(), 0);
  await page.click('#review-confirm');
  await page.locator('#review-notice', { hasText: `${code} 已核验销号` }).waitFor();
  await item.waitFor({ state: 'detached' });
  assert.equal(await report.count(), 0, 'the report on a closed task needs no one any more');
  await waitBadge(page, before_);
  assert.equal((await statusOf(task.id)).status, 'verified');

  await page.click('#review-show');
  await page.locator('#detail-title', { hasText: code }).waitFor();
  await page.locator('#task-status', { hasText: '已销号' }).waitFor();
  await shot(page, 'review-verified');
  await b.done();
});

test('verifying a completion without a photo asks for a reason; cancelling leaves it waiting', async () => {
  const task = completed[0];
  const { code } = task.properties;
  const waiting = (await queue()).awaiting_verification.find((i) => i.task.id === task.id);
  assert.equal(waiting.flags.no_photo, true, 'no report of it has a photo');
  const s = await reviewPage(code, 'awaiting_verification');
  const { page } = s;
  const sent = countTransitions(page);
  const item = page.locator(`#review-awaiting_verification li[data-code="${code}"]`);
  assert.equal(await item.locator('[data-flag=no_photo]').textContent(), '无照片');

  await item.locator('[data-action=verify]').click();
  await page.locator('#review-form', { hasText: '没有照片' }).waitFor();
  // Keyboard users land in the reason field.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'review-reason');
  await page.click('#review-confirm');
  await page.locator('#review-form-error', { hasText: '请填写原因' }).waitFor();
  assert.equal(await page.getAttribute('#review-reason', 'aria-invalid'), 'true');
  await shot(page, 'review-verify-needs-reason');
  await page.click('#review-cancel');
  assert.equal(await page.locator('#review-form').count(), 0);
  assert.equal(await item.count(), 1, 'still waiting');
  assert.equal(sent.n, 0, 'nothing was sent');
  assert.equal((await statusOf(task.id)).status, 'completed');

  // From the keyboard: Escape closes the form and gives the focus back to the button.
  await item.locator('[data-action=verify]').focus();
  await page.keyboard.press('Enter');
  await page.locator('#review-reason').waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#review-form').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'verify');

  // With a reason it goes through, and the history keeps the reason.
  await page.keyboard.press('Enter');
  await page.fill('#review-reason', '监测站已现场核查，照片存档于监测站');
  await page.click('#review-confirm');
  await item.waitFor({ state: 'detached' });
  assert.equal(sent.n, 1);
  // The focus goes on to the item now in its place, not back to the top of a long list.
  await page.waitForFunction(() => document.activeElement.matches('#review-awaiting_verification .review-open'));
  assert.equal((await statusOf(task.id)).status, 'verified');
  const history = (await bureau.get(`/api/tasks/${task.id}/history`)).body;
  assert.match(history.find((e) => e.action === 'verify').reason, /^监测站已现场核查/);
  await s.done();
});

test('returning needs a reason in the form; the township\'s answer then waits in its own section', async () => {
  const task = completed[1];
  const { code } = task.properties;
  const s = await reviewPage(code, 'awaiting_verification');
  const { page } = s;
  const sent = countTransitions(page);
  const item = page.locator(`#review-awaiting_verification li[data-code="${code}"]`);
  await item.locator('[data-action=return]').click();
  await page.click('#review-confirm');
  await page.locator('#review-form-error', { hasText: '请填写原因' }).waitFor();
  assert.equal(sent.n, 0, 'refused in the form');
  await page.fill('#review-reason', '   ');
  await page.click('#review-confirm');
  assert.equal(sent.n, 0, 'blanks are no reason');
  await page.fill('#review-reason', '缺少整改前后对比照片，请补充');
  await page.click('#review-confirm');
  await page.locator('#review-notice', { hasText: `${code} 已退回整改` }).waitFor();
  await item.waitFor({ state: 'detached' });
  const now = await statusOf(task.id);
  assert.equal(now.status, 'in_progress');
  assert.equal(now.return_reason, '缺少整改前后对比照片，请补充');

  // The township answers; the clerk sees it under the answers to returns, and marks it seen.
  const r = await township.report(task.id, { progress: 90, note: '已补拍对比照片' }, 1);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await page.click('#review-refresh');
  const answer = page.locator(`#review-return_answers li[data-code="${code}"]`);
  await answer.waitFor();
  assert.match(await answer.textContent(), /已补拍对比照片/);
  assert.equal(await page.locator(`#review-new_reports li[data-code="${code}"]`).count(), 0, 'not also a new report');
  await answer.locator('[data-action=seen]').click();
  await answer.waitFor({ state: 'detached' });
  await s.done();
});

test('a task someone else changed meanwhile: the service\'s refusal is shown and the list follows', async () => {
  const task = completed[2];
  const { code } = task.properties;
  const s = await reviewPage(code, 'awaiting_verification', { allow: [/status of 412/] });
  const { page } = s;
  const item = page.locator(`#review-awaiting_verification li[data-code="${code}"]`);
  await item.locator('[data-action=verify]').click();
  await page.fill('#review-reason', '已电话核实');

  // Another clerk returns it first.
  const admin = await apiAs('admin');
  assert.equal((await admin.transition(task.id, 'return', '整改资料不全')).status, 200);

  await page.click('#review-confirm');
  await page.locator('#review-notice', { hasText: '已被他人修改' }).waitFor();
  await item.waitFor({ state: 'detached' });
  assert.equal((await statusOf(task.id)).status, 'in_progress', 'the other clerk\'s return stands');
  await shot(page, 'review-refused');
  await s.done();
});

test('已阅 takes a new report off the list and the badge goes down by one', async () => {
  const task = inProgress[1];
  const { code } = task.properties;
  const r = await township.report(task.id, { progress: Math.min(95, task.properties.progress + 10), note: '护岸砌筑过半' }, 2);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const s = await reviewPage(code, 'new_reports', { device: PHONE });
  const { page } = s;
  const item = page.locator(`#review-new_reports li[data-code="${code}"]`);
  assert.equal(await item.locator('.photos img').count(), 2);
  assert.match(await item.textContent(), /护岸砌筑过半/);
  const before_ = await badge(page);
  await item.locator('[data-action=seen]').click();
  await item.waitFor({ state: 'detached' });
  await waitBadge(page, before_ - 1);
  assert.ok(!(await queue()).new_reports.some((i) => i.report.id === r.body.id));

  // Clicking an item takes the map to the task and opens it.
  const other = page.locator('#review-awaiting_verification li.review-item').first();
  const [otherCode, otherId] = [await other.getAttribute('data-code'), await other.getAttribute('data-task')];
  await other.locator('.review-open').click();
  await page.locator('#detail-title', { hasText: otherCode }).waitFor();
  await page.waitForFunction((id) => new URLSearchParams(location.search).get('task') === id, otherId);
  const [w, so, e, n] = bboxOf((await bureau.get(`/api/tasks/${otherId}`)).body.geometry);
  await page.waitForFunction(([lng, lat]) => {
    const [y, x] = (new URLSearchParams(location.search).get('c') || '').split(',').map(Number);
    return Math.abs(x - lng) < 0.001 && Math.abs(y - lat) < 0.001;
  }, [(w + e) / 2, (so + n) / 2]);
  await s.done();
});

test('in the task panel too, verifying without a photo asks for the reason the service wants', async () => {
  const task = completed[3];
  const { code } = task.properties;
  const s = await open(browser, { user: 'bureau', path: `/?task=${task.id}`, allow: [/status of 422/] });
  const { page } = s;
  await page.locator('#detail-title', { hasText: code }).waitFor();
  await page.click('[data-action=verify]');
  await page.locator('#transition-error', { hasText: '照片' }).waitFor();
  await page.fill('#transition-reason', '县监测站已出具验收报告');
  await page.click('#transition-confirm');
  await page.locator('#task-status', { hasText: '已销号' }).waitFor();
  const history = (await bureau.get(`/api/tasks/${task.id}/history`)).body;
  assert.equal(history.find((e) => e.action === 'verify').reason, '县监测站已出具验收报告');
  await s.done();
});

test('a township officer and the public have no 待审核 tab and never ask for the queue', async () => {
  for (const user of [`township-${TOWNSHIP}`, null]) {
    const s = await open(browser, { user, path: null });
    const asked = [];
    s.page.on('request', (r) => /\/api\/review/.test(r.url()) && asked.push(r.url()));
    await gotoReady(s.page, '/?tab=review');
    if (user) await s.page.locator('#mine-list').waitFor({ state: 'attached' });
    assert.equal(await s.page.locator('#tab-button-review').isVisible(), false, `${user || 'the public'}: no tab`);
    assert.equal(await s.page.locator('#tab-review').isVisible(), false);
    assert.deepEqual(asked, []);
    await s.done();
  }
});
