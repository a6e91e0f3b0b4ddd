// The administrator's reminders (催办): the settings of the daily run (how far ahead "due soon"
// looks, when a task without reports is stale, the hour), the units' channels as configured, and
// the deliveries to robots and e-mail with their attempts and last error, failed ones first.

import { api } from './api.js';
import { t, fmtDateTime } from './i18n.js';
import { field, showErrors } from './admin-form.js';
import { h, clear } from './ui.js';

const FIELDS = [['due_within_days', 'reminders.dueWithin', 'number'], ['stale_after_days', 'reminders.staleAfter', 'number'],
  ['run_at', 'reminders.runAt', 'time']];

function settingsForm(settings, onSaved) {
  const general = h('p', { class: 'error', role: 'alert' });
  const status = h('p', { class: 'ok', role: 'status', id: 'admin-reminders-status' });
  const form = h('form', { class: 'stack', id: 'admin-reminders-settings', novalidate: true },
    FIELDS.map(([name, key, type]) => field('admin-reminders', name, key, h('input', { type, value: settings[name], step: type === 'number' ? '1' : '60' }))),
    general, status,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'admin-reminders-save' }, t('reminders.save'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = (name, type) => (type === 'number' ? Number(form.elements[name].value) : form.elements[name].value);
    try {
      const r = await api('/api/reminders/settings', { method: 'PUT',
        json: Object.fromEntries(FIELDS.map(([name, , type]) => [name, value(name, type)])) });
      showErrors(form, general, null);
      status.textContent = t('reminders.saved');
      onSaved(r.data);
    } catch (err) {
      status.textContent = '';
      showErrors(form, general, err);
    }
  });
  return form;
}

function channelList(channels) {
  if (!channels.length) return h('p', { class: 'note', id: 'admin-channels-none' }, t('reminders.noChannels'));
  return h('ul', { class: 'admin-list', id: 'admin-channels' }, channels.map((c) => h('li', {},
    h('strong', {}, c.unit_name), ` (${c.unit_code})`,
    c.robot_kind ? h('div', {}, `${t(`reminders.robot.${c.robot_kind}`)}: ${c.robot_url}${c.robot_secret_set ? ` · ${t('reminders.signed')}` : ''}`) : null,
    c.emails.length ? h('div', {}, `${t('reminders.emails')}: ${c.emails.join(', ')}`) : null)));
}

function deliveryTable(rows) {
  if (!rows.length) return h('p', { class: 'note' }, t('reminders.noDeliveries'));
  const cell = (text) => h('td', {}, text ?? '');
  return h('table', { class: 'admin-table', id: 'admin-deliveries' },
    h('thead', {}, h('tr', {}, ['status', 'unit', 'channel', 'attempts', 'lastError', 'next'].map((c) => h('th', { scope: 'col' }, t(`reminders.col.${c}`))))),
    h('tbody', {}, rows.map((d) => h('tr', { class: `delivery-${d.status}`, dataset: { status: d.status } },
      cell(t(`reminders.state.${d.status}`)),
      cell(`${d.unit_name} · ${t(`reminders.kind.${d.kind}`)} ${d.day}`),
      cell(d.channel === 'email' ? d.target : t('reminders.channel.robot')),
      cell(String(d.attempts)),
      cell(d.last_error),
      cell(d.next_attempt_at ? fmtDateTime(d.next_attempt_at) : d.sent_at ? fmtDateTime(d.sent_at) : '')))));
}

/**
 * The reminders part of the administrator's page, in `root`.
 * @param {HTMLElement} root
 * @returns {Promise<void>} when the settings, channels and deliveries have loaded
 */
export async function remindersAdmin(root) {
  const [settings, channels, deliveries] = await Promise.all([
    api('/api/reminders/settings'), api('/api/reminders/channels'), api('/api/reminders/deliveries?limit=100'),
  ]).then((rs) => rs.map((r) => r.data));
  const settingsBox = h('div', {});
  const show = (s) => clear(settingsBox, settingsForm(s, show));
  show(settings);
  clear(root,
    h('h3', {}, t('reminders.settings')), settingsBox,
    h('h3', {}, t('reminders.channels')), h('p', { class: 'note' }, t('reminders.channelsNote')), channelList(channels),
    h('h3', {}, t('reminders.deliveries')), deliveryTable(deliveries));
}
