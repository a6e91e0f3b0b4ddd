// The bureau's ledger import: its Excel workbook or CSV file (台账) is first checked (a dry run:
// which column fills which field, what each row would become, every refused row at its cell), and
// only then imported, all or nothing, by choice.

import { api, ApiError } from './api.js';
import { t, worded } from './i18n.js';
import { h, clear, uuid } from './ui.js';

/**
 * Builds the ledger import form (check, then import) in `root`.
 * @param {HTMLElement} root
 * @param {{onImported: () => void}} hooks `onImported` runs once tasks were stored (to redraw the map)
 */
export function ledgerImport(root, { onImported }) {
  const file = h('input', { type: 'file', id: 'ledger-file', required: true, accept: '.xlsx,.csv,.txt' });
  const sheet = h('input', { id: 'ledger-sheet', name: 'sheet' });
  const map = h('input', { id: 'ledger-map', name: 'map', placeholder: '{"标题列": "title"}' });
  const coords = h('select', { id: 'ledger-coords' },
    ['', 'gcj02', 'bd09'].map((v) => h('option', { value: v }, v || 'WGS 84')));
  const check = h('button', { type: 'submit', id: 'ledger-check' });
  const apply = h('button', { type: 'button', id: 'ledger-apply', disabled: true, onclick: () => send(false) });
  const result = h('div', { id: 'ledger-result', 'aria-live': 'polite' });
  const spans = {};
  const labelled = (key, input) => h('label', { class: 'field' }, (spans[key] = h('span')), input);
  const form = h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); send(true); } },
    (spans.intro = h('p', { class: 'note' })),
    labelled('file', file), labelled('coords', coords), labelled('sheet', sheet), labelled('map', map),
    h('div', { class: 'buttons' }, check, apply),
    result);
  clear(root, form);
  // One key per file and options: a retried import stores its tasks once; another file is another import.
  let key = uuid();
  const changed = () => { key = uuid(); apply.disabled = true; clear(result); };
  for (const input of [file, sheet, map, coords]) input.addEventListener('change', changed);

  async function send(dryRun) {
    const body = new FormData();
    body.append('file', file.files[0], file.files[0].name);
    if (coords.value) body.append('coords', coords.value);
    if (sheet.value.trim()) body.append('sheet', sheet.value.trim());
    if (map.value.trim()) body.append('map', map.value.trim());
    if (dryRun) body.append('dry_run', 'true');
    check.disabled = apply.disabled = true;
    clear(result, h('p', { class: 'note' }, t('common.loading')));
    try {
      const headers = dryRun ? {} : { 'Idempotency-Key': key };
      const { data } = await api('/api/import/ledger', { method: 'POST', form: body, headers });
      clear(result, report(data));
      apply.disabled = !dryRun || data.failed.length > 0 || data.created.length === 0;
      if (!dryRun) onImported();
    } catch (e) {
      const detail = e instanceof ApiError ? e.lead || e.message : t('error.network');
      clear(result, h('p', { class: 'error', role: 'alert' }, detail),
        e.errors?.length ? h('ul', { class: 'errors' }, e.errors.map((x) => h('li', {}, x.message))) : null);
    } finally {
      check.disabled = false;
    }
  }

  spans.intro.textContent = t('ledgerImport.intro');
  for (const key of ['file', 'coords', 'sheet', 'map']) spans[key].textContent = t(`ledgerImport.${key}`);
  check.textContent = t('ledgerImport.check');
  apply.textContent = t('ledgerImport.apply');
}

/** The dry run's (or the import's) findings: the columns as read, the refused rows, the new tasks. */
function report(r) {
  const summary = t(r.dry_run ? 'ledgerImport.dryRun' : 'ledgerImport.imported', {
    file: r.file, rows: r.rows, ok: r.created.length, failed: r.failed.length, imported: r.imported });
  const columns = h('table', { class: 'league ledger-columns' },
    h('caption', {}, t('ledgerImport.columns')),
    h('tbody', {}, r.columns.map((c) => h('tr', {},
      h('th', {}, `${c.column} ${c.header}`),
      h('td', { class: c.field ? '' : 'note', title: c.note ?? c.field },
        c.field ? t(`field.${c.field}`, {}, c.field) : t('ledgerImport.ignored'))))));
  const refused = r.failed.length
    ? [h('h3', {}, t('ledgerImport.failed', { n: r.failed.length })),
      h('ul', { class: 'errors ledger-failed' }, r.failed.flatMap((f) => f.errors.map((e) =>
        h('li', {}, t('ledgerImport.cell', {
          cell: e.cell, header: e.header ?? e.field, detail: worded(e.code, e.params) ?? e.detail })))))]
    : [];
  const created = r.created.length
    ? [h('h3', {}, t(r.dry_run ? 'ledgerImport.wouldCreate' : 'ledgerImport.created', { n: r.created.length })),
      h('ul', { class: 'ledger-created' }, r.created.slice(0, 50).map((c) => h('li', {}, `${c.code} ${c.title}`)))]
    : [];
  return h('div', { class: 'import-report' }, h('p', { id: 'ledger-summary' }, summary), ...refused, columns, ...created);
}
