// Accessibility as machines can check it: axe-core (from web/node_modules, injected into the page)
// finds no violation on the public map, a township officer's and the bureau's (with its review
// queue), in Chinese and in English, with a task open; and on a phone every control a finger aims
// at is at least 44 px each way (zoom, pins, checkbox and radio rows, league links, downloads, tabs,
// the report form, the bureau's review queue).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { launch, open, openByCode, shot, tasks, apiAs, smallTargets, PHONE, DESKTOP } from './helpers.mjs';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
// Evaluated through the browser's debugging protocol, which the page's Content-Security-Policy does
// not govern (a script tag it would refuse, rightly).
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let browser;
let task;
before(async () => {
  browser = await launch();
  task = (await tasks(await apiAs(null), { township: '330599101', status: 'in_progress' })).features[0];
});
after(() => browser?.close());

async function violations(page) {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}

for (const lang of ['zh', 'en']) {
  for (const [who, user] of [['the public', null], ['a township officer', 'township-330599101'], ['the bureau', 'bureau']]) {
    test(`axe finds no violations for ${who} (${lang})`, async () => {
      const s = await open(browser, { device: DESKTOP, user, path: `/?lang=${lang}` });
      const { page } = s;
      assert.deepEqual(await violations(page), [], 'the map');
      await openByCode(page, task.properties.code);
      assert.deepEqual(await violations(page), [], 'with a task open');
      if (user === 'township-330599101') {
        await page.click('#task-report');
        await page.locator('#report-form').waitFor();
        assert.deepEqual(await violations(page), [], 'the report form');
      }
      if (user === 'bureau') {
        await page.click('#tab-button-review');
        await page.locator('#review-awaiting_verification li.review-item').first().waitFor();
        assert.deepEqual(await violations(page), [], 'the review queue');
        await page.locator('#review-awaiting_verification [data-action=verify]').first().click();
        await page.locator('#review-form').waitFor();
        assert.deepEqual(await violations(page), [], 'a verification asking for its reason');
      }
      await s.done();
    });
  }
}

test('on a phone every tap target is at least 44 px: the public map, the league, a task', async () => {
  const s = await open(browser, { device: PHONE });
  const { page } = s;
  assert.deepEqual(await smallTargets(page), [], 'the map and filters');
  await page.click('#tab-button-league');
  await page.locator('#league-table').waitFor();
  assert.deepEqual(await smallTargets(page), [], 'the league and downloads');
  await openByCode(page, task.properties.code);
  assert.deepEqual(await smallTargets(page), [], 'a task');
  await shot(page, 'phone-targets-task');
  await s.done();
});

test('on a phone every tap target is at least 44 px for a township officer: My tasks and the report form', async () => {
  const s = await open(browser, { device: PHONE, user: 'township-330599101' });
  const { page } = s;
  await page.locator('#mine-list').waitFor();
  assert.deepEqual(await smallTargets(page), [], 'My tasks');
  await page.locator('#mine-list .mine-report').first().click();
  await page.locator('#report-form').waitFor();
  assert.deepEqual(await smallTargets(page), [], 'the report form');
  await s.done();
});

test('on a phone every tap target of the bureau\'s review queue is at least 44 px, its forms too', async () => {
  const s = await open(browser, { device: PHONE, user: 'bureau', path: '/?tab=review' });
  const { page } = s;
  await page.locator('#review-awaiting_verification li.review-item').first().waitFor();
  assert.deepEqual(await smallTargets(page), [], 'the review queue');
  await page.locator('#review-awaiting_verification [data-action=return]').first().click();
  await page.locator('#review-form').waitFor();
  assert.deepEqual(await smallTargets(page), [], 'the return form');
  await shot(page, 'phone-review-return');
  await s.done();
});

for (const lang of ['zh', 'en']) {
  test(`axe finds no violations on the administrator's page (${lang}), and on a phone its targets are 44 px`, async () => {
    const s = await open(browser, { device: DESKTOP, user: 'admin', path: `/?lang=${lang}` });
    const { page } = s;
    await page.click('#admin-open');
    await page.locator('#admin-users li').first().waitFor();
    assert.deepEqual(await violations(page), [], 'the accounts');
    await page.click('#admin-tab-families');
    await page.locator('#admin-families li').first().waitFor();
    assert.deepEqual(await violations(page), [], 'the task families');
    await page.locator('#admin-families li button[data-act=edit]').first().click();
    assert.deepEqual(await violations(page), [], 'a family being changed');
    await s.done();

    const p = await open(browser, { device: PHONE, user: 'admin', path: `/?lang=${lang}` });
    await p.page.click('#admin-open');
    await p.page.locator('#admin-users li').first().waitFor();
    // The page is as wide as the phone: nothing (the account corner's buttons) pushes it sideways.
    assert.deepEqual(await p.page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]), [360, 360]);
    assert.deepEqual(await smallTargets(p.page), [], 'the accounts on a phone');
    await p.page.click('#admin-tab-families');
    assert.deepEqual(await smallTargets(p.page), [], 'the families on a phone');
    await p.done();
  });
}
