// A township officer's report on a task: progress, a note, photos from the phone camera, and
// start/complete. Without a network the report is kept in the outbox and sent later.

import { ApiError, NetworkError } from './api.js';
import { t, statusName } from './i18n.js';
import { h, clear, uuid } from './ui.js';
import * as outbox from './offline.js';
import { staleFrom } from './actions.js';

const MAX_PHOTOS = 6;

/**
 * The report form of a task.
 * @param {object} feature the task
 * @param {string} etag its ETag: the report is refused (412) if the task changed meanwhile
 * @param {object} handlers `onSent()`, `onQueued()` (kept in the outbox for lack of a network)
 *   and `onStale(stale)` (see actions.js `staleFrom`)
 * @returns {HTMLFormElement}
 */
export function reportForm(feature, etag, { onSent, onQueued, onStale }) {
  const p = feature.properties;
  // One key per report written: pressing send twice, or a resend after a dropped answer, files it once.
  const key = uuid();
  const actions = p.status === 'planned' ? ['start', ''] : ['', 'complete'];
  const error = h('p', { class: 'error', role: 'alert', id: 'report-error' });
  const progress = h('input', { type: 'number', name: 'progress', id: 'r-progress', min: '0', max: '100', step: '1',
    value: String(p.progress), 'aria-describedby': 'e-progress' });
  const slider = h('input', { type: 'range', min: '0', max: '100', step: '5', value: String(p.progress), 'aria-hidden': 'true', tabindex: '-1',
    oninput: () => { progress.value = slider.value; } });
  progress.addEventListener('input', () => { slider.value = progress.value; });
  const note = h('textarea', { name: 'note', id: 'r-note', rows: 3, 'aria-describedby': 'e-note' });
  const previews = h('div', { class: 'photos', id: 'r-previews' });
  const photoError = h('p', { class: 'field-error', dataset: { for: 'photo' }, id: 'e-photo' });
  // A file the browser cannot show is told at once, before a slow upload the service would refuse.
  const preview = (f) => {
    const img = h('img', { src: URL.createObjectURL(f), alt: f.name });
    img.addEventListener('error', () => {
      img.classList.add('broken');
      photoError.textContent = t('report.notAPicture', { name: f.name });
    }, { once: true });
    return img;
  };
  const photos = h('input', { type: 'file', name: 'photo', id: 'r-photo', accept: 'image/*', capture: 'environment', multiple: true,
    'aria-describedby': 'e-photo',
    onchange: () => {
      photoError.textContent = '';
      clear(previews, [...photos.files].slice(0, MAX_PHOTOS).map(preview));
      error.textContent = photos.files.length > MAX_PHOTOS ? t('report.tooManyPhotos', { max: MAX_PHOTOS }) : '';
    } });
  const actionInputs = actions.map((a, i) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'action', value: a, checked: i === 0, onchange: () => {
      if (a === 'complete') { progress.value = '100'; slider.value = '100'; }
    } }),
    t(a ? `report.action.${a}` : 'report.action.progress')));
  const submit = h('button', { type: 'submit', id: 'r-submit' }, t('report.send'));

  const form = h('form', { class: 'stack report-form', id: 'report-form', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    const files = [...photos.files];
    if (files.length > MAX_PHOTOS) {
      error.textContent = t('report.tooManyPhotos', { max: MAX_PHOTOS });
      return;
    }
    const action = form.elements.action.value || null;
    const entry = {
      key, taskId: feature.id, etag, code: p.code, title: p.title, action,
      progress: progress.value === '' ? null : Number(progress.value), note: note.value.trim(),
      photos: files.map((f) => ({ name: f.name, type: f.type, blob: f })), created: new Date().toISOString(),
    };
    submit.disabled = true;
    try {
      if (!navigator.onLine) throw new NetworkError(new Error('offline'));
      const r = await outbox.send(entry);
      onSent(r.data, r.etag);
    } catch (err) {
      if (err instanceof NetworkError) {
        await outbox.save(entry);
        onQueued(entry);
        return;
      }
      const stale = staleFrom(err);
      if (stale) {
        onStale(stale);
        return;
      }
      error.textContent = err instanceof ApiError ? err.detail : t('error.network');
      for (const { pointer, detail } of err.errors || []) {
        const slot = form.querySelector(`.field-error[data-for="${pointer.replace(/^\//, '')}"]`);
        if (slot) slot.textContent = detail;
      }
    } finally {
      submit.disabled = false;
    }
  } },
  h('p', { class: 'note' }, `${p.code} · ${statusName(p.status)} · ${p.progress}%`),
  p.return_reason ? h('p', { class: 'returned' }, `${t('task.returnReason')}: ${p.return_reason}`) : null,
  h('fieldset', {}, h('legend', {}, t('report.action')), actionInputs),
  h('div', { class: 'field' }, h('label', { for: 'r-progress' }, t('report.progress')), h('div', { class: 'progress-input' }, slider, progress),
    h('p', { class: 'field-error', dataset: { for: 'progress' }, id: 'e-progress' })),
  h('div', { class: 'field' }, h('label', { for: 'r-note' }, t('report.note')), note,
    h('p', { class: 'field-error', dataset: { for: 'note' }, id: 'e-note' })),
  h('div', { class: 'field' }, h('label', { for: 'r-photo' }, t('report.photos')), photos, previews, photoError),
  error,
  h('div', { class: 'buttons' }, submit));
  return form;
}
