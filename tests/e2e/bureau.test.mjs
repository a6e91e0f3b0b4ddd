// Bureau staff: drawing new tasks, editing with the ETag, and the transitions.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, shot, apiAs, tasks, openByCode, gotoReady } from './helpers.mjs';

let browser;
let anon;
let bureau;
before(async () => {
  browser = await launch();
  anon = await apiAs(null);
  bureau = await apiAs('bureau');
});
after(() => browser?.close());

/** A spot in the county (1 km east of a point task) with no task within ~300 m, to draw on at zoom 17. */
async function emptySpot() {
  const points = (await tasks(bureau)).features.filter((f) => f.geometry.type === 'Point');
  for (const f of points) {
    const [lng, lat] = f.geometry.coordinates;
    const c = [lng + 0.01, lat];
    const near = await tasks(bureau, { bbox: [c[0] - 0.004, c[1] - 0.003, c[0] + 0.004, c[1] + 0.003].join(',') });
    if (near.numberMatched === 0) return { lng: c[0], lat: c[1] };
  }
  throw new Error('no empty spot near any point task');
}

test('a bureau user draws an area, fills in the form, and the public then sees the new task', async () => {
  const spot = await emptySpot();
  const s = await open(browser, { user: 'bureau', path: `/?z=17&c=${spot.lat},${spot.lng}`, allow: [/status of 422 .*\/api\/tasks$/] });
  const { page } = s;
  await page.locator('#who').waitFor();
  await page.click('#draw-bar button[data-shape=Polygon]');
  await page.waitForFunction(() => window.L.PM && document.querySelector('.leaflet-container').classList.length > 0);
  const box = await page.locator('#map').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const corners = [[-80, -50], [70, -60], [90, 40], [-60, 60]];
  for (const [dx, dy] of corners) await page.mouse.click(cx + dx, cy + dy);
  await page.mouse.click(cx + corners[0][0], cy + corners[0][1]);
  await page.locator('#task-form').waitFor();
  assert.match(await page.textContent('#form-geometry'), /面/);

  // Saving without a family: the service's refusal shows next to the field.
  const title = `村庄环境整治示范点（浏览器测试 ${Date.now()}）`;
  await page.fill('#f-title', title);
  await page.click('#form-save');
  await page.locator('#e-category:not(:empty)').waitFor();
  assert.equal(await page.getAttribute('#f-category', 'aria-invalid'), 'true');

  await page.selectOption('#f-category', 'village');
  await page.fill('#f-lead_unit', '青溪镇人民政府');
  await page.fill('#f-contact_phone', '13900001234');
  await page.fill('#f-due_date', '2027-06-30');
  await page.fill('#f-planned_investment', '120.5');
  await page.fill('#f-target_quantity', '1');
  await page.fill('#f-target_unit', '个');
  await shot(page, 'bureau-new-task-form');
  await page.click('#form-save');
  await page.locator('#task-message', { hasText: '已创建任务' }).waitFor();
  const code = (await page.textContent('#detail-title')).trim();
  assert.match(code, /^VI-\d{4}-\d{4}$/);
  await shot(page, 'bureau-task-created');

  // Stored as drawn: a polygon, with the fields typed, in the township holding it.
  const stored = (await tasks(anon, { q: code })).features[0];
  assert.equal(stored.properties.title, title);
  assert.equal(stored.geometry.type, 'Polygon');
  assert.equal(stored.geometry.coordinates[0].length, 5);
  assert.equal(stored.properties.planned_investment, 120.5);
  assert.equal(stored.properties.due_date, '2027-06-30');
  assert.match(stored.properties.township, /^\d{9}$/, 'assigned to the township holding it');
  assert.match(await page.textContent('#task-fields'), new RegExp(stored.properties.township_name));
  assert.ok(!('contact_phone' in stored.properties), 'the public does not get the phone number');
  await s.done();

  // A visitor finds it on the public map.
  const v = await open(browser, { path: `/?z=16&c=${spot.lat},${spot.lng}` });
  // Drawn as an area (Leaflet leaves shapes outside the view as an empty path).
  await v.page.waitForFunction(() => [...document.querySelectorAll('path.task-shape.cat-village')]
    .some((p) => p.getAttribute('d') !== 'M0 0'));
  await openByCode(v.page, code);
  assert.equal(await v.page.textContent('#task-title'), title);
  assert.ok(!(await v.page.textContent('#task-fields')).includes('13900001234'));
  await shot(v.page, 'public-sees-new-task');
  await v.done();
});

test('saving over someone else\'s edit is refused, and the user is shown the current version', async () => {
  const task = (await tasks(bureau, { status: 'in_progress', category: 'energy' })).features[0];
  const s = await open(browser, { user: 'bureau', allow: [/status of 412/] });
  const { page } = s;
  await openByCode(page, task.properties.code);
  await page.click('#task-edit');
  await page.locator('#task-form').waitFor();

  // Meanwhile an administrator renames the task.
  const admin = await apiAs('admin');
  const { etag } = await admin.get(`/api/tasks/${task.id}`);
  const renamed = `${task.properties.title}（已更名）`;
  const r = await admin.call('PATCH', `/api/tasks/${task.id}`, { json: { properties: { title: renamed } }, headers: { 'If-Match': etag } });
  assert.equal(r.status, 200);

  const unit = `县经信局节能科 ${Date.now() % 100000}`;
  await page.fill('#f-lead_unit', unit);
  await page.click('#form-save');
  await page.locator('#form-conflict').waitFor();
  assert.match(await page.textContent('#form-error'), /已被他人修改/);
  assert.equal(await page.textContent('#form-conflict dd[data-field=title]'), renamed);
  await shot(page, 'bureau-edit-conflict');
  let now = (await bureau.get(`/api/tasks/${task.id}`)).body.properties;
  assert.equal(now.title, renamed, 'the other edit stands');
  assert.equal(now.lead_unit, task.properties.lead_unit, 'nothing of the refused edit was written');

  // Starting again from the current version works.
  await page.click('#conflict-reload');
  assert.equal(await page.inputValue('#f-title'), renamed);
  await page.fill('#f-lead_unit', unit);
  await page.click('#form-save');
  await page.locator('#task-message', { hasText: `已保存任务 ${task.properties.code}` }).waitFor();
  now = (await bureau.get(`/api/tasks/${task.id}`)).body.properties;
  assert.equal(now.lead_unit, unit);
  assert.equal(now.title, renamed);
  await s.done();
});

test('a bureau user moves a point task on the map and the new place is stored', async () => {
  const task = (await tasks(bureau, { status: 'planned', category: 'energy' })).features.find((f) => f.geometry.type === 'Point');
  const [lng, lat] = task.geometry.coordinates;
  const s = await open(browser, { user: 'bureau', path: `/?z=17&c=${lat},${lng}&task=${task.id}` });
  const { page } = s;
  await page.locator('#task-edit').click();
  await page.click('#edit-geometry');
  const marker = page.locator('.pin.draft').first();
  await marker.waitFor();
  const b = await marker.boundingBox();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2 + 60, b.y + b.height / 2 + 10, { steps: 8 });
  await page.mouse.up();
  await page.click('#form-save');
  await page.locator('#task-message', { hasText: `已保存任务 ${task.properties.code}` }).waitFor();
  const moved = (await bureau.get(`/api/tasks/${task.id}`)).body;
  assert.ok(moved.geometry.coordinates[0] > lng + 0.0001, `moved east: ${moved.geometry.coordinates} from ${[lng, lat]}`);
  const history = (await bureau.get(`/api/tasks/${task.id}/history`)).body;
  assert.ok(history.some((e) => e.kind === 'updated' && e.changes?.geometry), 'the move is in the history');
  await s.done();
});

test('the bureau returns a completed task with a reason and supervises another; both show in the full history', async () => {
  const [done, open_] = [(await tasks(bureau, { status: 'completed' })).features[0], (await tasks(bureau, { status: 'planned', supervised: 'false' })).features[0]];
  const s = await open(browser, { user: 'bureau' });
  const { page } = s;
  await openByCode(page, done.properties.code);
  await page.click('[data-action=return]');
  await page.click('#transition-confirm');
  assert.match(await page.textContent('#transition-error'), /原因/);
  await page.fill('#transition-reason', '现场照片不清晰，请补充整改前后对比照片');
  await page.click('#transition-confirm');
  await page.locator('#task-status', { hasText: '进行中' }).waitFor();
  await page.locator('#task-history', { hasText: '现场照片不清晰' }).waitFor();
  const returned = (await bureau.get(`/api/tasks/${done.id}`)).body.properties;
  assert.equal(returned.status, 'in_progress');
  assert.equal(returned.return_reason, '现场照片不清晰，请补充整改前后对比照片');

  await openByCode(page, open_.properties.code);
  await page.click('[data-action=supervise]');
  await page.locator('#detail .badge.sup').waitFor();
  assert.equal((await bureau.get(`/api/tasks/${open_.id}`)).body.properties.supervised, true);
  assert.equal(await page.locator('[data-action=unsupervise]').count(), 1);
  await shot(page, 'bureau-supervised');
  await s.done();
});
