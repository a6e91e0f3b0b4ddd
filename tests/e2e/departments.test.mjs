// Responsible departments: a department officer on a phone reports on a task its department leads
// (in whatever township), the bureau gives a task its lead and supporting departments, the league
// shows the departments' figures, and the administrator adds a department and makes its officer.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, shot, apiAs, tasks, openByCode, pct, PHONE } from './helpers.mjs';

let browser;
let bureau;
before(async () => {
  browser = await launch();
  bureau = await apiAs('bureau');
});
after(() => browser?.close());

test('a department officer sees the tasks its department leads, across townships, and reports on one', async () => {
  const led = (await tasks(bureau, { department: 'water', status: 'planned,in_progress,completed' })).features;
  const townships = new Set(led.map((f) => f.properties.township));
  assert.ok(led.length > 2 && townships.size > 1, 'the water bureau leads tasks in several townships');
  const task = led.find((f) => f.properties.status === 'in_progress');
  const other = (await tasks(bureau, { department: 'housing', status: 'in_progress' })).features[0];

  const s = await open(browser, { user: 'department-water', device: PHONE });
  const { page } = s;
  await page.locator('#mine-list li').first().waitFor();
  const codes = await page.$$eval('#mine-list > li', (lis) => lis.map((li) => li.dataset.code));
  assert.deepEqual(new Set(codes), new Set(led.map((f) => f.properties.code)), '"My tasks" holds the tasks it leads');
  await shot(page, 'department-my-tasks');

  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.locator('#report-form').waitFor();
  const progress = Math.min(95, task.properties.progress + 10);
  await page.fill('#r-progress', String(progress));
  await page.fill('#r-note', '水利局：护岸工程完成过半');
  await page.click('#r-submit');
  await page.locator('#task-message', { hasText: task.properties.code }).waitFor();
  const stored = (await bureau.get(`/api/tasks/${task.id}/reports`)).body;
  assert.equal(stored[0].note, '水利局：护岸工程完成过半');
  assert.equal((await bureau.get(`/api/tasks/${task.id}`)).body.properties.progress, progress);
  assert.match(await page.textContent('#task-fields'), /水利局/, 'the panel names the lead department');

  // A task another department leads: shown as the public sees it, nothing to report.
  await openByCode(page, other.properties.code);
  assert.equal(await page.locator('#task-report, #task-edit, [data-action]').count(), 0);
  assert.ok(!(await page.textContent('#task-fields')).includes('联系电话'));
  await s.done();
});

test('the bureau gives a task its lead and supporting departments, and the department league counts it', async () => {
  const task = (await tasks(bureau, { status: 'planned', category: 'village' })).features
    .find((f) => !f.properties.lead_department);
  const s = await open(browser, { user: 'bureau', path: '/?tab=league' });
  const { page } = s;
  await openByCode(page, task.properties.code);
  await page.click('#task-edit');
  await page.locator('#task-form').waitFor();
  await page.selectOption('#f-lead_department', 'agriculture');
  await page.check('#f-support_departments input[value=ecology]');
  await page.check('#f-support_departments input[value=housing]');
  await page.click('#form-save');
  await page.locator('#task-fields', { hasText: '农业农村局' }).waitFor();
  const saved = (await bureau.get(`/api/tasks/${task.id}`)).body.properties;
  assert.equal(saved.lead_department, 'agriculture');
  assert.deepEqual([...saved.support_departments].sort(), ['ecology', 'housing']);
  assert.match(await page.textContent('#task-fields'), /住建局/);

  // The league tab: the departments' figures as the service computes them, this task among them.
  await page.click('#tab-button-league');
  const rollup = (await bureau.get('/api/rollups/departments')).body;
  const agriculture = rollup.departments.find((d) => d.department_code === 'agriculture');
  const row = page.locator('#department-league-table tr[data-code="agriculture"]');
  await row.locator('td[data-col=not_cancelled]', { hasText: String(agriculture.not_cancelled) }).waitFor();
  assert.equal(await row.locator('td[data-col=completion_rate]').textContent(), pct(agriculture.completion_rate));
  assert.match(await page.textContent('#department-league-table tfoot'), new RegExp(String(rollup.total.not_cancelled)));
  await shot(page, 'department-league');
  await s.done();
});

test('the administrator adds a department and makes its officer', async () => {
  const code = `dept${Date.now() % 1e6}`;
  const s = await open(browser, { user: 'admin' });
  const { page } = s;
  await page.click('#admin-open');
  await page.click('#admin-tab-departments');
  await page.fill('#admin-department-code', code);
  await page.fill('#admin-department-name_zh', '林业局');
  await page.fill('#admin-department-name_en', 'Forestry Bureau');
  await page.click('#admin-department-add');
  await page.locator(`#admin-departments-list li[data-code="${code}"]`).waitFor();

  await page.click('#admin-tab-accounts');
  const username = `forestry.${Date.now() % 1e6}`;
  await page.fill('#admin-user-username', username);
  await page.selectOption('#admin-user-role', 'department');
  assert.ok(await page.locator('#admin-user-department').isVisible(), 'a department officer is given a department');
  assert.ok(!(await page.locator('#admin-user-township').isVisible()), 'and no township');
  await page.selectOption('#admin-user-department', code);
  await page.click('#admin-user-create');
  await page.locator(`#admin-passwords code[data-username="${username}"]`).waitFor();
  const users = (await (await apiAs('admin')).get('/api/users')).body;
  const made = users.find((u) => u.username === username);
  assert.equal(made.role, 'department');
  assert.equal(made.department, code);
  await shot(page, 'admin-department-officer');
  await s.done();
});
