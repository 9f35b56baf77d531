// The unit board: per platform, its units by status (stale and lost apart), each clickable.
import { h, clear } from '../dom.js';
import { code, t } from '../i18n.js';
import { store, subscribe } from '../store.js';
import { now } from '../clock.js';
import { freshness, STATUS_COLOURS } from '../map/UnitsLayer.js';

export function renderUnitBoard(root, onSelect) {
  const body = h('div', { class: 'board' });
  const header = h('div', { class: 'panel-header' });
  root.replaceChildren(header, body);
  let scheduled = null;

  function render() {
    scheduled = null;
    const at = now();
    clear(body);
    let reporting = 0;
    for (const platform of store.city.platforms) {
      const units = store.city.units.filter((u) => u.platform === platform.id);
      const chips = units.map((info) => {
        const unit = store.units.get(info.id);
        if (unit) reporting += 1;
        const state = unit ? freshness(unit, at) : 'none';
        const duty = store.duty[info.id];
        const status = unit ? unit.status : null;
        const label = duty ? t(`unit.duty.${duty}`) : status ? code('unitstatus', status) : t('units.none');
        return h(
          'button',
          {
            class: `unit-chip ${state}${duty ? ' duty' : ''}`,
            dataset: { unit: info.id, status: status || 'none' },
            style: `border-left-color: ${duty ? STATUS_COLOURS.off_duty : STATUS_COLOURS[status] || '#ced4da'}`,
            title: label,
            onclick: () => onSelect(info.id),
          },
          h('span', { class: 'unit-callsign' }, info.callsign),
          h('span', { class: 'unit-status' }, state === 'lost' ? t('unit.lost') : label),
        );
      });
      body.append(h('section', { class: 'platform' }, h('h3', {}, platform.name), h('div', { class: 'chips' }, chips)));
    }
    header.textContent = t('units.count', { n: reporting });
  }

  function schedule() {
    if (scheduled === null) scheduled = setTimeout(render, 1000);
  }
  const off = [subscribe('units', schedule), subscribe('duty', schedule)];
  render();
  return () => {
    off.forEach((f) => f());
    if (scheduled !== null) clearTimeout(scheduled);
  };
}
