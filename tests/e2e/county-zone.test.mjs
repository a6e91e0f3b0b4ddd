// The county's time zone comes from the service (GET /api/config), not from the reader's device
// nor from the page's code: scripts/e2e.sh serves the demo ledger a second time as a county in
// another zone (GREENLEDGER_E2E_ZONE), to a browser set to Asia/Shanghai.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open } from './helpers.mjs';

const ZONED = process.env.GREENLEDGER_E2E_ZONED_URL;
const ZONE = process.env.GREENLEDGER_E2E_ZONE;
const skip = ZONED && ZONE ? false : 'GREENLEDGER_E2E_ZONED_URL and GREENLEDGER_E2E_ZONE are not set (scripts/e2e.sh sets them)';

let browser;
before(async () => {
  if (!skip) browser = await launch();
});
after(() => browser?.close());

test('a task\'s history shows its times in the county\'s zone, not the device\'s', { skip }, async () => {
  const config = await (await fetch(`${ZONED}/api/config`)).json();
  assert.equal(config.timezone, ZONE, 'the service names the zone it was given');
  const fc = await (await fetch(`${ZONED}/api/tasks?limit=1`)).json();
  const id = fc.features[0].id;

  const s = await open(browser, { base: ZONED, path: `/?task=${id}` });
  const { page } = s;
  const time = page.locator('#task-history time').first();
  await time.waitFor();
  const at = await time.getAttribute('datetime');
  // The same instant written by the browser's own Intl in each zone: the two must differ for this
  // test to mean anything, and the page must show the county's.
  const [county, device] = await page.evaluate(([iso, zone]) => [zone, 'Asia/Shanghai'].map((timeZone) =>
    new Intl.DateTimeFormat('zh-CN', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(iso))), [at, ZONE]);
  assert.notEqual(county, device, `${at} reads the same in ${ZONE} and Asia/Shanghai`);
  assert.equal((await time.textContent()).trim(), county);
  await s.done();
});
