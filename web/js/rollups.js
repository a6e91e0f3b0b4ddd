// Township figures for the choropleth and the league table, and the monthly completions, from the
// rollup endpoints. Where the service has no rollup endpoints the same definitions are applied to
// the task list itself, as long as that list is complete; otherwise nothing is shown rather than
// a partial figure.

import { ApiError, get, query } from './api.js';

const COUNTY_TZ = 'Asia/Shanghai';
const MAX_TASKS = 10000;

const dayInCounty = (iso) => new Intl.DateTimeFormat('en-CA', { timeZone: COUNTY_TZ }).format(new Date(iso));
const today = () => dayInCounty(new Date().toISOString());

function rollupParams(filters) {
  return { category: filters.category, supervised: filters.supervised ? 'true' : '' };
}

/// {rows, county, source} or {rows: null, reason} when the figures cannot be had.
export async function townshipFigures(filters, townships) {
  try {
    const body = await get(`/api/rollups/townships${query(rollupParams(filters))}`);
    const rows = Array.isArray(body) ? body : body.townships || body.rows || [];
    return { rows, county: body.county || null, source: 'rollups' };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const fc = await get(`/api/tasks${query({ ...rollupParams(filters), limit: MAX_TASKS })}`);
  if (fc.numberMatched > fc.numberReturned) return { rows: null, reason: 'too-many' };
  return { ...computeFigures(fc.features, townships), source: 'tasks' };
}

/// PRODUCT.md's definitions over a list of tasks (see the rollup module of the service).
export function computeFigures(features, townships) {
  const now = today();
  const acc = new Map(townships.map((t) => [t.code, blank(t.code, t.name)]));
  const county = blank(null, '全县');
  for (const f of features) {
    const p = f.properties;
    const row = acc.get(p.township);
    for (const a of [row, county]) if (a) add(a, p, now);
  }
  return { rows: [...acc.values()].map(finish), county: finish(county) };
}

function blank(code, name) {
  return { township_code: code, township_name: name, tasks: 0, not_cancelled: 0, finished: 0, verified: 0,
    overdue: 0, finished_on_time: 0, late: 0, supervised: 0 };
}

function add(a, p, now) {
  a.tasks += 1;
  if (p.status === 'cancelled') return;
  a.not_cancelled += 1;
  const finished = p.status === 'completed' || p.status === 'verified';
  if (finished) a.finished += 1;
  if (p.status === 'verified') a.verified += 1;
  if (p.overdue) a.overdue += 1;
  if (p.supervised && p.status !== 'verified') a.supervised += 1;
  if (p.due_date) {
    if (finished && p.completed_at) {
      if (dayInCounty(p.completed_at) <= p.due_date) a.finished_on_time += 1;
      else a.late += 1;
    } else if (!finished && p.due_date < now) {
      a.late += 1;
    }
  }
}

function finish(a) {
  const ratio = (x, y) => (y > 0 ? x / y : null);
  return { ...a, completion_rate: ratio(a.finished, a.not_cancelled), verified_rate: ratio(a.verified, a.not_cancelled),
    on_time_rate: ratio(a.finished_on_time, a.finished_on_time + a.late) };
}

/// [{month: 'YYYY-MM', completed}] for the last twelve months.
export async function monthlyCompletions(filters) {
  try {
    const body = await get(`/api/rollups/monthly${query(rollupParams(filters))}`);
    const rows = Array.isArray(body) ? body : body.months || body.rows || [];
    return { months: rows.map((r) => ({ month: r.month, completed: r.completed ?? r.finished ?? r.count ?? 0 })), source: 'rollups' };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const fc = await get(`/api/tasks${query({ ...rollupParams(filters), status: ['completed', 'verified'], limit: MAX_TASKS })}`);
  if (fc.numberMatched > fc.numberReturned) return { months: null, reason: 'too-many' };
  const months = lastMonths(12);
  const counts = new Map(months.map((m) => [m, 0]));
  for (const f of fc.features) {
    const at = f.properties.completed_at;
    if (!at) continue;
    const m = dayInCounty(at).slice(0, 7);
    if (counts.has(m)) counts.set(m, counts.get(m) + 1);
  }
  return { months: months.map((m) => ({ month: m, completed: counts.get(m) })), source: 'tasks' };
}

function lastMonths(n) {
  const [y, m] = today().split('-').map(Number);
  const out = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(y, m - 1 - i, 1));
    out.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return out;
}
