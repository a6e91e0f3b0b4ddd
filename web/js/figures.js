// The township figures (the map's shading and the league table) and the monthly chart: asked for
// again whenever the filters or the ledger change; the chart is drawn only while its tab shows.

import { leagueTable } from './league.js';
import { departmentLeague } from './departments.js';
import { monthlyChart } from './monthly.js';
import { townshipFigures, monthlyCompletions } from './rollups.js';
import { currentCampaign, targetProgress } from './campaign-data.js';
import { publishedRanking } from './ranking.js';
import { $ } from './ui.js';

/**
 * The league table in #league and the chart in #chart-box, fed from the rollups.
 * @param {import('./app.js').App} app
 * @returns {{refresh: () => Promise<void>, showChart: () => void}}
 */
export function figures(app) {
  const league = leagueTable($('#league'), {
    onPick: (code) => {
      const b = app.towns.bounds(code);
      if (b) app.map.fitBounds(b, { padding: [16, 16] });
    },
  });
  const departments = departmentLeague($('#department-league'));
  const chart = monthlyChart($('#chart-box'));
  let chartData = null;

  const ranking = publishedRanking($('#ranking'));

  /** Each township's completion against this year's targets, when a campaign runs; null else. */
  async function againstTargets() {
    try {
      const current = await currentCampaign();
      if (!current) return null;
      const progress = await targetProgress(current.campaign.code, current.year);
      return { current, rates: new Map(progress.townships.map((r) => [r.township, r.rate])) };
    } catch {
      return null;
    }
  }

  async function refreshTownships() {
    try {
      const [figures, targets] = await Promise.all([townshipFigures(app.state.filters), againstTargets()]);
      if (targets) {
        for (const r of figures.rows) r.against_target = targets.rates.get(r.township_code) ?? null;
        figures.campaign = targets.current;
      }
      ranking.update(targets?.current ?? null);
      app.towns.update(figures.rows);
      league.update(figures);
    } catch {
      app.towns.update(null);
      league.update({ rows: null, reason: 'error' });
    }
  }

  async function refresh() {
    await Promise.all([refreshTownships(), departments.refresh(app.state.filters)]);
    try {
      chartData = await monthlyCompletions(app.state.filters);
    } catch {
      chartData = { months: null, reason: 'error' };
    }
    if (app.state.tab === 'chart') chart.update(chartData);
  }

  return { refresh, showChart: () => chartData && chart.update(chartData) };
}
