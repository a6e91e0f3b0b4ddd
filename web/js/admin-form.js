// What the administrator's forms share: a labelled field with its own line for a refusal, and a
// refusal's field errors put beside their fields (the rest above the form).

import { ApiError } from './api.js';
import { t } from './i18n.js';
import { h } from './ui.js';

/**
 * A labelled field `name` of a form whose ids start with `prefix`: its label (message `key`), the
 * control, and a line for its error.
 * @param {string} prefix e.g. 'admin-family'
 * @param {string} name the field's name, as the API names it
 * @param {string} key the message of its label
 * @param {HTMLElement} control
 * @returns {HTMLElement}
 */
export function field(prefix, name, key, control) {
  control.id = `${prefix}-${name}`;
  control.name = name;
  control.setAttribute('aria-describedby', `${prefix}-e-${name}`);
  return h('div', { class: 'field' }, h('label', { for: control.id }, t(key)), control,
    h('p', { class: 'field-error', id: `${prefix}-e-${name}`, dataset: { for: name } }));
}

/**
 * Shows a refusal in `form`: each error whose pointer names a field (`/color`, or `/0/color` for
 * a one-row roster) beside it, the first such field focused; the summary in `general`.
 * @param {HTMLFormElement} form
 * @param {HTMLElement} general where the refusal's summary goes
 * @param {unknown} err what the request threw; null clears what was shown
 */
export function showErrors(form, general, err) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  general.textContent = !err ? '' : err instanceof ApiError ? err.detail : t('error.network');
  for (const { pointer, message } of err?.errors || []) {
    const name = pointer.split('/').filter((p) => p && !/^\d+$/.test(p))[0];
    const slot = name && form.querySelector(`.field-error[data-for="${name}"]`);
    if (!slot) continue;
    slot.textContent = message;
    form.elements[name]?.setAttribute('aria-invalid', 'true');
  }
  form.querySelector('[aria-invalid]')?.focus();
}
