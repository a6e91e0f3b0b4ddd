// The chart of completions per month (Chart.js, loaded when the chart is first shown).

import { t, lang, onLangChange } from './i18n.js';
import { chartJs } from './lib.js';
import { h, clear } from './ui.js';

/**
 * The chart in `root`, drawn with each update (and again when the language changes).
 * @param {HTMLElement} root
 * @returns {{update: (data: {months: object[] | null, township?: string | null}) => Promise<void>}}
 */
export function monthlyChart(root) {
  let data = null;
  let chart = null;

  async function render() {
    if (!data) return;
    if (!data.months) {
      chart?.destroy();
      chart = null;
      clear(root, h('p', { class: 'note' }, t('chart.unavailable')));
      return;
    }
    const Chart = await chartJs();
    const labels = data.months.map((m) => (lang() === 'en' ? m.month : `${m.month.slice(0, 4)}年${Number(m.month.slice(5))}月`));
    const values = data.months.map((m) => m.completed);
    const verified = data.months.map((m) => m.verified);
    const total = values.reduce((a, b) => a + b, 0);
    if (!chart) {
      const canvas = h('canvas', { id: 'monthly-canvas', role: 'img' });
      clear(root, h('div', { class: 'chart-box' }, canvas), h('p', { class: 'note', id: 'monthly-summary' }));
      chart = new Chart(canvas, {
        type: 'bar',
        data: { labels, datasets: [
          { label: t('chart.completed'), data: values, backgroundColor: '#74c476' },
          { label: t('chart.verified'), data: verified, backgroundColor: '#006d2c' }] },
        options: { responsive: true, maintainAspectRatio: false, animation: false,
          plugins: { legend: { position: 'bottom' } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    } else {
      chart.data.labels = labels;
      chart.data.datasets[0].data = values;
      chart.data.datasets[0].label = t('chart.completed');
      chart.data.datasets[1].data = verified;
      chart.data.datasets[1].label = t('chart.verified');
      chart.update();
    }
    root.querySelector('canvas').setAttribute('aria-label', t('chart.aria', { total }));
    root.querySelector('#monthly-summary').textContent = t('chart.summary', { total, months: values.length, where: data.township ?? t('league.county') });
  }

  onLangChange(render);
  return {
    update(d) {
      data = d;
      return render();
    },
  };
}
