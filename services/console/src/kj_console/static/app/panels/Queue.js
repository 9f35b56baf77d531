// The call queue: open incidents by urgency (priority, then the time left to their target),
// the ones waiting with their reason, held, at risk, and how many callers each has.
import { h } from '../dom.js';
import { code, t } from '../i18n.js';
import { callsign, store, subscribe } from '../store.js';
import { clockText, now } from '../clock.js';

export function urgency(incident, at) {
  const left = incident.reported + incident.target * 1000 - at;
  return [incident.priority, left];
}

export function renderQueue(root, onSelect) {
  const list = h('ol', { class: 'queue' });
  const header = h('div', { class: 'panel-header' });
  const empty = h('li', { class: 'empty' }, t('queue.empty'));
  root.replaceChildren(header, list);
  // rows kept by incident: each second only the running clocks change; a row is rebuilt when
  // what else it shows changed, and moved only when the order did
  const rows = new Map(); // incident id -> {element, clock, shown}

  function row(incident, late) {
    const primary = incident.orders.find((o) => o.role === 'primary');
    const clock = h('span', { class: 'queue-clock' });
    const element = h(
      'li',
      {
        class: `queue-item p${incident.priority}${late ? ' late' : ''}`,
        dataset: { incident: incident.id },
        onclick: () => onSelect(incident.id),
      },
      h('span', { class: `badge p${incident.priority}` }, code('priority', incident.priority)),
      h('span', { class: 'queue-what' }, code('category', incident.category)),
      clock,
      h('span', { class: 'queue-where' }, incident.address || code('tier', incident.tier)),
      h(
        'span',
        { class: 'queue-state' },
        primary ? `${callsign(primary.unit)} · ${code('order', primary.status)}` : t('queue.waiting'),
      ),
      incident.queued ? h('span', { class: 'tag queued' }, code('queued', incident.queued)) : null,
      incident.held ? h('span', { class: 'tag held' }, t('queue.held')) : null,
      incident.at_risk ? h('span', { class: 'tag at-risk' }, t('queue.at_risk')) : null,
      incident.callers > 1 ? h('span', { class: 'tag callers' }, t('queue.callers', { n: incident.callers })) : null,
    );
    return { element, clock, shown: '' };
  }

  function shows(incident, late) {
    const primary = incident.orders.find((o) => o.role === 'primary');
    return [
      incident.priority, incident.category, incident.address, incident.tier, late,
      primary?.unit, primary?.status, incident.queued, incident.held, incident.at_risk, incident.callers,
    ].join('|');
  }

  function render() {
    const at = now();
    const open = [...store.incidents.values()].sort((a, b) => {
      const [pa, la] = urgency(a, at);
      const [pb, lb] = urgency(b, at);
      return pa - pb || la - lb;
    });
    header.textContent = t('queue.count', { n: open.length });
    const wanted = [];
    const still = new Set();
    for (const incident of open) {
      const elapsed = at - incident.reported;
      const late = elapsed > incident.target * 1000;
      const shown = shows(incident, late);
      let kept = rows.get(incident.id);
      if (!kept || kept.shown !== shown) {
        const fresh = row(incident, late);
        fresh.shown = shown;
        if (kept) kept.element.replaceWith(fresh.element);
        rows.set(incident.id, fresh);
        kept = fresh;
      }
      const clock = `${clockText(elapsed)} / ${clockText(incident.target * 1000)}`;
      if (kept.clock.textContent !== clock) kept.clock.textContent = clock;
      wanted.push(kept.element);
      still.add(incident.id);
    }
    for (const [id, kept] of rows) {
      if (!still.has(id)) {
        kept.element.remove();
        rows.delete(id);
      }
    }
    if (wanted.length === 0) {
      if (!empty.isConnected) list.replaceChildren(empty);
      return;
    }
    if (empty.isConnected) empty.remove();
    let cursor = list.firstChild;
    for (const element of wanted) {
      if (element === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(element, cursor);
    }
  }

  const off = subscribe('incidents', render);
  const ticking = setInterval(render, 1000);
  render();
  return () => {
    off();
    clearInterval(ticking);
  };
}
