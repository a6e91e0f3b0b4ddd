// Campaigns, targets and assessment in the browser: the bureau makes a campaign, sets a target
// (a refusal shown beside its field first) and a scoring scheme, and freezes the year's result;
// the league table shows each township's completion against its targets as the service counts
// it, the township's "My tasks" shows its own targets, and the public sees the frozen ranking.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, shot, apiAs, tasks, leagueRows, pct } from './helpers.mjs';

let browser;
let bureau;
before(async () => {
  browser = await launch();
  bureau = await apiAs('bureau');
});
after(() => browser?.close());

let TOWNSHIP;
let FAMILY;
const code = `e2e-${Date.now() % 1e8}`;
const year = Number(new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date()).slice(0, 4));

/** The demo's township and family with the most tasks due this year: the campaign's, for the
 * target to count. */
async function joinTasks() {
  const fc = await tasks(bureau);
  const due = fc.features.filter((f) => f.properties.due_date?.startsWith(String(year)) && f.properties.status !== 'cancelled');
  const groups = new Map();
  for (const f of due) {
    const key = `${f.properties.township}/${f.properties.category}`;
    groups.set(key, [...(groups.get(key) || []), f]);
  }
  const [key, mine] = [...groups.entries()].sort((a, b) => b[1].length - a[1].length)[0] || [];
  assert.ok(mine?.length > 0, `the demo has tasks due in ${year}`);
  [TOWNSHIP, FAMILY] = key.split('/');
  const r = await bureau.call('POST', `/api/campaigns/${code}/tasks`, { json: { join: mine.map((f) => f.properties.code) } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return mine;
}

test('the bureau sets a target and a scheme and freezes the result; league, "My tasks" and the public follow', async () => {
  const s = await open(browser, { user: 'bureau', allow: [/status of 422/] });
  const { page } = s;
  await page.click('#campaigns-open');
  await page.locator('#campaign-list').waitFor({ state: 'attached' });
  await page.locator('details summary', { hasText: '新建活动' }).click();
  await page.fill('#campaign-new-code', code);
  await page.fill('#campaign-new-name_zh', '生态环境攻坚三年行动');
  await page.fill('#campaign-new-name_en', 'Three-year drive');
  await page.fill('#campaign-new-first_year', String(year));
  await page.fill('#campaign-new-last_year', String(year + 2));
  await page.click('#campaign-new-submit');
  await page.locator(`#campaign-list li[data-code="${code}"]`).waitFor();
  const joined = await joinTasks();

  // A quantity without its unit is refused beside the unit; nothing is set.
  await page.locator('#target-new-township').waitFor();
  await page.selectOption('#target-new-township', TOWNSHIP);
  await page.selectOption('#target-new-category', FAMILY);
  await page.fill('#target-new-quantity', '5');
  await page.click('#target-new-submit');
  await page.locator('#target-new-e-unit:not(:empty)').waitFor();
  await page.fill('#target-new-quantity', '');
  await page.fill('#target-new-task_count', String(joined.length + 1));
  await page.click('#target-new-submit');
  const row = page.locator(`#campaign-targets tr[data-township="${TOWNSHIP}"][data-category="${FAMILY}"]`);
  await row.waitFor();
  const progress = await bureau.get(`/api/campaigns/${code}/targets?year=${year}&township=${TOWNSHIP}`);
  const target = progress.body.targets[0];
  assert.equal(target.task_count, joined.length + 1);
  assert.equal(await row.locator('td[data-col=rate]').textContent(), pct(target.rate));

  // The scheme: verified rate alone, and a penalty for overdue tasks.
  for (const n of ['target_completion', 'on_time_rate']) await page.fill(`#scheme-form input[name="${n}.weight"]`, '');
  await page.fill('#scheme-form input[name="verified_rate.weight"]', '100');
  for (const n of ['supervised', 'returned', 'stale']) {
    await page.fill(`#scheme-form input[name="${n}.per_task"]`, '');
    await page.fill(`#scheme-form input[name="${n}.cap"]`, '');
  }
  await page.fill('#scheme-form input[name="overdue.per_task"]', '3');
  await page.fill('#scheme-form input[name="overdue.cap"]', '9');
  await page.click('#scheme-save');
  await page.locator('#scheme-status', { hasText: 'bureau' }).waitFor();
  const scheme = (await bureau.get(`/api/campaigns/${code}/years/${year}/scheme`)).body;
  assert.deepEqual(scheme.indicators, [{ indicator: 'verified_rate', weight: 100 }, { indicator: 'overdue', per_task: 3, cap: 9 }]);

  await page.fill('#freeze-reason', `${year} 年度考核定稿`);
  await page.click('#freeze-submit');
  await page.locator('#freeze-versions li', { hasText: '定稿' }).waitFor();
  await shot(page, 'campaigns-bureau');
  await s.done();

  // The public: the league's completion against target, and the frozen ranking.
  const p = await open(browser, { path: '/?tab=league' });
  await p.page.locator('#league-table thead button[data-key=against_target]').waitFor();
  const rows = await leagueRows(p.page);
  const anon = await apiAs(null);
  const seen = (await anon.get(`/api/campaigns/${code}/targets?year=${year}`)).body;
  assert.equal(seen.coverage, 'public');
  const publicRate = seen.townships.find((r) => r.township === TOWNSHIP).rate;
  assert.equal(rows.find((r) => r.code === TOWNSHIP).against_target, pct(publicRate));
  assert.equal(rows.find((r) => r.code !== TOWNSHIP).against_target, '—', 'a township without targets has none');
  const frozen = (await anon.get(`/api/campaigns/${code}/years/${year}/assessment`)).body;
  assert.equal(frozen.version, 1);
  await p.page.locator('#ranking-townships').waitFor();
  const shown = await p.page.$$eval('#ranking-townships tbody tr', (trs) => trs.map((tr) => ({
    code: tr.dataset.code, rank: tr.querySelector('[data-col=rank]').textContent, score: tr.querySelector('[data-col=score]').textContent })));
  for (const u of frozen.townships) {
    const r = shown.find((x) => x.code === u.code);
    assert.equal(r.score, u.score === null ? '—' : u.score.toFixed(2), u.name);
    if (u.rank !== null) assert.equal(r.rank, String(u.rank), u.name);
  }
  assert.match(await p.page.textContent('#ranking-version'), /第 1 版/);
  await shot(p.page, 'campaigns-public-ranking');
  await p.done();

  // The township's own targets in "My tasks".
  const o = await open(browser, { user: `township-${TOWNSHIP}` });
  await o.page.locator(`#mine-targets li[data-category=${FAMILY}]`).waitFor();
  const own = progress.body.townships.find((r) => r.township === TOWNSHIP).rate;
  assert.ok((await o.page.textContent('#mine-target-rate')).includes(pct(own)));
  await o.done();
});
