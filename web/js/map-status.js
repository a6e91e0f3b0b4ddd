// The line at the map's corner saying how many tasks are in view, and when the map cannot show
// them all, why and what to do about it.

import { t, onLangChange } from './i18n.js';
import { h, clear } from './ui.js';

const L = window.L;

/**
 * The status line in the map's corner.
 * @param {object} map the Leaflet map
 * @param {{onMore: () => void}} handlers `onMore` asks for the next page
 * @returns {{update: (counts: object) => void}} takes what the tasks layer reports (or {error})
 */
export function statusLine(map, { onMore }) {
  const control = L.control({ position: 'bottomright' });
  control.onAdd = () => {
    const div = h('div', { class: 'map-status', id: 'map-status', role: 'status', 'aria-live': 'polite' });
    L.DomEvent.disableClickPropagation(div);
    return div;
  };
  control.addTo(map);
  let counts = null;

  function render() {
    const el = document.getElementById('map-status');
    if (!counts) return;
    const warn = !!counts.error || counts.matched > counts.shown;
    el.classList.toggle('warn', warn);
    if (counts.error) {
      clear(el, counts.error);
    } else if (counts.matched > counts.shown) {
      clear(el, t('map.pages', { what: t(`map.why.${counts.reason}`, {}, t('map.why.tiles')), shown: counts.shown,
        matched: Number.isFinite(counts.matched) ? counts.matched : '10000+' }),
        counts.more ? h('button', { type: 'button', class: 'link', id: 'map-more', onclick: onMore }, t('map.more', { n: counts.more })) : null);
    } else if (counts.mode === 'tiles') {
      clear(el, t(counts.approximate ? 'map.groupedAbout' : 'map.grouped', { n: counts.inView }));
    } else {
      clear(el, t('map.count', { n: counts.inView }));
    }
  }
  onLangChange(render);

  return {
    update(c) {
      counts = c;
      render();
    },
  };
}
