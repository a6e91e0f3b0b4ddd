// Township figures for the choropleth and the league table, and the monthly series, from the
// service's rollups (its definitions are in the API description: completion rate, on-time rate...).

import { get, query } from './api.js';
import { dayInCounty } from './county.js';

function rollupParams(filters) {
  return { category: filters.category, supervised: filters.supervised ? 'true' : '' };
}

/**
 * One row per township and the county total, under the filters the rollups take.
 * @param {object} filters the map's filters (state.js)
 * @returns {Promise<{rows: object[], county: object}>}
 */
export async function townshipFigures(filters) {
  const body = await get(`/api/rollups/townships${query(rollupParams(filters))}`);
  return { rows: body.townships, county: body.county };
}

/**
 * The last twelve months (county time) of completions and verifications, for the township filtered
 * on or the whole county.
 * @param {object} filters the map's filters (state.js)
 * @returns {Promise<{months: object[], township: string | null}>} `township` is the township's
 *   name, null for the county total (which the service tells by a null code, not by its name)
 */
export async function monthlyCompletions(filters) {
  const today = dayInCounty(new Date());
  const [y, m] = today.split('-').map(Number);
  const start = new Date(Date.UTC(y, m - 12, 1)).toISOString().slice(0, 10);
  const body = await get(`/api/rollups/monthly${query({ ...rollupParams(filters), township: filters.township, from: start, to: today })}`);
  return { months: body.months, township: body.township_code === null ? null : body.township_name };
}
