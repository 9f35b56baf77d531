// The call queue: open incidents by urgency (priority, then the time left to their target),
// the ones waiting with their reason, held, at risk, and how many callers each has.
import { h, clear } from '../dom.js';
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
  root.replaceChildren(header, list);

  function row(incident, at) {
    const elapsed = at - incident.reported;
    const late = elapsed > incident.target * 1000;
    const primary = incident.orders.find((o) => o.role === 'primary');
    return h(
      'li',
      {
        class: `queue-item p${incident.priority}${late ? ' late' : ''}`,
        dataset: { incident: incident.id },
        onclick: () => onSelect(incident.id),
      },
      h('span', { class: `badge p${incident.priority}` }, code('priority', incident.priority)),
      h('span', { class: 'queue-what' }, code('category', incident.category)),
      h('span', { class: 'queue-clock' }, `${clockText(elapsed)} / ${clockText(incident.target * 1000)}`),
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
  }

  function render() {
    const at = now();
    const open = [...store.incidents.values()].sort((a, b) => {
      const [pa, la] = urgency(a, at);
      const [pb, lb] = urgency(b, at);
      return pa - pb || la - lb;
    });
    header.textContent = t('queue.count', { n: open.length });
    clear(list);
    if (open.length === 0) list.append(h('li', { class: 'empty' }, t('queue.empty')));
    for (const incident of open) list.append(row(incident, at));
  }

  const off = subscribe('incidents', render);
  const ticking = setInterval(render, 1000);
  render();
  return () => {
    off();
    clearInterval(ticking);
  };
}
