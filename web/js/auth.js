// Logging in and out. The session is an HttpOnly cookie the page never sees; /api/me says who we are.

import { api, ApiError, NetworkError } from './api.js';
import { t } from './i18n.js';
import { h, clear } from './ui.js';

/**
 * The logged-in user, or null for the public (also offline, when the phone kept no answer).
 * @returns {Promise<object | null>}
 */
export async function whoAmI() {
  try {
    return (await api('/api/me')).data.user;
  } catch (e) {
    // Offline, the page goes on as the last known caller would (the service worker answers /api/me
    // from its copy when it has one); with no answer at all, as anonymous.
    if (e instanceof NetworkError) return null;
    throw e;
  }
}

/** Ends the session (the service clears the cookie). */
export async function logout() {
  await api('/api/session', { method: 'DELETE' });
}

/** Fills the <dialog> with a login form; resolves the logged-in user through onLogin. */
export function loginDialog(dialog, { onLogin }) {
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, id: 'login-username' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, id: 'login-password' });
  // Asked for when the service answers that the account uses two-step verification.
  const code = h('input', { name: 'code', autocomplete: 'one-time-code', spellcheck: 'false', id: 'login-code' });
  const codeText = h('span', {});
  const codeRow = h('label', { class: 'field', hidden: true, id: 'login-code-row' }, codeText, code);
  const askCode = () => {
    codeRow.hidden = false;
    code.required = true;
    code.focus();
  };
  const submit = h('button', { type: 'submit' }, '');
  const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, '');
  const title = h('h2', { id: 'login-title' });
  const form = h('form', { method: 'dialog', class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      const json = { username: username.value.trim(), password: password.value };
      if (!codeRow.hidden) json.code = code.value;
      const r = await api('/api/session', { method: 'POST', json });
      password.value = '';
      code.value = '';
      dialog.close();
      onLogin(r.data.user);
    } catch (err) {
      if (err instanceof ApiError && err.kind === 'second-factor-required') {
        error.textContent = t('login.codeNeeded');
        askCode();
        return;
      }
      error.textContent = err instanceof ApiError ? err.detail : t('error.network');
      if (err instanceof ApiError && err.kind === 'wrong-second-factor') {
        code.select();
      }
    } finally {
      submit.disabled = false;
    }
  } },
  title,
  h('label', { class: 'field' }, h('span', { 'data-i18n': 'login.username' }), username),
  h('label', { class: 'field' }, h('span', { 'data-i18n': 'login.password' }), password),
  codeRow,
  error,
  h('div', { class: 'buttons' }, submit, cancel));
  clear(dialog, form);
  const label = () => {
    title.textContent = t('login.title');
    codeText.textContent = t('login.code');
    submit.textContent = t('login.submit');
    cancel.textContent = t('common.cancel');
  };
  label();
  return {
    open() {
      label();
      error.textContent = '';
      codeRow.hidden = true;
      code.required = false;
      dialog.showModal();
      username.focus();
    },
  };
}
