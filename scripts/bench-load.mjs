// First useful map on a good and a bad link, cold and warm, for two services side by side (a
// baseline and a candidate, e.g. the map before and after a change), in headless Chromium with the
// browser's own network throttling (CDP Network.emulateNetworkConditions):
//
//   desktop   no throttling, 1280×800
//   4G        60 ms round trip, 9 Mbps down, 1.5 Mbps up, a 360×740 phone
//   Fast 3G   150 ms round trip, 1.6 Mbps down, 750 kbps up, a 360×740 phone
//
// cold: a new browser context (empty HTTP cache, no service worker); warm: the same context opened
// again after the first visit (and after its service worker, if any, took control), as an officer
// opening the app a second time. The time is from navigation start to the page's
// `greenledger-ready` mark: township boundaries shaded, the tasks in view drawn, the league table
// filled, the controls answering. Runs alternate between the two services so that the machine's
// load falls on both alike; the figures are medians and the ratio candidate / baseline.
//
//   node scripts/bench-load.mjs BASELINE_URL CANDIDATE_URL [runs]

import { createRequire } from 'node:module';

const require = createRequire(new URL('../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [baseline, candidate] = [process.argv[2], process.argv[3]];
if (!baseline || !candidate) {
  console.error('usage: node scripts/bench-load.mjs BASELINE_URL CANDIDATE_URL [runs]');
  process.exit(2);
}
const runs = Number(process.argv[4] || 5);

const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const PROFILES = [
  { name: 'desktop', device: { viewport: { width: 1280, height: 800 } }, net: null },
  { name: '4G', device: PHONE, net: { latency: 60, downloadThroughput: 9e6 / 8, uploadThroughput: 1.5e6 / 8 } },
  { name: 'Fast 3G', device: PHONE, net: { latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 } },
];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One page load in `context`, throttled as `net`: ms to the ready mark, requests and bytes. */
async function load(context, url, net) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  if (net) await cdp.send('Network.emulateNetworkConditions', { offline: false, ...net });
  let requests = 0;
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  cdp.on('Network.responseReceived', (e) => {
    // Answers the service worker or the memory cache gave cost nothing on the wire.
    if (!e.response.fromServiceWorker && !e.response.fromDiskCache && !e.response.fromPrefetchCache) requests += 1;
  });
  await page.goto(url, { timeout: 120000 });
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120000 });
  const ms = await page.evaluate(() => performance.getEntriesByName('greenledger-ready')[0].startTime);
  const controlled = await page.evaluate(() => Boolean(navigator.serviceWorker?.controller));
  return { page, ms, requests, bytes, controlled };
}

/** A cold load then a warm one, in a new context. */
async function coldAndWarm(url, profile) {
  const context = await browser.newContext(profile.device);
  const cold = await load(context, url, profile.net);
  // Let a service worker finish installing (it fetches the shell) before the second visit, as it
  // would while the officer reads the first page.
  await cold.page.evaluate(async () => {
    if (!navigator.serviceWorker) return;
    const reg = await navigator.serviceWorker.getRegistration();
    if (reg) await navigator.serviceWorker.ready;
  });
  await cold.page.close();
  const warm = await load(context, url, profile.net);
  await context.close();
  return { cold, warm };
}

const rows = [];
for (const profile of PROFILES) {
  const seen = { [baseline]: [], [candidate]: [] };
  for (let i = 0; i < runs; i++) {
    for (const url of i % 2 ? [candidate, baseline] : [baseline, candidate]) seen[url].push(await coldAndWarm(url, profile));
  }
  const sum = (url, kind) => {
    const xs = seen[url].map((r) => r[kind]);
    return { ms: Math.round(median(xs.map((x) => x.ms))), requests: median(xs.map((x) => x.requests)),
      kb: Math.round(median(xs.map((x) => x.bytes)) / 1024), controlled: xs.every((x) => x.controlled) };
  };
  for (const kind of ['cold', 'warm']) {
    const b = sum(baseline, kind);
    const c = sum(candidate, kind);
    rows.push({ profile: profile.name, kind, baseline: b, candidate: c, ratio: (c.ms / b.ms).toFixed(2) });
  }
}
await browser.close();

const load1 = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`bench-load: ${runs} runs each, medians; machine load ${load1}`);
console.log(`baseline ${baseline}, candidate ${candidate}\n`);
console.log('| link | visit | baseline: ready / requests / transfer | candidate: ready / requests / transfer | candidate ÷ baseline |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) {
  const f = (x) => `${x.ms} ms / ${x.requests} / ${x.kb} KB${x.controlled ? ' (service worker)' : ''}`;
  console.log(`| ${r.profile} | ${r.kind} | ${f(r.baseline)} | ${f(r.candidate)} | ${r.ratio} |`);
}
