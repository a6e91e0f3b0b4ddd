// What a phone and a keyboard ask of the map: a way past the map's features, a search that takes
// the reader to its single match, panels that leave the map usable from 768 px, a legend of the
// task symbols big enough to read, "My tasks" first for an officer with the map on its township,
// the confirmation of a report where the eye is, and no technical fields for the public.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, openByCode, shot, tasks, apiAs, PHONE, sitePhoto } from './helpers.mjs';

let browser;
let anon;
before(async () => { [browser, anon] = await Promise.all([launch(), apiAs(null)]); });
after(() => browser?.close());

/** The map's centre and zoom as the URL holds them. */
const view = (page) => page.evaluate(() => {
  const p = new URLSearchParams(location.search);
  const [lat, lng] = (p.get('c') || '').split(',').map(Number);
  return { z: Number(p.get('z')), lat, lng };
});

const bboxOf = (geometry) => {
  const pts = JSON.stringify(geometry.coordinates).match(/-?\d+(\.\d+)?,-?\d+(\.\d+)?/g).map((s) => s.split(',').map(Number));
  return [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))];
};

test('a keyboard user gets past the map\'s features in a few key presses', async () => {
  const s = await open(browser);
  const { page } = s;
  await page.focus('#search-input');
  let presses = 0;
  for (; presses < 12; presses++) {
    const where = await page.evaluate(() => ({
      inSidebar: Boolean(document.activeElement.closest('#sidebar')),
      skip: document.activeElement.matches('a.skip-map'),
    }));
    if (where.inSidebar) break;
    await page.keyboard.press(where.skip ? 'Enter' : 'Tab');
    if (where.skip) {
      presses += 1;
      await page.keyboard.press('Tab');
    }
  }
  assert.ok(presses < 12, `in the side bar after ${presses} presses`);
  await s.done();
});

test('a search with a single match zooms to it and opens it, even when it lies outside the view', async () => {
  const list = (await tasks(anon)).features.filter((f) => f.geometry);
  const target = list[list.length - 1];
  const [w, so, e, n] = bboxOf(target.geometry);
  // Start zoomed in somewhere else in the county.
  const far = list.find((f) => Math.abs(bboxOf(f.geometry)[0] - w) > 0.1);
  const [fw, fs] = bboxOf(far.geometry);
  const s = await open(browser, { path: `/?z=16&c=${fs},${fw}` });
  const { page } = s;
  await page.fill('#search-input', target.properties.code);
  await page.press('#search-input', 'Enter');
  await page.locator('#detail-title', { hasText: target.properties.code }).waitFor();
  await page.waitForFunction(([lat, lng]) => {
    const p = new URLSearchParams(location.search);
    const [clat, clng] = (p.get('c') || '').split(',').map(Number);
    return Math.abs(clat - lat) < 0.02 && Math.abs(clng - lng) < 0.02;
  }, [(so + n) / 2, (w + e) / 2]);
  assert.ok((await view(page)).z >= 13, 'zoomed in on it');
  await page.waitForFunction(() => /[1-9]/.test(document.querySelector('#map-status')?.textContent || ''));
  await s.done();
});

for (const width of [768, 820]) {
  test(`at ${width} px an open task leaves most of the map usable`, async () => {
    const task = (await tasks(anon, { status: 'in_progress' })).features[0];
    const s = await open(browser, { device: { viewport: { width, height: 800 } } });
    const { page } = s;
    await openByCode(page, task.properties.code);
    const free = await page.evaluate(() => {
      const map = document.querySelector('#map').getBoundingClientRect();
      const panel = document.querySelector('#detail').getBoundingClientRect();
      return Math.min(map.right, panel.left) - map.left;
    });
    assert.ok(free >= 0.5 * width - 40, `${free} px of map left beside the panel`);
    await shot(page, `panel-at-${width}`);
    await s.done();
  });
}

test('the public panel has no technical version field; the legend explains the task symbols at 12 px or more', async () => {
  const task = (await tasks(anon, { status: 'in_progress' })).features[0];
  const s = await open(browser, { device: PHONE });
  const { page } = s;
  await openByCode(page, task.properties.code);
  assert.ok(!(await page.textContent('#task-fields')).includes('版本'), 'no 版本 for the public');
  await page.click('.panel-close');
  const symbols = page.locator('#legend-symbols');
  if (!(await symbols.evaluate((d) => d.open))) await page.click('#legend-symbols summary');
  const text = await symbols.textContent();
  for (const words of ['未开始', '进行中', '已完成', '督办', '逾期']) assert.ok(text.includes(words), `the legend names ${words}`);
  const sizes = await page.$$eval('#legend, #legend *', (els) => els.filter((e) => e.textContent.trim() && e.getClientRects().length)
    .map((e) => parseFloat(getComputedStyle(e).fontSize)));
  assert.ok(Math.min(...sizes) >= 12, `legend text at least 12 px (smallest ${Math.min(...sizes)})`);
  await shot(page, 'phone-legend');
  await s.done();
});

test('a township officer logging in on a phone sees My tasks first, the map on the township, and the confirmation of a report', async () => {
  const township = '330599401';
  const boundary = (await anon.get('/api/townships')).body.features.find((f) => f.properties.code === township);
  const s = await open(browser, { device: PHONE });
  const { page } = s;
  await page.click('#login-open');
  await page.fill('#login-username', `township-${township}`);
  await page.fill('#login-password', process.env.GREENLEDGER_DEMO_PASSWORD || 'greenledger-demo');
  await page.press('#login-password', 'Enter');
  await page.locator('#mine-list').waitFor();
  const top = await page.$eval('#tab-mine', (el) => el.getBoundingClientRect().top);
  assert.ok(top < 740 / 2, `My tasks starts in the upper half of the screen (at ${top} px)`);
  const [w, so, e, n] = bboxOf(boundary.geometry);
  await page.waitForFunction(([w_, s_, e_, n_]) => {
    const p = new URLSearchParams(location.search);
    const [lat, lng] = (p.get('c') || '').split(',').map(Number);
    return lat > s_ && lat < n_ && lng > w_ && lng < e_ && Number(p.get('z')) >= 11;
  }, [w, so, e, n]);

  await page.locator('#mine-list .mine-report').first().click();
  await page.locator('#report-form').waitFor();
  await page.fill('#r-note', '巡查正常');
  await page.setInputFiles('#r-photo', { name: 'site.png', mimeType: 'image/png', buffer: sitePhoto() });
  await page.click('#r-submit');
  const msg = page.locator('#task-message', { hasText: /^已上报 [A-Z]{2}-\d{4}-\d{4} / });
  await msg.waitFor();
  await page.waitForTimeout(400);
  const seen = await page.evaluate(() => {
    const m = document.querySelector('#task-message').getBoundingClientRect();
    const head = document.querySelector('#detail .panel-head').getBoundingClientRect();
    return { top: m.top, bottom: m.bottom, headBottom: head.bottom, height: innerHeight };
  });
  assert.ok(seen.top >= seen.headBottom - 1 && seen.bottom <= seen.height, `the confirmation is in full view: ${JSON.stringify(seen)}`);
  await shot(page, 'phone-report-confirmed');
  await s.done();
});
