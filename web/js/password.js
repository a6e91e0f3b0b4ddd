// Choosing one's own password. An account made with a temporary password (the first administrator,
// accounts an administrator creates or resets) may do nothing else until it has: the service
// refuses its other requests with /problems/password-change-required, and this form cannot be
// dismissed, only left by logging out.

import { api, ApiError } from './api.js';
import { logout } from './auth.js';
import { t } from './i18n.js';
import { h, $, clear } from './ui.js';

/**
 * Fills the <dialog> with the change-password form.
 * @param {HTMLDialogElement} dialog
 * @param {{onChanged: function(object): void, onLogout: function(): void}} handlers onChanged(user) once the service took the new password
 */
function passwordDialog(dialog, { onChanged, onLogout }) {
  const error = h('p', { class: 'error', role: 'alert', id: 'password-error' });
  const field = (id, autocomplete) => h('input', { id, type: 'password', autocomplete, required: true, minlength: 12 });
  const current = field('password-current', 'current-password');
  const next = field('password-new', 'new-password');
  const again = field('password-again', 'new-password');
  const title = h('h2', { id: 'password-title' });
  const intro = h('p', { class: 'note' });
  const submit = h('button', { type: 'submit', id: 'password-submit' });
  const leave = h('button', { type: 'button', class: 'secondary', onclick: () => onLogout() });
  const labels = [['password.current', current], ['password.new', next], ['password.again', again]]
    .map(([key, input]) => [h('span', {}), input, key]);
  const form = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (next.value !== again.value) {
      error.textContent = t('password.mismatch');
      return;
    }
    submit.disabled = true;
    try {
      const r = await api('/api/me/password', { method: 'POST',
        json: { current_password: current.value, new_password: next.value } });
      for (const input of [current, next, again]) input.value = '';
      dialog.close();
      onChanged(r.data.user);
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.detail : t('error.network');
    } finally {
      submit.disabled = false;
    }
  } },
  title, intro,
  labels.map(([span, input]) => h('label', { class: 'field' }, span, input)),
  error,
  h('div', { class: 'buttons' }, submit, leave));
  clear(dialog, form);
  // Escape would close a modal dialog; this one stays until the password is changed.
  dialog.addEventListener('cancel', (e) => e.preventDefault());
  const label = () => {
    title.textContent = t('password.title');
    intro.textContent = t('password.intro');
    submit.textContent = t('password.submit');
    leave.textContent = t('login.logout');
    for (const [span, , key] of labels) span.textContent = t(key);
  };
  return {
    open() {
      label();
      error.textContent = '';
      if (!dialog.open) dialog.showModal();
      current.focus();
    },
  };
}

/**
 * Holds the page at the change-password form; leaving instead logs out and starts the page afresh.
 * @returns {Promise<object>} the user, once the service took the new password
 */
export function choosePassword() {
  return new Promise((resolve) => {
    passwordDialog($('#password-dialog'), {
      onChanged: resolve,
      onLogout: async () => {
        await logout().catch(() => {});
        location.reload();
      },
    }).open();
  });
}
