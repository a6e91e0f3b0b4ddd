// Reminders (催办) in the browser: a township officer sees the inbox's badge, opens the inbox, finds
// the daily reminder the service's background job made and the bureau's chase, opens the chased
// task (its history says it was chased) and marks items read; in English too.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, shot, apiAs, tasks, openByCode } from './helpers.mjs';

const TOWNSHIP = '330599105';
let browser;
let bureau;
before(async () => {
  browser = await launch();
  bureau = await apiAs('bureau');
});
after(() => browser?.close());

/** Polls the township's inbox until it holds a daily reminder: the service makes the day's
 * reminders within 30 s once the hour set by the administrator has come (set to 00:00 here). */
async function digestArrives(officer) {
  const until = Date.now() + 45_000;
  for (;;) {
    const { body } = await officer.get('/api/inbox');
    if (body.items.some((i) => i.kind === 'digest')) return body;
    assert.ok(Date.now() < until, `no daily reminder arrived: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

test('a township officer sees the inbox badge, reads a chase and the daily reminder, and marks them read', async () => {
  const admin = await apiAs('admin');
  const set = await admin.call('PUT', '/api/reminders/settings', { json: { due_within_days: 7, stale_after_days: 30, run_at: '00:00' } });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const officer = await apiAs(`township-${TOWNSHIP}`);
  const digest = await digestArrives(officer);

  const open_ = (await tasks(bureau, { township: TOWNSHIP, status: 'in_progress' })).features[0];
  assert.ok(open_, 'the township has a task in progress');
  const code = open_.properties.code;
  const chase = await bureau.call('POST', `/api/tasks/${open_.id}/chase`, { json: { message: '请于本周五前上报整改进展' } });
  assert.equal(chase.status, 201, JSON.stringify(chase.body));
  const unread = digest.unread + 1;

  const s = await open(browser, { user: `township-${TOWNSHIP}` });
  const { page } = s;
  const badge = page.locator('#inbox-count');
  await badge.waitFor();
  assert.equal(await badge.textContent(), String(unread));
  await page.click('#tab-button-inbox');
  const list = page.locator('#inbox-list');
  await list.waitFor();
  // Newest first: the chase, with the bureau's words and the task it names.
  const first = list.locator(':scope > li').first();
  assert.equal(await first.getAttribute('data-kind'), 'chase');
  assert.match(await first.textContent(), /请于本周五前上报整改进展/);
  assert.match(await first.textContent(), new RegExp(code));
  const daily = list.locator('li[data-kind="digest"]').first();
  assert.match(await daily.textContent(), /催办提醒/);
  assert.match(await page.textContent('#inbox-total'), new RegExp(`${unread} 条未读`));
  await shot(page, 'inbox-township');

  // The chased task opens beside the list, and its history says it was chased, and with what words.
  await first.locator('.inbox-task').click();
  await page.locator('#detail-title', { hasText: code }).waitFor();
  const history = page.locator('#task-history');
  await history.waitFor();
  assert.match(await history.textContent(), /催办内容: 请于本周五前上报整改进展/);

  // Marking the chase read takes one off the badge; marking all clears it.
  await page.click('#detail .panel-close');
  await first.locator('.inbox-read').click();
  await page.locator('#inbox-list > li[data-kind="chase"][data-read="true"]').first().waitFor();
  assert.equal(await badge.textContent(), String(unread - 1));
  // The list re-renders while the request is under way: wait for the answer itself, not for a
  // badge that a re-render also hides.
  const [readAll] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/inbox/read') && r.request().method() === 'POST'),
    page.click('#inbox-read-all'),
  ]);
  assert.equal(readAll.status(), 200);
  assert.equal((await readAll.json()).unread, 0);
  await badge.waitFor({ state: 'hidden' });
  // The badge takes the POST's answer at once; the list is drawn again only when the inbox has
  // been asked for anew, and then offers no "mark all" any more.
  await page.locator('#inbox-read-all').waitFor({ state: 'detached' });
  assert.equal(await page.locator('#inbox-list > li[data-read="false"]').count(), 0);
  assert.equal((await officer.get('/api/inbox/count')).body.unread, 0);

  // In English too.
  await page.click('#lang-switch');
  assert.match(await page.textContent('#tab-button-inbox'), /Inbox/);
  assert.match(await page.textContent('#inbox-list'), /Reminder of/);
  await s.done();
});

test('staff have no inbox tab; a township never chases', async () => {
  const s = await open(browser, { user: 'bureau' });
  await s.page.locator('#who').waitFor();
  assert.equal(await s.page.locator('#tab-button-inbox').isHidden(), true);
  await s.done();
  const officer = await apiAs(`township-${TOWNSHIP}`);
  const mine = (await tasks(officer, { township: TOWNSHIP })).features[0];
  const res = await officer.call('POST', `/api/tasks/${mine.id}/chase`, { json: { message: '自己催自己' } });
  assert.equal(res.status, 403);
});

test('an administrator sees the reminder settings and every delivery with its last error', async () => {
  const admin = await apiAs('admin');
  // A robot nobody listens at: the chase's delivery fails and waits for its retry.
  const township = '330599105';
  const set = await admin.call('PUT', `/api/reminders/channels/township/${township}`,
    { json: { robot: { kind: 'wecom', url: 'http://127.0.0.1:9/cgi-bin/webhook/send?key=abcdef123456' } } });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  const task = (await tasks(bureau, { township, status: 'in_progress' })).features[0];
  assert.equal((await bureau.call('POST', `/api/tasks/${task.id}/chase`, { json: { message: '请尽快整改' } })).status, 201);
  const until = Date.now() + 20_000;
  while ((await admin.get('/api/reminders/deliveries')).body.every((d) => !d.last_error)) {
    assert.ok(Date.now() < until, 'the delivery was attempted');
    await new Promise((r) => setTimeout(r, 500));
  }
  const s = await open(browser, { user: 'admin', allow: [/status of 422/] });
  const { page } = s;
  await page.click('#admin-open');
  await page.click('#admin-tab-reminders');
  await page.locator('#admin-deliveries').waitFor();
  assert.equal(await page.inputValue('#admin-reminders-run_at'), '00:00');
  const row = page.locator('#admin-deliveries tbody tr').first();
  assert.match(await row.textContent(), /等待发送/);
  assert.match(await row.textContent(), /Connection refused/);
  // The robot's key is never shown in full.
  assert.ok(!(await page.textContent('#admin-channels')).includes('abcdef123456'));
  assert.match(await page.textContent('#admin-channels'), /key=…3456/);
  // A setting out of range is refused beside its field.
  await page.fill('#admin-reminders-due_within_days', '0');
  await page.click('#admin-reminders-save');
  await page.locator('#admin-reminders-e-due_within_days:not(:empty)').waitFor();
  await shot(page, 'admin-reminders');
  await s.done();
});

test('the bureau chases a task from its panel, and the township finds it in its inbox', async () => {
  const township = '330599104';
  const task = (await tasks(bureau, { township, status: 'planned' })).features[0];
  const s = await open(browser, { user: 'bureau' });
  const { page } = s;
  await openByCode(page, task.properties.code);
  await page.click('#task-chase');
  await page.click('#chase-send');
  assert.match(await page.textContent('#chase-error'), /催办内容/);
  await page.fill('#chase-message', '请本周内开工并上报');
  await page.click('#chase-send');
  await page.locator('#task-history', { hasText: '请本周内开工并上报' }).waitFor();
  await s.done();
  const officer = await apiAs(`township-${township}`);
  const { body } = await officer.get('/api/inbox');
  assert.equal(body.items[0].message, '请本周内开工并上报');
});
