// The work order sheet under the map: what the order is, where, how long it has run, and the
// answer buttons, large enough for a gloved thumb on a motorcycle. One primary button at a
// time (the next step), rejecting a step away; closing and rejecting ask for their code on a
// second screen of big buttons.

import { clock, h } from './dom.js';
import { DISPOSITIONS, REJECT_REASONS, known, t } from './i18n.js';
import { ARRIVAL_M, metres } from './map.js';
import { Orders } from './orders.js';

const PRIMARY = {
  assigned: 'action.accept',
  accepted: 'action.en_route',
  en_route: 'action.on_scene',
  on_scene: 'action.close',
};

function distance(m) {
  return m < 1000 ? t('meters', { n: Math.round(m) }) : t('kilometers', { n: (m / 1000).toFixed(1) });
}

function measures(order, position, now) {
  const wo = order.work_order;
  const away = position ? metres(position, wo.scene) : null;
  const elapsed = (now - Date.parse(wo.reported_at)) / 1000;
  return { away, elapsed, late: elapsed > wo.target_seconds };
}

// the clock and the distance, updated in place (a re-render under a thumb would lose its tap)
export function refresh(element, order, position, now) {
  if (!order || order.withdrawn) return;
  const { away, elapsed, late } = measures(order, position, now);
  const shown = element.querySelector('.elapsed');
  if (shown) {
    shown.textContent = t('order.elapsed', { time: clock(elapsed) });
    shown.classList.toggle('late', late);
  }
  const distanceShown = element.querySelector('.distance');
  if (distanceShown && away !== null) {
    distanceShown.textContent = away <= ARRIVAL_M ? t('order.near') : t('order.distance', { d: distance(away) });
  }
}

export function sheet({ order, post, position, picker, now, onAnswer, onPick, onDismiss }) {
  if (!order && post) {
    const away = position ? metres(position, post.scene) : null;
    return h(
      'section',
      { class: 'sheet idle post', 'data-testid': 'order', 'data-state': 'post', 'data-post-id': post.post_id },
      h('h2', {}, t('post.title', { post: post.post_id })),
      h('p', { class: 'big' }, t('post.body', { m: post.radius_m ?? 100 })),
      away === null ? null : h('p', { class: 'distance' }, away <= (post.radius_m ?? 100) ? t('post.there') : t('order.distance', { d: distance(away) })),
    );
  }
  if (!order) {
    return h(
      'section',
      { class: 'sheet idle', 'data-testid': 'order', 'data-state': 'none' },
      h('h2', {}, t('idle.title')),
      h('p', {}, t('idle.body')),
    );
  }
  const wo = order.work_order;
  if (order.withdrawn) {
    return h(
      'section',
      { class: 'sheet withdrawn', 'data-testid': 'order', 'data-state': 'withdrawn', 'data-order-id': order.id },
      h('h2', {}, t('withdrawn.title')),
      h('p', { class: 'big' }, t('withdrawn.body', { reason: known('withdraw', order.withdraw_reason) })),
      h('p', {}, [known('category', wo.category), wo.address].filter(Boolean).join(' · ')),
      h('div', { class: 'actions' }, h('button', { class: 'btn primary', onclick: () => onDismiss(order.id) }, t('action.understood'))),
    );
  }
  if (picker) {
    const codes = picker === 'closed' ? DISPOSITIONS : REJECT_REASONS;
    const prefix = picker === 'closed' ? 'disposition' : 'reject';
    const field = picker === 'closed' ? 'disposition_code' : 'reason';
    return h(
      'section',
      { class: 'sheet picker', 'data-testid': 'order', 'data-state': `pick-${picker}`, 'data-order-id': order.id },
      h('h2', {}, t(picker === 'closed' ? 'pick.disposition' : 'pick.reason')),
      h(
        'div',
        { class: 'choices' },
        codes.map((code) =>
          h(
            'button',
            { class: `btn choice ${picker === 'closed' ? 'go' : 'stop'}`, 'data-code': code, onclick: () => onAnswer(picker, { [field]: code }) },
            t(`${prefix}.${code}`),
          ),
        ),
      ),
      h('button', { class: 'btn quiet', onclick: () => onPick(null) }, t('action.cancel')),
    );
  }
  const { away, elapsed, late } = measures(order, position, now);
  const next = PRIMARY[order.state];
  const actions = [];
  if (next) {
    const kind = Orders.next(order.state);
    actions.push(
      h(
        'button',
        {
          class: `btn primary ${kind}`,
          'data-action': kind,
          onclick: () => (kind === 'closed' ? onPick('closed') : onAnswer(kind, {})),
        },
        t(next),
      ),
    );
  }
  if (order.state === 'accepted') {
    actions.push(h('button', { class: 'btn secondary', 'data-action': 'on_scene', onclick: () => onAnswer('on_scene', {}) }, t('action.on_scene')));
  }
  if (['assigned', 'accepted', 'en_route'].includes(order.state)) {
    actions.push(h('button', { class: 'btn stop', 'data-action': 'rejected', onclick: () => onPick('rejected') }, t('action.reject')));
  }
  if (order.state === 'closed') {
    actions.push(h('button', { class: 'btn primary', onclick: () => onDismiss(order.id) }, t('action.done')));
  }
  return h(
    'section',
    { class: `sheet p${wo.priority}`, 'data-testid': 'order', 'data-state': order.state, 'data-order-id': order.id },
    h(
      'div',
      { class: 'head' },
      h('span', { class: `state s-${order.state}` }, t(`state.${order.state}`)),
      h('span', { class: 'prio' }, t('order.priority', { n: wo.priority })),
      h('span', { class: 'tier' }, known('tier', wo.tier)),
      wo.role === 'backup' ? h('span', { class: 'tier' }, t('order.backup')) : null,
    ),
    h('h2', { class: 'category' }, known('category', wo.category)),
    h('p', { class: 'address', 'data-testid': 'address' }, wo.address || t('order.no_address')),
    wo.description ? h('p', { class: 'description' }, wo.description) : null,
    h(
      'p',
      { class: 'clock' },
      h('span', { class: late ? 'elapsed late' : 'elapsed' }, t('order.elapsed', { time: clock(elapsed) })),
      ' / ',
      t('order.target', { time: t('minutes', { n: Math.round(wo.target_seconds / 60) }) }),
    ),
    h('p', { class: 'distance', 'data-testid': 'distance' }, away === null ? '' : away <= ARRIVAL_M ? t('order.near') : t('order.distance', { d: distance(away) })),
    h('div', { class: 'actions' }, actions),
  );
}
