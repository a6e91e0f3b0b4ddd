// The bureau's campaigns page (活动与考核), opened from the account corner and loaded only for
// bureau staff: campaigns, a year's targets per township and family with their progress, the
// year's scoring scheme, the draft ranking and freezing it (with a reason) for publication.

import { api, create, get } from './api.js';
import { t, catName, fmtPct, fmtDateTime } from './i18n.js';
import { field, showErrors } from './admin-form.js';
import { assessmentPath } from './campaign-data.js';
import { rankingTable } from './ranking.js';
import { h, clear } from './ui.js';

const RATES = ['target_completion', 'on_time_rate', 'verified_rate'];
const PENALTIES = ['overdue', 'supervised', 'returned', 'stale'];

const campaignPath = (code) => `/api/campaigns/${encodeURIComponent(code)}`;

/** A form whose refusals show beside its fields; `onSubmit(form)` does the work. */
function form(id, fields, submit, onSubmit) {
  const general = h('p', { class: 'error', role: 'alert' });
  const f = h('form', { class: 'stack', id, novalidate: true }, fields, general,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', id: `${id}-submit` }, submit)));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await onSubmit(f);
      showErrors(f, general, null);
    } catch (err) {
      showErrors(f, general, err);
    }
  });
  return f;
}

const input = (attrs = {}) => h('input', { autocomplete: 'off', ...attrs });
const select = (options) => h('select', {}, options.map(([value, label]) => h('option', { value }, label)));
/** The form's values, numbers where the input is a number, empty ones left out. */
function values(f) {
  const v = {};
  for (const el of f.elements) {
    if (!el.name || el.value.trim() === '') continue;
    v[el.name] = el.type === 'number' ? Number(el.value) : el.value.trim();
  }
  return v;
}

function campaignForm(onAdded) {
  const y = new Date().getFullYear();
  const p = 'campaign-new';
  return form(p, [
    field(p, 'code', 'campaigns.code', input({ maxlength: 40 })),
    field(p, 'name_zh', 'campaigns.nameZh', input({ maxlength: 100 })),
    field(p, 'name_en', 'campaigns.nameEn', input({ maxlength: 100 })),
    field(p, 'first_year', 'campaigns.firstYear', input({ type: 'number', value: y })),
    field(p, 'last_year', 'campaigns.lastYear', input({ type: 'number', value: y + 2 })),
  ], t('campaigns.add'), async (f) => {
    const c = (await create('/api/campaigns', { method: 'POST', json: values(f) })).data;
    f.reset();
    await onAdded(c);
  });
}

function targetForm(ctx, year, onAdded) {
  const p = 'target-new';
  return form(p, [
    field(p, 'township', 'campaigns.township', select(ctx.townships.map((w) => [w.code, w.name]))),
    field(p, 'category', 'campaigns.family', select([...ctx.families.values()].filter((c) => !c.retired).map((c) => [c.code, catName(c)]))),
    field(p, 'task_count', 'campaigns.taskCount', input({ type: 'number', min: 1, step: 1 })),
    field(p, 'quantity', 'campaigns.quantity', input({ type: 'number', min: 0, step: 'any' })),
    field(p, 'unit', 'campaigns.unit', input({ maxlength: 20, placeholder: 'km' })),
    field(p, 'counted_when', 'campaigns.countedWhen', select([['verified', t('campaigns.whenVerified')], ['completed', t('campaigns.whenCompleted')]])),
  ], t('campaigns.addTarget'), async (f) => {
    await create(`${campaignPath(ctx.campaign.code)}/targets`, { method: 'POST', json: { year, ...values(f) } });
    await onAdded();
  });
}

function targetRow(ctx, g, onChanged) {
  const family = ctx.families.get(g.category);
  const remove = async () => {
    if (!confirm(t('campaigns.removeConfirm'))) return;
    await api(`${campaignPath(ctx.campaign.code)}/targets/${g.id}`, { method: 'DELETE' });
    await onChanged();
  };
  return h('tr', { dataset: { township: g.township, category: g.category } },
    h('th', { scope: 'row' }, g.township_name), h('td', {}, family ? catName(family) : g.category),
    h('td', {}, g.task_count ? `${g.tasks_achieved} / ${g.task_count}` : '—'),
    h('td', {}, g.quantity ? `${g.quantity_achieved} / ${g.quantity} ${g.unit}` : '—'),
    h('td', { dataset: { col: 'rate' } }, fmtPct(g.rate)),
    h('td', {}, h('button', { type: 'button', class: 'danger', onclick: remove }, t('campaigns.remove'))));
}

async function targetsPart(root, ctx, year) {
  const body = await get(`${campaignPath(ctx.campaign.code)}/targets?year=${year}`);
  const reload = () => targetsPart(root, ctx, year);
  clear(root,
    h('h3', {}, t('campaigns.targets', { year })),
    h('table', { class: 'league', id: 'campaign-targets' },
      h('thead', {}, h('tr', {}, ['campaigns.township', 'campaigns.family', 'campaigns.taskCount', 'campaigns.quantity', 'league.target', '']
        .map((k) => h('th', { scope: 'col' }, k ? t(k) : '')))),
      h('tbody', {}, body.targets.map((g) => targetRow(ctx, g, reload)))),
    targetForm(ctx, year, reload));
}

/** One indicator's inputs: a weight for a rate, a penalty per task and a cap for the others. */
function indicatorRow(name, line) {
  const num = (key, value) => input({ type: 'number', min: 0, max: 100, step: 'any', name: `${name}.${key}`, value: value ?? '',
    'aria-label': `${t(`indicator.${name}`)} ${t(`campaigns.${key}`)}` });
  return h('tr', { dataset: { indicator: name } }, h('th', { scope: 'row' }, t(`indicator.${name}`)),
    RATES.includes(name) ? h('td', { colspan: 2 }, num('weight', line?.weight)) : [h('td', {}, num('per_task', line?.per_task)), h('td', {}, num('cap', line?.cap))]);
}

async function schemePart(root, ctx, year) {
  const path = `${campaignPath(ctx.campaign.code)}/years/${year}/scheme`;
  const s = await get(path);
  const by = new Map(s.indicators.map((l) => [l.indicator, l]));
  const general = h('p', { class: 'error', role: 'alert', id: 'scheme-error' });
  const status = h('p', { class: 'ok', role: 'status', id: 'scheme-status' },
    s.set ? t('campaigns.schemeSet', { by: s.updated_by || '', at: fmtDateTime(s.updated_at) }) : t('campaigns.schemeDefault'));
  const f = h('form', { id: 'scheme-form', novalidate: true },
    h('table', { class: 'league' }, h('thead', {}, h('tr', {}, ['campaigns.indicator', 'campaigns.weightOrPerTask', 'campaigns.cap'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, [...RATES, ...PENALTIES].map((n) => indicatorRow(n, by.get(n))))),
    general, h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'scheme-save' }, t('campaigns.saveScheme'))));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const lines = [...RATES, ...PENALTIES].map((n) => {
      const v = (k) => f.elements[`${n}.${k}`]?.value;
      return RATES.includes(n) ? (v('weight') ? { indicator: n, weight: Number(v('weight')) } : null)
        : (v('per_task') || v('cap') ? { indicator: n, per_task: Number(v('per_task')), cap: Number(v('cap')) } : null);
    }).filter(Boolean);
    try {
      await api(path, { method: 'PUT', json: { indicators: lines } });
      await schemePart(root, ctx, year);
    } catch (err) {
      general.textContent = err.detail || t('error.network');
    }
  });
  clear(root, h('h3', {}, t('campaigns.scheme', { year })), h('p', { class: 'note' }, t('campaigns.schemeNote')), status, f);
}

async function assessmentPart(root, ctx, year) {
  const path = assessmentPath(ctx.campaign.code, year);
  const [draft, versions] = await Promise.all([get(`${path}?version=draft`), get(`${path}/versions`)]);
  const p = 'freeze';
  const freeze = form(p, [field(p, 'reason', 'campaigns.freezeReason', input({ maxlength: 2000 }))], t('campaigns.freeze'), async (f) => {
    await api(path, { method: 'POST', json: values(f) });
    await assessmentPart(root, ctx, year);
  });
  clear(root,
    h('h3', {}, t('campaigns.draft', { year })),
    h('p', { class: 'note' }, t('campaigns.draftNote', { day: draft.as_of })),
    rankingTable(draft.townships, 'draft-townships', t('ranking.townships')),
    rankingTable(draft.departments, 'draft-departments', t('ranking.departments')),
    h('p', { class: 'downloads' }, h('a', { href: `${path}.xlsx?version=draft`, download: true }, t('campaigns.draftXlsx'))),
    freeze,
    h('ul', { id: 'freeze-versions' }, versions.map((v) => h('li', {},
      t('campaigns.version', { version: v.version, at: fmtDateTime(v.frozen_at), by: v.frozen_by || '', reason: v.reason })))));
}

async function yearParts(root, ctx, year) {
  const [targets, scheme, ranking] = ['campaign-targets-part', 'campaign-scheme-part', 'campaign-assessment-part']
    .map((id) => h('section', { id }));
  clear(root, targets, scheme, ranking);
  await Promise.all([targetsPart(targets, ctx, year), schemePart(scheme, ctx, year), assessmentPart(ranking, ctx, year)]);
}

async function campaignPart(root, ctx) {
  const { campaign } = ctx;
  const years = [];
  for (let y = campaign.first_year; y <= campaign.last_year; y += 1) years.push(y);
  const pick = select(years.map((y) => [y, String(y)]));
  pick.id = 'campaign-year';
  const now = new Date().getFullYear();
  pick.value = String(years.includes(now) ? now : years[0]);
  const parts = h('div', {});
  pick.addEventListener('change', () => yearParts(parts, ctx, Number(pick.value)));
  clear(root, h('h2', {}, `${catName(campaign)} ${campaign.first_year}–${campaign.last_year}`),
    h('label', { for: 'campaign-year' }, t('campaigns.year')), pick, parts);
  await yearParts(parts, ctx, Number(pick.value));
}

/**
 * The campaigns page in `root`.
 * @param {HTMLElement} root
 * @param {{townships: {code: string, name: string}[], families: Map<string, object>}} ctx
 * @returns {Promise<void>} when the page has loaded
 */
export async function campaignsPage(root, { townships, families }) {
  const list = h('ul', { class: 'admin-list', id: 'campaign-list' });
  const detail = h('div', { id: 'campaign-detail' });
  const open = (campaign) => campaignPart(detail, { campaign, townships, families });
  async function reload(chosen) {
    const campaigns = await get('/api/campaigns');
    clear(list, campaigns.map((c) => h('li', { dataset: { code: c.code } },
      h('button', { type: 'button', class: 'link', onclick: () => open(c) }, `${catName(c)} (${c.first_year}–${c.last_year})`))));
    const first = campaigns.find((c) => c.code === chosen) || campaigns[0];
    if (first) await open(first);
  }
  clear(root, h('h3', {}, t('campaigns.list')), list, h('details', {}, h('summary', {}, t('campaigns.new')), campaignForm((c) => reload(c.code))), detail);
  await reload();
}
