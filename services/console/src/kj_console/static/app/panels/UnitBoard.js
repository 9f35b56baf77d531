// The unit board: per platform, its units by status (stale and lost apart), each clickable.
// The chips are built once and kept by unit: a second's positions change a province's 2,000
// units, but a chip is touched only when what it shows (status, duty, stale, lost) changed.
import { h } from '../dom.js';
import { code, t } from '../i18n.js';
import { store, subscribe } from '../store.js';
import { now } from '../clock.js';
import { freshness, STATUS_COLOURS } from '../map/UnitsLayer.js';

function looks(unitId, at) {
  const unit = store.units.get(unitId);
  const state = unit ? freshness(unit, at) : 'none';
  const duty = store.duty[unitId];
  const status = unit ? unit.status : null;
  const label = duty ? t(`unit.duty.${duty}`) : status ? code('unitstatus', status) : t('units.none');
  return {
    reporting: Boolean(unit),
    className: `unit-chip ${state}${duty ? ' duty' : ''}`,
    status: status || 'none',
    colour: duty ? STATUS_COLOURS.off_duty : STATUS_COLOURS[status] || '#ced4da',
    label,
    text: state === 'lost' ? t('unit.lost') : label,
  };
}

export function renderUnitBoard(root, onSelect) {
  const body = h('div', { class: 'board' });
  const header = h('div', { class: 'panel-header' });
  root.replaceChildren(header, body);
  const chips = new Map(); // unit id -> {element, text, shown: signature of what it shows}
  let scheduled = null;

  function patch(chip, look) {
    const shown = `${look.className}|${look.status}|${look.colour}|${look.text}|${look.label}`;
    if (shown === chip.shown) return;
    chip.shown = shown;
    chip.element.className = look.className;
    chip.element.dataset.status = look.status;
    chip.element.style.borderLeftColor = look.colour;
    chip.element.title = look.label;
    chip.text.textContent = look.text;
  }

  function build() {
    const sections = [];
    for (const platform of store.city.platforms) {
      const members = store.city.units.filter((u) => u.platform === platform.id);
      const row = members.map((info) => {
        const text = h('span', { class: 'unit-status' });
        const element = h(
          'button',
          { dataset: { unit: info.id }, onclick: () => onSelect(info.id) },
          h('span', { class: 'unit-callsign' }, info.callsign),
          text,
        );
        chips.set(info.id, { element, text, shown: '' });
        return element;
      });
      sections.push(h('section', { class: 'platform' }, h('h3', {}, platform.name), h('div', { class: 'chips' }, row)));
    }
    body.replaceChildren(...sections);
  }

  function render() {
    scheduled = null;
    const at = now();
    let reporting = 0;
    for (const [id, chip] of chips) {
      const look = looks(id, at);
      if (look.reporting) reporting += 1;
      patch(chip, look);
    }
    header.textContent = t('units.count', { n: reporting });
  }

  function schedule() {
    if (scheduled === null) scheduled = setTimeout(render, 1000);
  }
  const off = [subscribe('units', schedule), subscribe('duty', schedule)];
  build();
  render();
  return () => {
    off.forEach((f) => f());
    if (scheduled !== null) clearTimeout(scheduled);
  };
}
