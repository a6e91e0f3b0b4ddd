// Every form's refusals in the reader's language: the bureau's task form, a township's report, the
// login form and the change-password form are sent bad input in Chinese and in English, and every
// message they show is collected. In Chinese no Latin letter may appear outside the data the
// message quotes (what was typed, a task code, a username); in English no Chinese one.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, shot, apiAs, tasks, openByCode, BASE, PHONE, PNG } from './helpers.mjs';

let browser;
let bureau;
let admin;
before(async () => {
  browser = await launch();
  bureau = await apiAs('bureau');
  admin = await apiAs('admin');
});
after(() => browser?.close());

const LANGS = ['zh', 'en'];
const REFUSED = [/status of 4\d\d/];
const HAN = /[\u4e00-\u9fff]/;

/** The messages gathered in one language, with the data they may quote. */
class Seen {
  constructor(lang) {
    this.lang = lang;
    this.messages = [];
    this.data = [];
  }

  /** Texts of the elements matching `selector` that show something. */
  async collect(page, selector, where) {
    const texts = await page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()).filter(Boolean));
    assert.ok(texts.length, `${where}: a message is shown (${selector})`);
    for (const text of texts) this.messages.push({ where, text });
    return texts.join(' | ');
  }

  /** Fails on any message in the other script than the page's language, outside the data. */
  check() {
    const wrong = [];
    for (const { where, text } of this.messages) {
      let left = text;
      for (const d of [...this.data].sort((a, b) => b.length - a.length)) left = left.split(d).join('');
      const bad = this.lang === 'zh' ? /[A-Za-z]/.test(left) : HAN.test(left);
      if (bad) wrong.push(`${where}: ${text}`);
      if (this.lang === 'zh') assert.ok(HAN.test(text), `${where}: Chinese, not only figures: ${text}`);
    }
    assert.deepEqual(wrong, [], `messages in ${this.lang} hold words of the other language`);
    assert.ok(this.messages.length >= 10, `${this.messages.length} messages seen`);
  }
}

/** Clicks `submit` and waits for the service's answer to `path` with `status`. */
async function refusedBy(page, submit, path, status) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname.endsWith(path) && r.request().method() !== 'GET'),
    page.click(submit),
  ]);
  assert.equal(res.status(), status, `${path}: ${await res.text()}`);
  assert.equal(res.headers()['content-language'], seenLang(page) === 'en' ? 'en' : 'zh-CN', 'the service wrote the page\'s language');
}

const langOf = new WeakMap();
const seenLang = (page) => langOf.get(page);

/** A page in `lang` (the language switch remembers the choice; `?lang=` sets it). */
async function opened(lang, options) {
  const sep = (options.path || '/').includes('?') ? '&' : '?';
  const s = await open(browser, { ...options, path: options.path === null ? null : `${options.path || '/'}${sep}lang=${lang}`,
    allow: REFUSED });
  langOf.set(s.page, lang);
  return s;
}

async function bureauTaskForm(lang, seen) {
  const task = (await tasks(bureau, { status: 'in_progress', category: 'village' })).features
    .find((f) => f.properties.target_unit && f.properties.target_quantity !== null);
  assert.ok(task, 'an open task with a target');
  const code = task.properties.code;
  seen.data.push(code, 'call me', '12.345');
  const s = await opened(lang, { user: 'bureau' });
  const { page } = s;
  // Leaflet's own words on the map are the reader's too.
  assert.equal(await page.getAttribute('.leaflet-control-zoom-in', 'title'), lang === 'zh' ? '放大' : 'Zoom in');
  assert.equal(await page.getAttribute('.leaflet-control-zoom-out', 'aria-label'), lang === 'zh' ? '缩小' : 'Zoom out');
  await openByCode(page, code);
  await page.click('#task-edit');
  await page.locator('#task-form').waitFor();

  await page.fill('#f-title', '');
  await page.fill('#f-contact_phone', 'call me');
  await page.fill('#f-planned_investment', '12.345');
  await refusedBy(page, '#form-save', `/api/tasks/${task.id}`, 422);
  await page.locator('#e-title:not(:empty)').waitFor();
  await seen.collect(page, '#form-error', 'task form');
  const fields = await seen.collect(page, '#task-form .field-error', 'task form fields');
  assert.equal(await page.$$eval('#task-form .field-error:not(:empty)', (e) => e.length), 3, fields);
  await shot(page, `refusals-task-form-${lang}`);

  // A rule across fields: a target quantity needs its unit.
  await page.fill('#f-title', task.properties.title);
  await page.fill('#f-contact_phone', task.properties.contact_phone || '');
  await page.fill('#f-planned_investment', String(task.properties.planned_investment ?? ''));
  await page.fill('#f-target_unit', '');
  await refusedBy(page, '#form-save', `/api/tasks/${task.id}`, 422);
  await page.locator('#e-target_unit:not(:empty)').waitFor();
  await seen.collect(page, '#task-form .field-error', 'task form, target');
  const now = (await bureau.get(`/api/tasks/${task.id}`)).body.properties;
  assert.equal(now.version, task.properties.version, 'nothing refused was stored');
  await s.done();
}

async function townshipReport(lang, seen) {
  const township = '330599003';
  const task = (await tasks(bureau, { township, status: 'in_progress' })).features
    .find((f) => f.properties.progress >= 10);
  assert.ok(task, `township ${township} has work under way`);
  seen.data.push(task.properties.code, 'photo-1.png');
  const s = await opened(lang, { user: `township-${township}`, device: PHONE });
  const { page } = s;
  await page.locator(`#mine-list li[data-code="${task.properties.code}"] .mine-report`).click();
  await page.locator('#report-form').waitFor();

  await page.fill('#r-progress', '150');
  await refusedBy(page, '#r-submit', `/api/tasks/${task.id}/reports`, 422);
  await page.locator('#e-progress:not(:empty)').waitFor();
  await seen.collect(page, '#report-error', 'report');
  await seen.collect(page, '#e-progress', 'report progress');

  // Nothing to report.
  await page.fill('#r-progress', '');
  await refusedBy(page, '#r-submit', `/api/tasks/${task.id}/reports`, 422);
  await seen.collect(page, '#report-error', 'empty report');

  // What the page says before sending: too many photos, a lowered progress without a note.
  await page.setInputFiles('#r-photo', Array.from({ length: 7 }, (_, i) => ({ name: `photo-${i}.png`, mimeType: 'image/png', buffer: PNG })));
  await seen.collect(page, '#report-error', 'too many photos');
  await page.setInputFiles('#r-photo', []);
  await page.fill('#r-progress', String(task.properties.progress - 10));
  await page.click('#r-submit');
  await page.locator('#report-error:not(:empty)').waitFor();
  await seen.collect(page, '#report-error', 'lowered without a note');
  await page.fill('#r-note', '返工');
  const asked = new Promise((resolve) => page.once('dialog', async (d) => {
    seen.messages.push({ where: 'confirm lowering', text: d.message() });
    await d.dismiss();
    resolve();
  }));
  await page.click('#r-submit');
  await asked;
  await shot(page, `refusals-report-${lang}`);
  assert.equal((await bureau.get(`/api/tasks/${task.id}`)).body.properties.version, task.properties.version,
    'nothing refused or dismissed was stored');
  await s.done();
}

async function loginForm(lang, seen) {
  const stranger = `nobody-${lang}`;
  seen.data.push(stranger);
  const s = await opened(lang, {});
  const { page } = s;
  await page.click('#login-open');
  await page.fill('#login-username', 'x'.repeat(70));
  await page.fill('#login-password', 'not-the-password');
  await refusedBy(page, '#login-dialog button[type=submit]', '/api/session', 422);
  await page.locator('#login-error:not(:empty)').waitFor();
  await seen.collect(page, '#login-error', 'login, long username');
  await page.fill('#login-username', stranger);
  await refusedBy(page, '#login-dialog button[type=submit]', '/api/session', 401);
  await page.locator('#login-error:not(:empty)').waitFor();
  await seen.collect(page, '#login-error', 'login, wrong password');
  await s.done();
}

async function passwordForm(lang, seen) {
  const username = `temp.${lang}.${Date.now() % 1e8}`;
  const temporary = 'handed over on paper';
  const made = await admin.call('POST', '/api/users', { json: { username, role: 'bureau', password: temporary } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  seen.data.push(username);
  const s = await opened(lang, { path: null });
  const { page } = s;
  const res = await page.request.post(`${BASE}/api/session`, { data: { username, password: temporary }, headers: { Origin: BASE } });
  assert.equal(res.status(), 200);
  await page.goto(`/?lang=${lang}`);
  await page.locator('#password-current').waitFor();
  const attempt = async (current, next, again, status) => {
    await page.fill('#password-current', current);
    await page.fill('#password-new', next);
    await page.fill('#password-again', again);
    if (status) await refusedBy(page, '#password-submit', '/api/me/password', status);
    else await page.click('#password-submit');
    await page.locator('#password-error:not(:empty)').waitFor();
    await seen.collect(page, '#password-error', `password ${next}`);
  };
  await attempt(temporary, 'password123456', 'password123456', 422);
  await attempt(temporary, `${username}-river`, `${username}-river`, 422);
  await attempt(temporary, temporary, temporary, 422);
  await attempt('not what was handed over', 'a password of my own', 'a password of my own', 422);
  await attempt(temporary, 'a password of my own', 'a password of my very own', 0);
  await shot(page, `refusals-password-${lang}`);
  await s.done();
}

for (const lang of LANGS) {
  test(`every form's refusals are worded in ${lang === 'zh' ? 'Chinese' : 'English'} only`, async () => {
    const seen = new Seen(lang);
    await bureauTaskForm(lang, seen);
    await townshipReport(lang, seen);
    await loginForm(lang, seen);
    await passwordForm(lang, seen);
    seen.check();
  });
}
