// A county's own start in the browser: an account with a temporary password is held at the
// change-password form until it chooses its own, an administrator checks a township boundary
// file in the import panel before anything is stored, and the bureau checks its Excel/CSV ledger.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, open, shot, apiAs, BASE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(() => browser?.close());

const DEMO_TOWNSHIPS = fileURLToPath(new URL('../../data/townships.geojson', import.meta.url));

test('an account made with a temporary password must choose its own before the map lets it work', async () => {
  const admin = await apiAs('admin');
  const username = `new.${Date.now() % 1e8}`;
  const made = await admin.call('POST', '/api/users', { json: { username, role: 'bureau', password: 'handed over on paper' } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const s = await open(browser, { path: null, allow: [/status of 403/] });
  const { page } = s;
  const res = await page.request.post(`${BASE}/api/session`, {
    data: { username, password: 'handed over on paper' }, headers: { Origin: BASE } });
  assert.equal(res.status(), 200);
  await page.goto('/');
  await page.locator('#password-current').waitFor();
  assert.ok(await page.locator('#password-dialog').evaluate((d) => d.open), 'the form is up');
  await page.keyboard.press('Escape');
  assert.ok(await page.locator('#password-dialog').evaluate((d) => d.open), 'Escape does not dismiss it');
  await shot(page, 'password-change-required');

  await page.fill('#password-current', 'handed over on paper');
  await page.fill('#password-new', 'a password of my own');
  await page.fill('#password-again', 'a password of my own!');
  await page.click('#password-submit');
  await page.locator('#password-error', { hasText: /不一致|match/ }).waitFor();
  await page.fill('#password-again', 'a password of my own');
  await page.click('#password-submit');
  await page.locator('#password-dialog').waitFor({ state: 'hidden' });
  await page.locator('#who', { hasText: username }).waitFor();
  await page.waitForSelector('body[data-ready="true"]');
  const me = await page.evaluate(async () => (await (await fetch('/api/me')).json()).user);
  assert.equal(me.must_change_password, false);
  await s.done();
});

test('an administrator checks a boundary file in the import panel and sees what it would do', async () => {
  const s = await open(browser, { user: 'admin' });
  const { page } = s;
  await page.click('#township-import-open');
  await page.setInputFiles('#township-file', DEMO_TOWNSHIPS);
  await page.click('#township-check');
  const summary = page.locator('#township-summary');
  await summary.waitFor();
  const text = await summary.textContent();
  assert.match(text, /12/, text);
  assert.match(text, /EPSG:4326/, text);
  assert.ok(await page.locator('#township-apply').isEnabled(), 'the dry run can be applied');
  await shot(page, 'township-import-dry-run');
  // The demo file against the demo county: nothing new, nothing changed, no task moves.
  assert.equal(await page.locator('.import-moves li').count(), 0);
  await s.done();
});

test('an administrator reads the security audit trail: a failed login, in Chinese, filtered, and as CSV', async () => {
  const wrong = await fetch(`${BASE}/api/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'User-Agent': 'audit-e2e-probe' },
    body: JSON.stringify({ username: 'nobody.audit', password: 'not the password' }),
  });
  assert.equal(wrong.status, 401);
  const s = await open(browser, { user: 'admin' });
  const { page } = s;
  await page.click('#audit-open');
  await page.locator('#audit-rows tr[data-kind="login"]').first().waitFor();
  await page.selectOption('#audit-kind', 'login_failed');
  const failed = page.locator('#audit-rows tr[data-kind="login_failed"]', { hasText: 'nobody.audit' }).first();
  await failed.waitFor();
  assert.match(await failed.textContent(), /登录失败/);
  assert.equal(await page.locator('#audit-rows tr:not([data-kind="login_failed"])').count(), 0, 'only the kind asked for');
  assert.equal(await failed.locator('td').last().getAttribute('title'), 'audit-e2e-probe');
  await shot(page, 'security-audit');
  const href = await page.getAttribute('#audit-csv', 'href');
  assert.equal(href, '/api/audit.csv?kind=login_failed');
  const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
  assert.match(csv, /login_failed,nobody\.audit,/);
  assert.doesNotMatch(csv, /,login,/);
  await s.done();
});

test('the audit trail is not offered to the bureau', async () => {
  const s = await open(browser, { user: 'bureau' });
  assert.equal(await s.page.locator('#audit-open').count(), 0);
  await s.done();
});

test('the bureau checks its ledger file: how each column is read, and a refused row told at its cell', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  const csv = (rows) => {
    const path = join(dir, `台账-${rows.length}.csv`);
    writeFileSync(path, `\ufeff${['任务名称,类别,乡镇,经度,纬度,计划投资（万元）,备注', ...rows].join('\r\n')}\r\n`);
    return path;
  };
  const good = '白鹭港排污口整治,重点流域水环境整治,,119.984223,30.761269,50,按月调度';
  const s = await open(browser, { user: 'bureau' });
  const { page } = s;
  await page.click('#ledger-import-open');
  await page.setInputFiles('#ledger-file', csv([good, '梅溪排污口整治,重点流域水环境整治,,120.106039,30.831651,约50,']));
  await page.click('#ledger-check');
  const summary = page.locator('#ledger-summary');
  await summary.waitFor();
  assert.match(await summary.textContent(), /2.*1.*1/, await summary.textContent());
  const refused = await page.locator('.ledger-failed li').allTextContents();
  assert.deepEqual(refused.length, 1, refused.join('\n'));
  assert.match(refused[0], /^F3（计划投资（万元））：“约50”不是有效的数字/, refused[0]);
  assert.ok(await page.locator('#ledger-apply').isDisabled(), 'a ledger with a refused row is not imported');
  const ignored = page.locator('.ledger-columns tr', { hasText: '备注' });
  assert.match(await ignored.textContent(), /不导入/);
  await shot(page, 'ledger-import-dry-run');

  await page.setInputFiles('#ledger-file', csv([good]));
  await page.click('#ledger-check');
  await page.locator('#ledger-summary', { hasText: /1 行可导入，0 行不合格/ }).waitFor();
  assert.ok(await page.locator('#ledger-apply').isEnabled(), 'a clean dry run can be imported');
  await s.done();
});
