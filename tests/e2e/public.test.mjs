// The public map, as a resident sees it without logging in.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, open, gotoReady, shot, apiAs, tasks, openByCode, leagueRows, pct, PHONE, BASE } from './helpers.mjs';

let browser;
let anon;
before(async () => {
  browser = await launch();
  anon = await apiAs(null);
});
after(() => browser?.close());

const shownCount = async (page) => Number((await page.textContent('#map-status')).match(/\d+/)[0]);

test('the public map loads with township shading, task markers and the league table, without errors', async () => {
  const s = await open(browser);
  const { page } = s;
  const rollup = (await anon.get('/api/rollups/townships')).body;

  // Every township is drawn, shaded by its completion rate (not all in one shade).
  const fills = await page.$$eval('path.township', (ps) => Object.fromEntries(ps.map((p) => [
    [...p.classList].find((c) => c.startsWith('t-')).slice(2), p.getAttribute('fill')])));
  assert.equal(Object.keys(fills).length, rollup.townships.length);
  assert.ok(new Set(Object.values(fills)).size >= 2, `shades: ${JSON.stringify(fills)}`);
  const best = rollup.townships.reduce((a, b) => (b.completion_rate > a.completion_rate ? b : a));
  const worst = rollup.townships.reduce((a, b) => (b.completion_rate < a.completion_rate ? b : a));
  assert.notEqual(fills[best.township_code], fills[worst.township_code], 'the best and the worst township differ in shade');
  assert.match(await page.textContent('#legend'), /乡镇完成率/);

  // The public's tasks, all of them at the county view, as clusters and markers, lines and areas.
  const publicTasks = await tasks(anon);
  assert.equal(await shownCount(page), publicTasks.numberMatched);
  assert.ok(await page.locator('.marker-cluster, .task-marker').count() > 0, 'points are drawn');
  assert.ok(await page.locator('path.task-shape').count() > 0, 'lines and areas are drawn');

  // The league table: every township with the service's completion rate.
  await page.click('#tab-button-league');
  const rows = await leagueRows(page);
  assert.equal(rows.length, rollup.townships.length);
  for (const r of rollup.townships) {
    const row = rows.find((x) => x.code === r.township_code);
    assert.equal(row.completion_rate, pct(r.completion_rate), r.township_name);
  }
  // Sorted by completion rate, best first.
  assert.equal(rows[0].code, best.township_code);
  await shot(page, 'public-map');
  await s.done();
});

test('filters change what is shown and the URL, and the URL brings them back', async () => {
  const s = await open(browser);
  const { page } = s;
  await page.check('input[name=category][value=watershed]');
  await page.waitForURL(/category=watershed/);
  const watershed = await tasks(anon, { category: 'watershed' });
  await page.waitForFunction((n) => document.querySelector('#map-status').textContent.includes(String(n)), watershed.numberMatched);
  assert.equal(await shownCount(page), watershed.numberMatched);

  await page.check('input[name=overdue]');
  await page.waitForURL(/overdue=1/);
  const overdue = await tasks(anon, { category: 'watershed', overdue: 'true' });
  assert.ok(overdue.numberMatched < watershed.numberMatched);
  await page.waitForFunction((n) => document.querySelector('#map-status').textContent.includes(`${n} `), overdue.numberMatched);

  await page.selectOption('select[name=township]', overdue.features[0].properties.township);
  await page.waitForURL(/township=\d{9}/);
  const url = page.url();
  const one = await tasks(anon, { category: 'watershed', overdue: 'true', township: overdue.features[0].properties.township });
  await page.waitForFunction((n) => document.querySelector('#map-status').textContent.includes(`${n} `), one.numberMatched);

  // The same link in another browser shows the same selection.
  const t = await open(browser, { path: url.slice(BASE.length) });
  assert.ok(await t.page.isChecked('input[name=category][value=watershed]'));
  assert.ok(await t.page.isChecked('input[name=overdue]'));
  assert.equal(await t.page.inputValue('select[name=township]'), overdue.features[0].properties.township);
  assert.equal(await shownCount(t.page), one.numberMatched);
  await t.done();

  await page.click('#filters-reset');
  await page.waitForURL((u) => !u.search.includes('category'));
  await s.done();
});

test('search finds a task by code or title, and its panel shows public fields, progress and status history only', async () => {
  const s = await open(browser);
  const { page } = s;
  const task = (await tasks(anon, { status: 'verified' })).features[0];
  await openByCode(page, task.properties.code);
  await page.waitForURL(new RegExp(`task=${task.id}`));
  assert.equal(await page.textContent('#task-title'), task.properties.title);
  assert.equal(await page.getAttribute('#detail .progress', 'aria-valuenow'), String(task.properties.progress));
  await page.locator('#task-history li').first().waitFor();
  const fields = await page.textContent('#task-fields');
  assert.ok(fields.includes(task.properties.lead_unit));
  // The public never sees contact details; the API does not even send them.
  assert.ok(!('contact_phone' in task.properties));
  assert.ok(!fields.includes('联系电话'));
  // No bureau or township controls for the public.
  assert.equal(await page.locator('#task-edit, #task-report, [data-action]').count(), 0);
  await shot(page, 'public-task-panel');

  // A title word works too.
  const word = task.properties.title.slice(0, 4);
  await page.fill('#search-input', word);
  await page.press('#search-input', 'Enter');
  await page.locator('#search-results button', { hasText: task.properties.code }).first().waitFor();
  await page.waitForURL(new RegExp(`q=${encodeURIComponent(word)}`));
  await s.done();
});

test('the league table sorts by overdue and on-time rate, and a township zooms the map', async () => {
  const s = await open(browser, { path: '/?tab=league' });
  const { page } = s;
  const rollup = (await anon.get('/api/rollups/townships')).body.townships;
  await page.click('#league-table thead button[data-key=overdue]');
  let rows = await leagueRows(page);
  const overdue = rows.map((r) => Number(r.overdue));
  assert.deepEqual(overdue, [...overdue].sort((a, b) => b - a), 'most overdue first');
  assert.equal(await page.getAttribute('#league-table th[aria-sort=descending] button', 'data-key'), 'overdue');
  await page.click('#league-table thead button[data-key=on_time_rate]');
  await page.click('#league-table thead button[data-key=on_time_rate]');
  rows = await leagueRows(page);
  const rates = rollup.filter((r) => r.on_time_rate !== null).map((r) => r.on_time_rate).sort((a, b) => a - b);
  assert.equal(rows[0].on_time_rate, pct(rates[0]), 'lowest on-time rate first when ascending');

  const zoomBefore = Number(new URL(page.url()).searchParams.get('z') ?? 0);
  await page.click(`#league-table tbody tr[data-code="${rows[0].code}"] th button`);
  await page.waitForURL((u) => Number(u.searchParams.get('z')) > zoomBefore);
  await shot(page, 'league-zoomed');
  await s.done();
});

test('the English switch changes every label and is kept in the URL', async () => {
  const s = await open(browser);
  const { page } = s;
  await page.click('#lang-switch');
  await page.waitForURL(/lang=en/);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('h1'), 'Remediation ledger');
  assert.equal(await page.textContent('#tab-button-league'), 'Townships');
  assert.match(await page.textContent('#tab-filters'), /Watershed|watershed/i);
  assert.match(await page.textContent('#map-status'), /tasks on the map/);
  assert.match(await page.textContent('#legend'), /Completion rate/);
  await page.click('#tab-button-league');
  assert.match(await page.textContent('#league-table thead'), /Completed/);
  await shot(page, 'english');
  // No Chinese left in the interface's own words (names of places and tasks are data).
  const chrome = await page.textContent('header.bar');
  assert.ok(!/[\u4e00-\u9fff]/.test(chrome.replace('中文', '')), chrome);
  await gotoReady(page, new URL(page.url()).pathname + new URL(page.url()).search);
  assert.equal(await page.textContent('h1'), 'Remediation ledger');
  await page.click('#lang-switch');
  await page.waitForURL((u) => !u.search.includes('lang='));
  assert.equal(await page.textContent('h1'), '环保整治台账');
  await s.done();
});

test('on a 360 px phone the public map fits the screen', async () => {
  const s = await open(browser, { device: PHONE });
  const { page } = s;
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `page is ${width}px wide`);
  await shot(page, 'phone-public-map');
  await page.click('#tab-button-league');
  await page.locator('#league-table').scrollIntoViewIfNeeded();
  await shot(page, 'phone-league');
  await s.done();
});

test('logging in through the form: a wrong password is told, the right one shows who is in', async () => {
  const s = await open(browser, { allow: [/status of 401 .*\/api\/session$/] });
  const { page } = s;
  await page.click('#login-open');
  await page.fill('#login-username', 'bureau');
  await page.fill('#login-password', 'not-the-password');
  await page.click('#login-dialog button[type=submit]');
  await page.locator('#login-error', { hasText: '用户名或密码不正确' }).waitFor();
  await page.fill('#login-password', process.env.GREENLEDGER_DEMO_PASSWORD || 'greenledger-demo');
  await page.click('#login-dialog button[type=submit]');
  await page.locator('#who').waitFor();
  // The editor is loaded for the bureau once it has logged in.
  await page.locator('#draw-bar').waitFor();
  assert.equal(await page.locator('#draw-bar').count(), 1, 'bureau staff get the drawing tools');
  await page.click('#logout');
  await page.locator('#login-open').waitFor();
  assert.equal(await page.locator('#draw-bar').count(), 0);
  await s.done();
});

/** Clicks a download link and returns what arrived. */
async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: file.suggestedFilename(), bytes: await readFile(await file.path()) };
}

test('the ledger downloads from the league tab as Excel, CSV and GeoJSON, holding what the caller may see', async () => {
  const s = await open(browser, { path: '/?tab=league' });
  const { page } = s;
  await page.locator('#league-table').waitFor();
  await page.locator('#export-xlsx').scrollIntoViewIfNeeded();
  await shot(page, 'league-downloads');
  const visible = (await tasks(anon)).numberMatched;

  const xlsx = await download(page, '#export-xlsx');
  assert.match(xlsx.name, /^台账-\d{8}\.xlsx$/);
  assert.equal(xlsx.bytes.subarray(0, 4).toString('latin1'), 'PK\u0003\u0004', 'a workbook (a zip)');
  const csv = await download(page, '#export-csv');
  assert.equal(csv.name, 'tasks.csv');
  const lines = csv.bytes.toString('utf8').split('\r\n').filter(Boolean);
  assert.ok(lines[0].startsWith('\uFEFFid,code,title'), 'UTF-8 with a BOM, for Excel');
  assert.ok(!lines[0].includes('contact_phone'), 'no contact columns for the public');
  assert.equal(lines.length - 1, visible, 'one row per public task');
  const geojson = await download(page, '#export-geojson');
  const collection = JSON.parse(geojson.bytes.toString('utf8'));
  assert.equal(collection.features.length, visible);
  assert.ok(collection.features.every((f) => f.properties.visibility === 'public' && !('contact_phone' in f.properties)));
  await s.done();

  // Bureau staff download everything, contact details included.
  const b = await open(browser, { user: 'bureau', path: '/?tab=league' });
  await b.page.locator('#league-table').waitFor();
  const all = (await tasks(await apiAs('bureau'))).numberMatched;
  assert.ok(all > visible, 'the demo ledger has internal tasks');
  const staff = (await download(b.page, '#export-csv')).bytes.toString('utf8').split('\r\n').filter(Boolean);
  assert.ok(staff[0].includes('contact_phone'));
  assert.equal(staff.length - 1, all);
  await b.done();
});
