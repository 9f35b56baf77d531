// Notices from dispatch (coverage gaps with a suggested move-up, shortfalls, at-risk calls,
// units that did not accept) and dead letters worth a look.
import { h, clear } from '../dom.js';
import { code, t } from '../i18n.js';
import { callsign, store, subscribe } from '../store.js';
import { timeOfDay } from '../clock.js';

export function renderNotices(root, onIncident) {
  const list = h('ol', { class: 'notices' });
  root.replaceChildren(list);
  function render() {
    clear(list);
    if (store.notices.length === 0) list.append(h('li', { class: 'empty' }, t('notices.empty')));
    for (const n of store.notices) {
      const reason = n.kind === 'dead_letter' ? n.reason : code('queued', n.reason) || n.reason;
      list.append(
        h(
          'li',
          { class: `notice ${n.kind}`, dataset: { kind: n.kind } },
          h('span', { class: 'notice-time' }, timeOfDay(n.at)),
          h('span', { class: 'notice-kind' }, code('notice', n.kind)),
          h('span', { class: 'notice-reason' }, reason),
          n.unit ? h('span', {}, callsign(n.unit)) : null,
          n.suggested_unit ? h('span', {}, t('notice.suggest', { unit: callsign(n.suggested_unit) })) : null,
          n.kind === 'dead_letter' ? h('span', {}, t('notice.from', { source: n.source, service: n.service })) : null,
          n.alarm ? h('button', { class: 'link', onclick: () => onIncident(n.alarm) }, t('incident.title')) : null,
        ),
      );
    }
  }
  const off = subscribe('notices', render);
  render();
  return off;
}
