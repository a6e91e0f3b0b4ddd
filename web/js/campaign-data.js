// The campaign the map shows figures against (the one running this year, else the latest) and
// its targets' progress, as the service counts them from the tasks (GET /api/campaigns/…/targets).

import { get, query } from './api.js';
import { dayInCounty } from './county.js';

/**
 * The campaign running in the county's current year (else the most recent one) and the year to
 * show: this year when the campaign runs in it, else the campaign's last year. Null when there is
 * no campaign.
 * @returns {Promise<{campaign: object, year: number} | null>}
 */
export async function currentCampaign() {
  const list = await get('/api/campaigns');
  if (!list.length) return null;
  const year = Number(dayInCounty(new Date()).slice(0, 4));
  const campaign = list.find((c) => c.first_year <= year && year <= c.last_year) || list[0];
  return { campaign, year: Math.min(Math.max(year, campaign.first_year), campaign.last_year) };
}

/**
 * The targets of `code` in `year` (of one township when given) with their progress, and each
 * township's completion against its targets.
 * @param {string} code
 * @param {number} year
 * @param {string} [township]
 * @returns {Promise<{targets: object[], townships: object[], coverage: string}>}
 */
export function targetProgress(code, year, township) {
  return get(`/api/campaigns/${encodeURIComponent(code)}/targets${query({ year, township })}`);
}

/**
 * The link to a campaign's targets as CSV.
 * @param {string} code
 * @param {number} year
 */
export const targetsCsv = (code, year) => `/api/campaigns/${encodeURIComponent(code)}/targets.csv${query({ year })}`;

/**
 * The path of a campaign year's assessment (add `.xlsx` for the workbook).
 * @param {string} code
 * @param {number} year
 */
export const assessmentPath = (code, year) => `/api/campaigns/${encodeURIComponent(code)}/years/${year}/assessment`;
