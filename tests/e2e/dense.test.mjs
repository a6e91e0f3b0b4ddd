// A ledger too large to draw task by task (the demo county plus synthetic tasks, served apart from
// the other tests' by scripts/e2e.sh): the map counts tasks from the vector tiles, draws single
// tasks from them closer in, the full features close up, and lists by pages what tiles cannot count.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shot } from './helpers.mjs';

const DENSE = process.env.GREENLEDGER_E2E_DENSE_URL;
const skip = DENSE ? false : 'GREENLEDGER_E2E_DENSE_URL is not set (scripts/e2e.sh sets it)';
// The whole county in view, at a zoom where its tiles hold clusters.
const COUNTY = '/?z=10&c=30.85,119.95';

let browser;
before(async () => {
  if (!skip) browser = await launch();
});
after(() => browser?.close());

async function count(params = {}) {
  const q = new URLSearchParams({ limit: '1', ...params });
  const res = await fetch(`${DENSE}/api/tasks?${q}`);
  assert.equal(res.status, 200);
  return (await res.json()).numberMatched;
}

/** A page on the dense ledger that records JavaScript errors and every page of features it asks for. */
async function openDense(path) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, baseURL: DENSE, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  const errors = [];
  const pages = []; // {url, matched, returned}
  const tiles = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401 .* @ .*\/api\/me$/.test(`${m.text()} @ ${m.location()?.url}`)) errors.push(`console: ${m.text()}`);
  });
  page.on('response', async (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/tiles/tasks/')) tiles.push(url.pathname);
    if (url.pathname === '/api/tasks' && url.searchParams.has('bbox') && r.ok()) {
      const fc = await r.json().catch(() => null);
      if (fc) pages.push({ url: url.search, matched: fc.numberMatched, returned: fc.numberReturned });
    }
  });
  await page.goto(path);
  await page.waitForSelector('body[data-ready="true"]');
  return {
    page, pages, tiles,
    async done() {
      await context.close();
      assert.deepEqual(errors, [], 'no JavaScript errors in the page');
    },
  };
}

const status = (page) => page.textContent('#map-status');
const number = (s) => Number(s.match(/\d+/)[0]);
const mode = (page) => page.getAttribute('body', 'data-tasks-mode');
/** What the bubbles and single markers drawn from tiles add up to. */
const drawnTotal = (page) => page.evaluate(() => [...document.querySelectorAll('.bubble')]
  .reduce((s, b) => s + Number(b.dataset.count), 0) + document.querySelectorAll('.task-marker').length);
/** Waits for the map to finish the view a click or a key asked for. */
async function settled(page, before) {
  await page.waitForFunction((n) => Number(document.body.dataset.tasksDrawn) > n, before);
}
const drawn = (page) => page.evaluate(() => Number(document.body.dataset.tasksDrawn));

test('at county zoom the tasks are counts from the vector tiles that add up to every task, and no page of features is asked for', { skip }, async () => {
  const s = await openDense(COUNTY);
  const { page } = s;
  const all = await count();
  assert.ok(all > 10000, `the dense ledger has ${all} public tasks`);

  assert.equal(await mode(page), 'tiles');
  assert.ok(await page.locator('.bubble').count() > 5, 'bubbles are drawn');
  assert.equal(await drawnTotal(page), all, 'the bubbles add up to every public task');
  assert.equal(number(await status(page)), all);
  assert.doesNotMatch(await status(page), /约/, 'an exact count');
  assert.ok(s.tiles.length > 0, 'tiles were read');
  assert.deepEqual(s.pages, [], 'no page of features was asked for');
  await shot(page, 'dense-county');

  // Family and status filters are counted from the same tiles.
  let before = await drawn(page);
  await page.check('input[name=category][value=watershed]');
  await settled(page, before);
  const watershed = await count({ category: 'watershed' });
  assert.equal(await drawnTotal(page), watershed);
  assert.equal(number(await status(page)), watershed);
  before = await drawn(page);
  await page.check('input[name=status][value=planned]');
  await settled(page, before);
  const planned = await count({ category: 'watershed', status: 'planned' });
  assert.equal(await drawnTotal(page), planned);
  assert.equal(number(await status(page)), planned);
  assert.equal(await mode(page), 'tiles');
  assert.deepEqual(s.pages, [], 'still no page of features');
  await s.done();
});

test('a bubble zooms in; closer, single tasks from the tiles open their panel; close up the full features are drawn', { skip }, async () => {
  const s = await openDense(COUNTY);
  const { page } = s;
  // The biggest bubble: a click zooms in around it.
  const counts = await page.$$eval('.bubble', (bs) => bs.map((b) => Number(b.dataset.count)));
  const biggest = counts.indexOf(Math.max(...counts));
  let before = await drawn(page);
  await page.locator('.task-bubble').nth(biggest).click();
  await page.waitForURL((u) => Number(u.searchParams.get('z')) === 12);
  await settled(page, before);

  // Zoom in step by step until single tasks show among the counts.
  let z = 12;
  while ((await mode(page)) === 'tiles' && (await page.locator('.task-marker').count()) === 0) {
    assert.ok(z < 16, 'single tasks show before zoom 16');
    before = await drawn(page);
    await page.click('.leaflet-control-zoom-in');
    z += 1;
    await page.waitForURL((u) => Number(u.searchParams.get('z')) === z);
    await settled(page, before);
  }
  assert.equal(await mode(page), 'tiles', 'single tasks come from the tiles while the view is still crowded');
  assert.equal(await drawnTotal(page) >= number(await status(page)), true);
  await shot(page, 'dense-single-tasks');
  const pin = page.locator('.task-marker .pin').first();
  const code = await pin.getAttribute('data-code');
  // By keyboard: markers of neighbouring squares may overlap, and Enter opens a marker as a click does.
  await page.locator('.task-marker').first().focus();
  await page.keyboard.press('Enter');
  await page.locator('#detail-title', { hasText: code }).waitFor();
  assert.ok((await page.textContent('#task-title')).trim().length > 0, 'the panel shows the task');
  await page.waitForURL(/task=[0-9a-f-]{36}/);
  assert.deepEqual(s.pages, [], 'no page of features while the view was crowded');

  // Closer still, the view holds few enough tasks for the full features: lines and areas as such.
  while ((await mode(page)) !== 'features') {
    assert.ok(z < 18, 'the full features show before the last zoom');
    before = await drawn(page);
    await page.click('.leaflet-control-zoom-in');
    z += 1;
    await page.waitForURL((u) => Number(u.searchParams.get('z')) === z);
    await settled(page, before);
  }
  await page.locator('path.task-shape').first().waitFor({ state: 'attached' });
  const inView = number(await status(page));
  assert.ok(inView > 0 && inView <= 1000, `${inView} tasks in view`);
  assert.ok(s.pages.length >= 1);
  for (const p of s.pages) {
    assert.ok(p.returned <= 2000 && p.matched === p.returned, `a whole, small page: ${JSON.stringify(p)}`);
  }
  await s.done();
});

test('filters the tiles cannot count are listed page by page with a note, and the next page adds to the map', { skip }, async () => {
  const s = await openDense(COUNTY);
  const { page } = s;
  const overdue = await count({ overdue: 'true' });
  assert.ok(overdue > 2000, `${overdue} overdue tasks, more than one page`);
  let before = await drawn(page);
  await page.check('input[name=overdue]');
  await settled(page, before);
  assert.equal(await mode(page), 'pages');
  let text = await status(page);
  assert.match(text, /逾期/);
  assert.match(text, new RegExp(`显示 2000 个，视野内共 ${overdue} 个`));
  assert.ok(await page.locator('#map-status.warn').isVisible(), 'the note stands out');
  before = await drawn(page);
  await page.click('#map-more');
  await settled(page, before);
  text = await status(page);
  assert.match(text, new RegExp(`显示 ${Math.min(4000, overdue)} 个`));
  await shot(page, 'dense-overdue-pages');

  // A township's tasks fit one page: all drawn, counted exactly, no warning.
  before = await drawn(page);
  await page.uncheck('input[name=overdue]');
  await settled(page, before);
  const township = await page.$eval('select[name=township] option:nth-child(2)', (o) => o.value);
  before = await drawn(page);
  await page.selectOption('select[name=township]', township);
  await settled(page, before);
  assert.equal(await mode(page), 'pages');
  assert.equal(number(await status(page)), await count({ township }));
  assert.equal(await page.locator('#map-status.warn').count(), 0, 'nothing to warn about');

  // In English, the note names the filter.
  await page.click('#lang-switch');
  await page.selectOption('select[name=township]', '');
  await page.fill('#search-input', 'WS-2026');
  await page.press('#search-input', 'Enter');
  await page.locator('#map-status', { hasText: 'Tasks filtered by search cannot be counted by area' }).waitFor();
  assert.equal(await mode(page), 'pages');
  await s.done();
});
