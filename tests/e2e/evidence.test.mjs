// The bureau reading a report's photos as evidence: where and when each was taken, on what, how far
// from the task, and the flags that should make a verifier look twice, in both languages. The photo
// is made as a phone's camera writes it (Pillow, EXIF with GPS and time), 3 km from its task.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { launch, open, apiAs, tasks, shot, login, gotoReady, BASE, PHONE } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A camera JPEG taken now at `lon`, `lat` (WGS 84), by a HUAWEI Mate 60. */
function cameraPhoto(lon, lat) {
  const script = `
import io, sys, datetime
from PIL import Image
lon, lat = float(sys.argv[1]), float(sys.argv[2])
img = Image.new("RGB", (800, 600), (90, 140, 90))
exif = Image.Exif()
exif[0x010F] = "HUAWEI"
exif[0x0110] = "Mate 60"
now = datetime.datetime.utcnow() + datetime.timedelta(hours=8)
exif[0x8769] = {0x9003: now.strftime("%Y:%m:%d %H:%M:%S")}
def dms(v):
    d = int(v); m = int((v - d) * 60); return (d, m, round(((v - d) * 60 - m) * 60, 4))
exif[0x8825] = {1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
out = io.BytesIO()
img.save(out, "JPEG", exif=exif.tobytes(), quality=85)
sys.stdout.buffer.write(out.getvalue())
`;
  return execFileSync('/usr/bin/python3', ['-c', script, String(lon), String(lat)]);
}

test('the bureau sees where a report photo was taken, how far from its task, and why to doubt it', async () => {
  const township = '330599108';
  const officer = await apiAs(`township-${township}`);
  const task = (await tasks(officer, { township, status: 'planned,in_progress' })).features
    .find((f) => f.geometry.type === 'Point');
  assert.ok(task, 'a point task to report on');
  const [lon, lat] = task.geometry.coordinates;
  // 0.027° of latitude is 3.0 km.
  const sent = await officer.report(task.id, { progress: Math.min(99, task.properties.progress + 1), note: '现场照片（证据测试）' }, [cameraPhoto(lon, lat + 0.027)]);
  assert.equal(sent.status, 201, JSON.stringify(sent.body));

  const { page, done } = await open(browser, { user: 'bureau', path: `/?task=${task.id}` });
  const report = page.locator('#task-reports li', { hasText: '现场照片（证据测试）' });
  const caption = report.locator('figcaption.evidence');
  await caption.waitFor();
  assert.match(await caption.textContent(), /HUAWEI Mate 60/);
  const far = caption.locator('.flag-far');
  assert.match(await far.textContent(), /^拍摄位置距任务 30\d\d 米，超出 500 米$/);
  await caption.scrollIntoViewIfNeeded();
  await shot(page, 'evidence-far-zh');
  // The review queue shows the same doubt on the report's item, before anyone opens the task.
  await page.click('#tab-button-review');
  const item = page.locator(`#tab-review .review-item[data-code="${task.properties.code}"]`).first();
  await item.locator('.evidence-flags .flag-far').waitFor();
  assert.match(await item.locator('.evidence-flags .flag-far').textContent(), /^拍摄位置距任务 30\d\d 米，超出 500 米$/);
  await page.click('#lang-switch');
  await page.locator('#task-reports .flag-far', { hasText: 'beyond 500 m' }).waitFor();
  assert.match(await page.locator('#task-reports li', { hasText: '现场照片（证据测试）' }).locator('.flag-far').textContent(),
    /^taken 30\d\d m from the task, beyond 500 m$/);
  await done();
});

test('a report written on a phone says where the phone was, and the bureau sees it was far from its task', async () => {
  const township = '330599107';
  const officer = await apiAs(`township-${township}`);
  const task = (await tasks(officer, { township, status: 'in_progress' })).features
    .find((f) => f.geometry.type === 'Point' && f.properties.progress < 95);
  assert.ok(task, 'a point task under way');
  const [lon, lat] = task.geometry.coordinates;
  // The officer writes it at the township office, 3 km north of the site, and lets the browser say so.
  const context = await browser.newContext({ ...PHONE, baseURL: BASE, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
    serviceWorkers: 'block', permissions: ['geolocation'], geolocation: { longitude: lon, latitude: lat + 0.027, accuracy: 25 } });
  const page = await context.newPage();
  await login(page, `township-${township}`);
  await gotoReady(page, '/');
  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.locator('#report-form').waitFor();
  await page.fill('#r-progress', String(task.properties.progress + 2));
  await page.fill('#r-note', '在镇政府写的上报');
  await page.click('#r-submit');
  await page.locator('#task-message', { hasText: task.properties.code }).waitFor();
  await context.close();

  const stored = (await officer.get(`/api/tasks/${task.id}/reports`)).body.find((r) => r.note === '在镇政府写的上报');
  assert.ok(Math.abs(stored.sent_from.position[1] - (lat + 0.027)) < 1e-6, JSON.stringify(stored.sent_from));
  assert.equal(stored.sent_from.accuracy_m, 25);
  assert.deepEqual(stored.flags.map((f) => f.flag), ['far'], 'the phone clock is the server\'s: no clock flag');

  const { page: bureau, done } = await open(browser, { user: 'bureau', path: `/?task=${task.id}` });
  const report = bureau.locator('#task-reports li', { hasText: '在镇政府写的上报' });
  await report.locator('.report-evidence').waitFor();
  assert.match(await report.locator('.report-evidence .flag-far').textContent(), /^上报时手机距任务 30\d\d 米，超出 500 米$/);
  await done();
});

test('a township officer reports the site before and the finished work; once verified the public sees them side by side', async () => {
  const township = '330599401';
  const officer = await apiAs(`township-${township}`);
  const task = (await tasks(officer, { township, status: 'in_progress' })).features
    .find((f) => f.properties.visibility === 'public');
  assert.ok(task, 'a public task in progress to finish');
  const { page, done } = await open(browser, { user: `township-${township}`, device: PHONE });
  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.locator('#report-form').waitFor();
  await page.check('input[name=action][value=complete]');
  const [lon, lat] = task.geometry.type === 'Point' ? task.geometry.coordinates : [119.95, 30.85];
  await page.setInputFiles('#r-photo', [
    { name: 'before.jpg', mimeType: 'image/jpeg', buffer: cameraPhoto(lon, lat) },
    // Taken 3 km away: the bureau will have to say why it verifies anyway.
    { name: 'after.jpg', mimeType: 'image/jpeg', buffer: cameraPhoto(lon, lat + 0.027) },
  ]);
  const stages = page.locator('#r-previews select.photo-stage');
  assert.equal(await stages.count(), 2);
  assert.deepEqual(await stages.evaluateAll((s) => s.map((x) => x.value)), ['after', 'after'], 'a completion\'s photos show the finished work');
  await stages.first().selectOption('before');
  await shot(page, 'phone-report-before-after');
  await page.click('#r-submit');
  await page.locator('#task-message', { hasText: task.properties.code }).waitFor();
  await done();

  const bureau = await apiAs('bureau');
  const reports = (await bureau.get(`/api/tasks/${task.id}/reports`)).body;
  assert.deepEqual(reports[0].photos.map((p) => p.stage), ['before', 'after']);

  // The bureau sees the after photo's doubt, and verifies with the reason the history keeps.
  const b = await open(browser, { user: 'bureau', path: `/?task=${task.id}`, allow: [/status of 422/] });
  const after = b.page.locator('#task-reports figure[data-stage="after"]').first();
  await after.locator('.flag-far').waitFor();
  assert.match(await after.locator('figcaption.stage').textContent(), /整改后/);
  await b.page.click('[data-action=verify]');
  await b.page.locator('#transition-reason').waitFor();
  await b.page.fill('#transition-reason', '下游同一工程，已电话核实');
  await b.page.click('#transition-confirm');
  await b.page.locator('#task-status', { hasText: '已销号' }).waitFor();
  await shot(b.page, 'bureau-verify-doubted');
  await b.done();
  const history = (await bureau.get(`/api/tasks/${task.id}/history`)).body;
  assert.equal(history.find((e) => e.action === 'verify').reason, '下游同一工程，已电话核实');

  // The public: the pair, as thumbnails without metadata, each a link to the larger copy.
  const pub = await open(browser, { path: `/?task=${task.id}` });
  const pair = pub.page.locator('#before-after');
  await pair.locator('.ba-after img').waitFor();
  assert.match(await pair.textContent(), /整改前[\s\S]*整改后/);
  const src = await pair.locator('.ba-before img').first().getAttribute('src');
  assert.match(src, /\?size=thumb$/);
  const thumb = await pub.page.evaluate(async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer()).length, src);
  assert.ok(thumb > 0 && thumb < 40_000, `a thumbnail of ${thumb} bytes`);
  await shot(pub.page, 'public-before-after');
  await pub.done();
});
