// First load of the public map in headless Chromium: bytes over the wire (as sent, i.e. gzip where
// the service compresses) and the time until the map is drawn and answers input (the page sets
// body[data-ready] and the performance mark `greenledger-ready` once the townships, the tasks in
// view, the league table and the legend are in place). Then the time a zoom in and a pan take to
// show the tasks of the new view: until the map has drawn its last answer for it (the page ticks
// body[data-tasks-drawn] each time it has drawn a view), including the 150 ms the map waits for the
// view to settle.
//
//   node scripts/bench-map.mjs http://127.0.0.1:8080 [runs]

import { createRequire } from 'node:module';

const require = createRequire(new URL('../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const url = process.argv[2] || 'http://127.0.0.1:8080';
const runs = Number(process.argv[3] || 5);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once() {
  // A new context each time: an empty cache, as a first visit.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const requests = [];
  page.on('requestfinished', (r) => requests.push(r));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  const ready = await page.evaluate(() => performance.getEntriesByName('greenledger-ready')[0].startTime);
  let bytes = 0;
  const byType = {};
  for (const r of requests) {
    const s = await r.sizes();
    const n = s.responseBodySize + s.responseHeadersSize;
    bytes += n;
    const kind = r.url().includes('/node_modules/') ? 'libraries' : /\/(api|tiles)\//.test(r.url()) ? 'data' : 'app';
    byType[kind] = (byType[kind] || 0) + n;
  }
  const status = await page.textContent('#map-status');

  const mode = await page.getAttribute('body', 'data-tasks-mode');
  await page.evaluate(() => {
    window.benchTicks = [];
    new MutationObserver(() => window.benchTicks.push(performance.now()))
      .observe(document.body, { attributes: true, attributeFilter: ['data-tasks-drawn'] });
  });
  // A zoom in and a pan: from the input to the last drawing of the new view, 0 when the view needed
  // nothing from the service. A view drawn has nothing left to do once 1.5 s pass without a new drawing.
  let asked = 0;
  page.on('request', (r) => { if (/\/(api\/tasks|tiles)\//.test(r.url()) || r.url().includes('/api/tasks?')) asked += 1; });
  const after = async (act) => {
    const t0 = await page.evaluate(() => performance.now());
    const asked0 = asked;
    await act();
    let seen = -1;
    for (;;) {
      await page.waitForTimeout(1500);
      const n = await page.evaluate((t) => window.benchTicks.filter((x) => x > t).length, t0);
      if (n === seen) break;
      seen = n;
    }
    if (asked === asked0) return 0;
    return page.evaluate((t) => Math.round((window.benchTicks.filter((x) => x > t).pop() ?? t) - t), t0);
  };
  const zoom = await after(() => page.click('.leaflet-control-zoom-in'));
  const zoomStatus = await page.textContent('#map-status');
  const pan = await after(async () => {
    await page.focus('#map');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
  });
  await context.close();
  return { ready, bytes, byType, requests: requests.length, status, mode, zoomStatus, pan, zoom };
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
await browser.close();

const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
const r0 = results[0];
console.log(JSON.stringify({
  url,
  runs,
  first_load_transfer: kb(median(results.map((r) => r.bytes))),
  by_kind: Object.fromEntries(Object.entries(r0.byType).map(([k, v]) => [k, kb(v)])),
  requests: r0.requests,
  ready_ms_median: Math.round(median(results.map((r) => r.ready))),
  ready_ms_all: results.map((r) => Math.round(r.ready)),
  map_status: r0.status,
  drawn_as: r0.mode,
  after_zoom_in: r0.zoomStatus,
  zoom_in_ms_median: median(results.map((r) => r.zoom)),
  pan_ms_median: median(results.map((r) => r.pan)),
}, null, 2));
