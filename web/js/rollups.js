// Township figures for the choropleth and the league table, and the monthly series, from the
// service's rollups (its definitions are in the API description: completion rate, on-time rate...).

import { get, query } from './api.js';

const COUNTY_TZ = 'Asia/Shanghai';
const dayInCounty = (d) => new Intl.DateTimeFormat('en-CA', { timeZone: COUNTY_TZ }).format(d);

function rollupParams(filters) {
  return { category: filters.category, supervised: filters.supervised ? 'true' : '' };
}

/// {rows, county}: one row per township and the county total.
export async function townshipFigures(filters) {
  const body = await get(`/api/rollups/townships${query(rollupParams(filters))}`);
  return { rows: body.townships, county: body.county };
}

/// The last twelve months (county time) of completions and verifications.
export async function monthlyCompletions(filters) {
  const today = dayInCounty(new Date());
  const [y, m] = today.split('-').map(Number);
  const start = new Date(Date.UTC(y, m - 12, 1)).toISOString().slice(0, 10);
  const body = await get(`/api/rollups/monthly${query({ ...rollupParams(filters), township: filters.township, from: start, to: today })}`);
  return { months: body.months, township: body.township_name };
}
