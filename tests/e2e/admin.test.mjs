// The administrator's page: an account made in the browser gets a temporary password shown once,
// which works to log in and then must be changed; a task family added and retired there keeps its
// place in the filters but is no longer offered when the bureau draws a new task.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, shot, apiAs, tasks, BASE } from './helpers.mjs';

let browser;
let admin;
before(async () => {
  browser = await launch();
  admin = await apiAs('admin');
});
after(() => browser?.close());

const stamp = () => Date.now() % 1e8;

test('an administrator makes a township officer whose temporary password works once, to choose one\'s own', async () => {
  const s = await open(browser, { user: 'admin', allow: [/status of 422/] });
  const { page } = s;
  await page.click('#admin-open');
  await page.locator('#admin-users li').first().waitFor();
  assert.equal(await page.getAttribute('#admin-tab-accounts', 'aria-selected'), 'true');

  // Keyboard: the arrow keys move between the two parts.
  await page.focus('#admin-tab-accounts');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('#admin-tab-families', 'aria-selected'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'admin-tab-families');
  await page.keyboard.press('ArrowLeft');
  assert.ok(await page.locator('#admin-accounts').isVisible());

  // A refusal shows beside its field; nothing is made.
  await page.fill('#admin-user-username', 'a b');
  await page.click('#admin-user-create');
  await page.locator('#admin-user-e-username:not(:empty)').waitFor();
  assert.equal(await page.getAttribute('#admin-user-username', 'aria-invalid'), 'true');

  const username = `officer.${stamp()}`;
  await page.fill('#admin-user-username', username);
  await page.fill('#admin-user-display_name', '青溪镇 李明');
  await page.selectOption('#admin-user-role', 'township');
  await page.selectOption('#admin-user-township', '330599101');
  await page.click('#admin-user-create');
  const code = page.locator(`#admin-passwords code[data-username="${username}"]`);
  await code.waitFor();
  const temporary = (await code.textContent()).trim();
  assert.match(temporary, /^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
  assert.ok(await page.locator('#admin-passwords-csv').isVisible(), 'the handout can be downloaded');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#admin-passwords-csv')]);
  const saved = await download.path().then((p) => import('node:fs').then((fs) => fs.readFileSync(p, 'utf8')));
  assert.ok(saved.includes(`${username},青溪镇 李明,township,330599101,`) && saved.includes(temporary), saved);
  await page.locator(`#admin-users li[data-username="${username}"]`).waitFor();
  assert.match(await page.textContent(`#admin-users li[data-username="${username}"]`), /待改密码/);
  await shot(page, 'admin-account-created');

  // Targets a finger can hit, on the page's every button.
  const small = await page.$$eval('.admin button, .admin select, .admin input:not([type=checkbox])',
    (els) => els.filter((e) => e.offsetParent && e.getBoundingClientRect().height < 44).map((e) => e.id || e.textContent));
  assert.deepEqual(small, []);
  await s.done();

  // The officer logs in with it and is held at choosing a password of their own.
  const o = await open(browser, { path: null, allow: [/status of 403/] });
  const res = await o.page.request.post(`${BASE}/api/session`, { data: { username, password: temporary }, headers: { Origin: BASE } });
  assert.equal(res.status(), 200);
  await o.page.goto('/');
  await o.page.locator('#password-current').waitFor();
  await o.page.fill('#password-current', temporary);
  await o.page.fill('#password-new', 'my own township secret');
  await o.page.fill('#password-again', 'my own township secret');
  await o.page.click('#password-submit');
  await o.page.locator('#who', { hasText: '青溪镇 李明' }).waitFor();
  await o.done();
  const again = await fetch(`${BASE}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: temporary }) });
  assert.equal(again.status, 401, 'the temporary password worked once');
});

test('an administrator deactivates an account and gives it a new temporary password', async () => {
  const username = `leaver.${stamp()}`;
  const made = await admin.call('POST', '/api/users/bulk', { json: [{ username, role: 'bureau' }] });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const s = await open(browser, { user: 'admin' });
  const { page } = s;
  page.on('dialog', (d) => d.accept());
  await page.click('#admin-open');
  const item = page.locator(`#admin-users li[data-username="${username}"]`);
  await item.locator('button[data-act=deactivate]').click();
  await item.locator('button[data-act=activate]').waitFor();
  assert.match(await item.textContent(), /已停用/);
  await item.locator('button[data-act=reset]').click();
  const code = page.locator(`#admin-passwords code[data-username="${username}"]`);
  await code.waitFor();
  const users = (await admin.get('/api/users')).body;
  const stored = users.find((u) => u.username === username);
  assert.equal(stored.active, false);
  assert.equal(stored.must_change_password, true);
  await s.done();
});

test('a family added and retired on the page keeps its tasks in the filters but is not offered for new ones', async () => {
  const n = stamp();
  const family = `fam${n}`;
  const prefix = `Q${String.fromCharCode(65 + (n % 26), 65 + (Math.floor(n / 26) % 26), 65 + (Math.floor(n / 676) % 26))}`;
  const s = await open(browser, { user: 'admin', allow: [/status of 409/] });
  const { page } = s;
  page.on('dialog', (d) => d.accept());
  await page.click('#admin-open');
  await page.click('#admin-tab-families');
  await page.fill('#admin-family-code', family);
  await page.fill('#admin-family-prefix', prefix);
  await page.fill('#admin-family-name_zh', `生态修复${n}`);
  await page.fill('#admin-family-name_en', `Restoration ${n}`);
  await page.fill('#admin-family-color', '#8e44ad');
  await page.click('#admin-family-add');
  const item = page.locator(`#admin-families li[data-code="${family}"]`);
  await item.waitFor();
  // At once a filter on the map, and a choice for new tasks.
  await page.locator('#tab-filters label', { hasText: `生态修复${n}` }).waitFor();

  // What it asks of report photos, set on the family: a farther limit, a photo of the site before.
  await item.locator('[data-act=edit]').click();
  await page.fill(`#admin-family-${family}-photo_far_m`, '2000');
  await page.check(`#admin-family-${family}-require_before_photo`);
  await page.click(`#admin-family-${family}-form button[type=submit]`);
  await page.locator('#admin-family-status:not(:empty)').waitFor();
  const saved = (await (await apiAs('admin')).get('/api/categories')).body.find((c) => c.code === family);
  assert.deepEqual([saved.photo_far_m, saved.require_before_photo, saved.require_after_photo], [2000, true, true]);

  // The same prefix again is refused, said beside the field.
  await page.fill('#admin-family-code', `${family}b`);
  await page.fill('#admin-family-prefix', prefix);
  await page.fill('#admin-family-name_zh', '重复');
  await page.fill('#admin-family-name_en', 'Again');
  await page.click('#admin-family-add');
  await page.locator('#admin-family-form p.error:not(:empty)').waitFor();

  // A task in it, then retired on the page.
  const bureau = await apiAs('bureau');
  const some = (await tasks(bureau)).features.find((f) => f.geometry.type === 'Point');
  // Beside a point task of the county, so it lies in a township.
  const [lng, lat] = some.geometry.coordinates;
  const geometry = { type: 'Point', coordinates: [lng + 0.002, lat + 0.001] };
  const made = await bureau.call('POST', '/api/tasks', { json: { type: 'Feature', geometry,
    properties: { title: `湿地修复 ${n}`, category: family } } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await item.locator('button[data-act=retire]').click();
  await item.locator('button[data-act=unretire]').waitFor();
  assert.match(await item.textContent(), /已停用/);
  await page.locator('#tab-filters label', { hasText: `生态修复${n}（已停用）` }).waitFor();
  await shot(page, 'admin-family-retired');
  const listed = (await admin.get('/api/categories')).body.find((f) => f.code === family);
  assert.equal(listed.retired, true);

  // Its task is still found by its filter.
  await page.locator('#tab-filters label', { hasText: `生态修复${n}` }).locator('input').check();
  const found = await tasks(await apiAs(null), { category: family });
  assert.equal(found.features.length, 1);

  // The bureau's form for a new task does not offer it; other families are there.
  await page.click('#detail .panel-close');
  await page.click('#draw-bar button[data-shape=Marker]');
  await page.waitForFunction(() => window.L.PM);
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width / 2 + 40, box.y + box.height / 2 + 30);
  await page.locator('#task-form').waitFor();
  const offered = await page.$$eval('#f-category option', (os) => os.map((o) => o.value));
  assert.ok(offered.includes('watershed'), offered.join());
  assert.ok(!offered.includes(family), `${family} is offered: ${offered.join()}`);
  await s.done();
});
