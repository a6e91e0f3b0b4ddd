// Two-step verification (两步验证): turning it on with an authenticator app (a QR code, or the
// secret typed by hand, then its first code), the recovery codes shown once with a download,
// new recovery codes, turning it off, and for administrators which roles must use it. An account
// the administrator requires it of is held here (like the temporary-password form) until it is on.
// Loaded on demand: only those who open it, or are held by it, fetch it and its QR library.

import qrcode from 'qrcode-generator';
import { api, ApiError } from './api.js';
import { logout } from './auth.js';
import { t } from './i18n.js';
import { h, $, clear } from './ui.js';

const ROLES = ['admin', 'bureau', 'township', 'department'];

/** What a form shows for a refusal: the service's detail where the map's words for its kind would
 * mislead (a conflict names the task's state in the common table). */
function said(err) {
  if (!(err instanceof ApiError)) return t('error.network');
  return err.status === 409 ? err.problem.detail || err.detail : err.detail;
}

/**
 * `text` as a QR code drawn on a canvas (a picture for the app's camera; the secret beside it is
 * the same for people typing it).
 * @param {string} text
 * @returns {HTMLCanvasElement}
 */
function qrCanvas(text) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const cell = 5;
  // The quiet zone of four modules a reader needs around the code.
  const margin = 4 * cell;
  const size = n * cell + 2 * margin;
  const canvas = h('canvas', { width: size, height: size, id: 'two-factor-qr', class: 'qr', role: 'img',
    'aria-label': t('twoFactor.qrLabel') });
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, size, size);
  g.fillStyle = '#000';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) if (qr.isDark(r, c)) g.fillRect(margin + c * cell, margin + r * cell, cell, cell);
  }
  return canvas;
}

/** A labelled text field. */
function field(id, label, attrs = {}) {
  const input = h('input', { id, name: id, required: true, autocomplete: 'off', ...attrs });
  return [h('label', { class: 'field' }, h('span', {}, label), input), input];
}

/** The code field every step asks for: the app's six digits, or a recovery code where allowed. */
const codeField = (id) => field(id, t('twoFactor.code'), { autocomplete: 'one-time-code', spellcheck: 'false' });

/**
 * A form in the dialog's body: `fields` then the error line and `buttons`; `send()` runs on
 * submit with the submit button disabled and its refusal shown.
 */
function form(id, children, submitLabel, send, extra = []) {
  const error = h('p', { class: 'error', role: 'alert', id: `${id}-error` });
  const submit = h('button', { type: 'submit', id: `${id}-submit` }, submitLabel);
  return h('form', { class: 'stack', id, onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      await send();
    } catch (err) {
      error.textContent = said(err);
    } finally {
      submit.disabled = false;
    }
  } }, children, error, h('div', { class: 'buttons' }, submit, extra));
}

/** The recovery codes, this once, with a download; `onDone` when the reader has kept them. */
function codesView(codes, onDone) {
  const text = `${t('twoFactor.codesFile')}\n\n${codes.join('\n')}\n`;
  const download = h('a', { id: 'recovery-download',
    href: URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' })),
    download: 'greenledger-recovery-codes.txt' }, t('twoFactor.download'));
  return [
    h('p', {}, t('twoFactor.codesIntro')),
    h('ol', { class: 'recovery-codes', id: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', {}, c)))),
    h('p', { class: 'downloads' }, download),
    h('div', { class: 'buttons' }, h('button', { type: 'button', id: 'recovery-done', onclick: onDone }, t('twoFactor.done'))),
  ];
}

/** The secret in groups of four, as apps ask for it typed. */
const grouped = (secret) => secret.replace(/(.{4})/g, '$1 ').trim();

/**
 * Builds the two-step verification dialog for `user` in `dialog`.
 * @param {HTMLDialogElement} dialog
 * @param {object} user the caller (GET /api/me)
 * @param {{hold: boolean, onChanged: function(object): void}} opts `hold`: it must be turned on
 *   before anything else (the dialog cannot be dismissed); `onChanged(user)` after a change
 */
function twoFactorDialog(dialog, user, { hold, onChanged }) {
  const title = h('h2', { id: 'two-factor-title' });
  const body = h('div', { class: 'stack two-factor' });
  const close = h('button', { type: 'button', class: 'secondary', id: 'two-factor-close' });
  clear(dialog, title, body, h('div', { class: 'buttons' }, close));
  const leave = async () => {
    await logout().catch(() => {});
    location.reload();
  };
  close.onclick = () => (hold ? leave() : dialog.close());
  close.textContent = hold ? t('login.logout') : t('common.close');
  title.textContent = t('twoFactor.title');

  async function start() {
    const { data } = await api('/api/me/two-factor', { method: 'POST' });
    const [label, code] = codeField('two-factor-code');
    code.inputMode = 'numeric';
    clear(body,
      h('p', {}, t('twoFactor.scan')),
      qrCanvas(data.uri),
      h('p', { class: 'note' }, t('twoFactor.manual')),
      h('p', {}, h('code', { id: 'two-factor-secret', class: 'secret' }, grouped(data.secret))),
      form('two-factor-confirm', [label], t('twoFactor.confirm'), async () => {
        const r = await api('/api/me/two-factor/confirm', { method: 'POST', json: { code: code.value } });
        user = { ...user, two_factor: true };
        // Held, the page starts afresh once the codes are kept; otherwise it knows at once.
        if (!hold) onChanged(user);
        clear(body, codesView(r.data.recovery_codes, () => (hold ? onChanged(user) : showStatus())));
      }));
    code.focus();
  }

  function renewForm() {
    const [label, code] = codeField('two-factor-renew-code');
    return form('two-factor-renew', [h('h3', {}, t('twoFactor.renewTitle')), label], t('twoFactor.renew'), async () => {
      const r = await api('/api/me/two-factor/recovery-codes', { method: 'POST', json: { code: code.value } });
      clear(body, codesView(r.data.recovery_codes, showStatus));
    });
  }

  function disableForm() {
    if (user.two_factor_required) return h('p', { class: 'note', id: 'two-factor-required-note' }, t('twoFactor.requiredNote'));
    const [pwLabel, pw] = field('two-factor-password', t('login.password'), { type: 'password', autocomplete: 'current-password' });
    const [label, code] = codeField('two-factor-off-code');
    return form('two-factor-off', [h('h3', {}, t('twoFactor.offTitle')), pwLabel, label], t('twoFactor.off'), async () => {
      const r = await api('/api/me/two-factor', { method: 'DELETE', json: { password: pw.value, code: code.value } });
      user = r.data.user;
      onChanged(user);
      showStatus();
    });
  }

  function showStatus() {
    if (!dialog.open) return;
    if (!user.two_factor) {
      const go = h('button', { type: 'button', id: 'two-factor-start' }, t('twoFactor.start'));
      const error = h('p', { class: 'error', role: 'alert' });
      go.onclick = () => start().catch((e) => { error.textContent = said(e); });
      clear(body, h('p', {}, t(hold ? 'twoFactor.holdIntro' : 'twoFactor.intro')), error, h('div', { class: 'buttons' }, go),
        !hold && user.role === 'admin' ? policyForm(user) : null);
      return;
    }
    clear(body, h('p', { id: 'two-factor-on' }, t('twoFactor.on')), renewForm(), disableForm(),
      user.role === 'admin' ? policyForm(user) : null);
  }

  return {
    open() {
      if (!dialog.open) dialog.showModal();
      showStatus();
      (hold ? $('#two-factor-start', dialog) : close).focus();
    },
  };
}

/** The administrator's policy: which roles must use two-step verification. Administrators can be
 * required only by one who uses it (the service refuses otherwise, and the box says why). */
function policyForm(user) {
  const boxes = ROLES.map((role) => h('input', { type: 'checkbox', id: `two-factor-role-${role}`, value: role,
    disabled: role === 'admin' && !user.two_factor }));
  const saved = h('p', { class: 'note', role: 'status', id: 'two-factor-policy-status' });
  const box = form('two-factor-policy', [
    h('h3', {}, t('twoFactor.policyTitle')),
    h('p', { class: 'note' }, t('twoFactor.policyIntro')),
    ROLES.map((role, i) => h('label', { class: 'check' }, boxes[i], t(`twoFactor.role.${role}`))),
    user.two_factor ? null : h('p', { class: 'note' }, t('twoFactor.policyAdminFirst')),
    saved,
  ], t('twoFactor.policySave'), async () => {
    saved.textContent = '';
    const required = boxes.filter((b) => b.checked).map((b) => b.value);
    await api('/api/security/two-factor', { method: 'PUT', json: { required_for: required } });
    saved.textContent = t('twoFactor.policySaved');
  });
  api('/api/security/two-factor').then(({ data }) => {
    for (const b of boxes) b.checked = data.required_for.includes(b.value);
  }).catch(() => {});
  return box;
}

/**
 * Opens the two-step verification dialog for the caller.
 * @param {object} user the caller
 * @param {function(object): void} onChanged called with the caller as it is after a change
 */
export function openTwoFactor(user, onChanged) {
  twoFactorDialog($('#two-factor-dialog'), user, { hold: false, onChanged }).open();
}

/**
 * Holds the page at turning two-step verification on, as the administrator requires of the
 * caller's role; leaving instead logs out and starts the page afresh.
 * @param {object} user the caller
 * @returns {Promise<object>} the caller once it is on and the recovery codes were shown
 */
export function enrolNow(user) {
  const dialog = $('#two-factor-dialog');
  // Escape would close a modal dialog; this one stays until two-step verification is on.
  dialog.addEventListener('cancel', (e) => e.preventDefault());
  return new Promise((resolve) => twoFactorDialog(dialog, user, { hold: true, onChanged: resolve }).open());
}
