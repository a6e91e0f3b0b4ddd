// A township officer's report on a task: progress, a note, photos from the phone camera, and
// start/complete. Without a network the report is kept in the outbox and sent later.

import { ApiError, NetworkError } from './api.js';
import { t, lang, statusName } from './i18n.js';
import { h, clear, uuid } from './ui.js';
import * as outbox from './offline.js';
import { compressPhoto } from './photos.js';
import { staleFrom } from './actions.js';

const MAX_PHOTOS = 6;

/** The progress as a number field and a slider kept in step. */
function progressInputs(value) {
  const progress = h('input', { type: 'number', name: 'progress', id: 'r-progress', min: '0', max: '100', step: '1',
    value: String(value), 'aria-describedby': 'e-progress' });
  const slider = h('input', { type: 'range', min: '0', max: '100', step: '5', value: String(value), 'aria-hidden': 'true', tabindex: '-1',
    oninput: () => { progress.value = slider.value; } });
  progress.addEventListener('input', () => { slider.value = progress.value; });
  const set = (v) => { progress.value = v; slider.value = v; };
  return { progress, slider, set };
}

const STAGES = ['before', 'during', 'after'];

/** What a photo shows unless the officer says otherwise: the site before a start, the finished
 * work with a completion, the work under way with any other report (as the service assumes). */
const stageFor = (action) => ({ start: 'before', complete: 'after' }[action] || 'during');

/** The photo field with previews, each with what it shows (整改前 / 整改中 / 整改后); too many
 * photos are told in `error`. `action()` is the report's action as chosen now. */
function photoPicker(error, action) {
  const previews = h('div', { class: 'photos', id: 'r-previews' });
  let choices = [];
  const photoError = h('p', { class: 'field-error', dataset: { for: 'photo' }, id: 'e-photo' });
  // A file the browser cannot show is told at once, before a slow upload the service would refuse.
  const preview = (f) => {
    const img = h('img', { src: URL.createObjectURL(f), alt: f.name });
    img.addEventListener('error', () => {
      img.classList.add('broken');
      photoError.textContent = t('report.notAPicture', { name: f.name });
    }, { once: true });
    const stage = h('select', { class: 'photo-stage', 'aria-label': t('report.stageOf', { name: f.name }),
      onchange: () => { stage.dataset.chosen = 'true'; } },
    STAGES.map((s) => h('option', { value: s, selected: s === stageFor(action()) }, t(`stage.${s}`))));
    choices.push(stage);
    return h('figure', { class: 'photo-choice' }, img, stage);
  };
  const input = h('input', { type: 'file', name: 'photo', id: 'r-photo', accept: 'image/*', capture: 'environment', multiple: true,
    'aria-describedby': 'e-photo',
    onchange: () => {
      photoError.textContent = '';
      choices = [];
      clear(previews, [...input.files].slice(0, MAX_PHOTOS).map(preview));
      error.textContent = input.files.length > MAX_PHOTOS ? t('report.tooManyPhotos', { max: MAX_PHOTOS }) : '';
    } });
  return {
    input, previews, photoError,
    /** What each photo shows, in the order of the files. */
    stages: () => choices.map((c) => c.value),
    /** The report's action changed: photos the officer has not marked follow it. */
    follow: () => choices.filter((c) => !c.dataset.chosen).forEach((c) => { c.value = stageFor(action()); }),
  };
}

/**
 * Sends a report, or keeps it in the outbox when there is no network. Returns the refusal to
 * show, or null when it went (or waits) or the task changed meanwhile (handed to onStale).
 */
async function sendReport(entry, { onSent, onQueued, onStale }) {
  try {
    if (!navigator.onLine) throw new NetworkError(new Error('offline'));
    const r = await outbox.send(entry);
    onSent(r.data, r.etag);
  } catch (err) {
    if (err instanceof NetworkError) {
      await outbox.keep(entry);
      onQueued(entry);
      return null;
    }
    const stale = staleFrom(err);
    if (stale) {
      onStale(stale);
      return null;
    }
    return err;
  }
  return null;
}

/**
 * Where the phone is, if the officer lets the browser say (it asks once; a refusal or no fix
 * within a few seconds sends the report without): longitude, latitude, accuracy in metres.
 * @returns {Promise<{lon: number, lat: number, accuracy: number} | null>}
 */
async function hereNow() {
  if (!navigator.geolocation) return null;
  const asked = await navigator.permissions?.query({ name: 'geolocation' }).catch(() => null);
  if (asked?.state === 'denied') return null;
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 4000, maximumAge: 120000 });
  });
}

/** A refusal above the form and each field's error beside its field. */
function showRefusal(form, error, err) {
  const slot = (e) => form.querySelector(`.field-error[data-for="${String(e.pointer).replace(/^\//, '')}"]`);
  error.textContent = err instanceof ApiError ? err.text((e) => Boolean(slot(e))) : t('error.network');
  for (const e of err.errors || []) {
    const at = slot(e);
    if (at) at.textContent = e.message;
  }
}

/** A labelled field with its error slot. */
const field = (name, label, ...controls) => h('div', { class: 'field' }, h('label', { for: `r-${name}` }, t(label)), ...controls);

/**
 * The report form of a task.
 * @param {object} feature the task
 * @param {string} etag its ETag: the report is refused (412) if the task changed meanwhile
 * @param {object} handlers `onSent()`, `onQueued()` (kept in the outbox for lack of a network)
 *   and `onStale(stale)` (see actions.js `staleFrom`); `username`, the author, whose session
 *   alone sends the report if it has to wait
 * @returns {HTMLFormElement}
 */
export function reportForm(feature, etag, handlers) {
  const p = feature.properties;
  // One key per report written: pressing send twice, or a resend after a dropped answer, files it once.
  const key = uuid();
  const actions = p.status === 'planned' ? ['start', ''] : ['', 'complete'];
  const error = h('p', { class: 'error', role: 'alert', id: 'report-error' });
  const { progress, slider, set } = progressInputs(p.progress);
  const note = h('textarea', { name: 'note', id: 'r-note', rows: 3, 'aria-describedby': 'e-note' });
  const photos = photoPicker(error, () => form.elements.action.value);
  const actionInputs = actions.map((a, i) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'action', value: a, checked: i === 0, onchange: () => {
      if (a === 'complete') set('100');
      photos.follow();
    } }),
    t(a ? `report.action.${a}` : 'report.action.progress')));
  const submit = h('button', { type: 'submit', id: 'r-submit' }, t('report.send'));

  const form = h('form', { class: 'stack report-form', id: 'report-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    const files = [...photos.input.files];
    if (files.length > MAX_PHOTOS) {
      error.textContent = t('report.tooManyPhotos', { max: MAX_PHOTOS });
      return;
    }
    const lower = progress.value !== '' && Number(progress.value) < p.progress;
    if (lower && !note.value.trim()) {
      error.textContent = t('report.lowerNeedsNote', { from: p.progress, to: progress.value });
      return;
    }
    // The service keeps a lowered progress only when the officer says it is meant.
    if (lower && !window.confirm(t('report.confirmLower', { from: p.progress, to: progress.value }))) return;
    submit.disabled = true;
    submit.textContent = t('report.compressing');
    // Made small on the phone before they wait or travel: a camera's picture is several MB.
    const stages = photos.stages();
    const [compressed, position] = await Promise.all([Promise.all(files.map(compressPhoto)), hereNow()]);
    const small = compressed.map((c, i) => ({ ...c, stage: stages[i] || stageFor(form.elements.action.value) }));
    submit.textContent = t('report.send');
    const entry = {
      key, taskId: feature.id, etag, code: p.code, title: p.title, action: form.elements.action.value || null,
      progress: progress.value === '' ? null : Number(progress.value), note: note.value.trim(),
      photos: small, created: new Date().toISOString(), username: handlers.username, confirmLower: lower, lang: lang(),
      position,
    };
    const refusal = await sendReport(entry, handlers).finally(() => { submit.disabled = false; });
    if (refusal) showRefusal(form, error, refusal);
  } },
  h('p', { class: 'note' }, `${p.code} · ${statusName(p.status)} · ${p.progress}%`),
  p.return_reason ? h('p', { class: 'returned' }, `${t('task.returnReason')}: ${p.return_reason}`) : null,
  h('fieldset', {}, h('legend', {}, t('report.action')), actionInputs),
  field('progress', 'report.progress', h('div', { class: 'progress-input' }, slider, progress),
    h('p', { class: 'field-error', dataset: { for: 'progress' }, id: 'e-progress' })),
  field('note', 'report.note', note, h('p', { class: 'field-error', dataset: { for: 'note' }, id: 'e-note' })),
  field('photo', 'report.photos', photos.input, photos.previews, photos.photoError),
  error,
  h('div', { class: 'buttons' }, submit));
  return form;
}
