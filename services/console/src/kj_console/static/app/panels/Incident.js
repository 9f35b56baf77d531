// An incident's page: what was reported (the caller's number masked), the clock against its
// target, the units sent with their ETA, the runner-up and the reason, the timeline with who
// did what, the calls merged into it, broadcasts with their deliveries, and, for dispatchers,
// the actions: send or reassign a chosen unit, add a backup, withdraw, hold, close, unmerge a
// call, call taxi drivers and volunteers near it.
import { api, ApiError } from '../api.js';
import { h, clear } from '../dom.js';
import { code, t } from '../i18n.js';
import { callsign, store, subscribe } from '../store.js';
import { clockText, dateTime, duration, now, timeOfDay } from '../clock.js';
import { awaitAnswer, toast } from './Toasts.js';
import { showRadius } from '../map/BroadcastLayer.js';

const DISPOSITIONS = ['resolved', 'false_alarm', 'referred', 'arrested', 'no_police_needed', 'duplicate'];

async function send(body) {
  try {
    const { command_id: id } = await api.command(body);
    awaitAnswer(id, body.kind);
  } catch (e) {
    failed(e, body.kind);
  }
}

function failed(e, kind) {
  if (e instanceof ApiError && e.status === 403) toast(t('toast.not_allowed'), 'refused', 'not_allowed');
  else toast(t('toast.failed', { what: t(`cmd.${kind}`) }), 'refused');
}

function distance(m) {
  return m < 1000 ? t('incident.metres', { m }) : t('incident.km', { km: (m / 1000).toFixed(1) });
}

export function renderIncident(root, alarmId, { map, onUnit, onClose }) {
  let page = null;
  let timer = null;
  let radius = null;
  const clock = h('span', { class: 'incident-big-clock' });

  async function load() {
    try {
      page = await api.incident(alarmId);
    } catch (e) {
      root.replaceChildren(h('p', { class: 'empty' }, t('incident.not_found')));
      return;
    }
    render();
  }

  function header(incident) {
    return h(
      'header',
      { class: 'incident-header' },
      h('button', { class: 'close', onclick: onClose, title: t('incident.close_panel') }, '×'),
      h('span', { class: `badge p${incident.priority}` }, code('priority', incident.priority)),
      h('h2', {}, code('category', incident.category)),
      h('span', { class: 'tag' }, code('tier', incident.tier)),
      h('span', { class: 'tag status', dataset: { status: incident.status } }, code('status', incident.status)),
      incident.held ? h('span', { class: 'tag held' }, t('queue.held')) : null,
    );
  }

  function facts(incident) {
    const rows = [
      [t('incident.reported'), dateTime(incident.reported)],
      [t('incident.clock'), clock],
      [t('incident.address'), incident.address || ''],
      [t('incident.description'), incident.description || ''],
      [t('incident.phone'), incident.phone || ''],
      [t('incident.callers'), String(incident.callers)],
    ];
    const live = store.incidents.get(alarmId);
    if (live?.queued) rows.push([t('incident.queued'), code('queued', live.queued)]);
    return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', { class: k === t('incident.phone') ? 'phone' : '' }, v)]).flat());
  }

  function orders() {
    const open = page.orders.filter((o) => ['assigned', 'accepted', 'en_route', 'on_scene'].includes(o.status));
    const items = page.orders.map((o) => {
      const isOpen = open.includes(o);
      return h(
        'li',
        { class: `order ${o.status}`, dataset: { unit: o.unit, order: o.id } },
        h('button', { class: 'link', onclick: () => onUnit(o.unit) }, callsign(o.unit)),
        h('span', {}, code('role', o.role)),
        h('span', { class: 'order-status' }, code('order', o.status)),
        h('span', {}, t('incident.eta', { s: duration(o.eta * 1000) })),
        h('span', { class: 'order-reason' }, code('reason', o.reason)),
        o.runner_up ? h('span', { class: 'runner-up' }, t('incident.runner_up', { unit: callsign(o.runner_up), s: duration((o.runner_up_eta || 0) * 1000) })) : null,
        o.withdraw_reason ? h('span', { class: 'tag' }, code('reason', o.withdraw_reason)) : null,
        isOpen && store.me.may_act
          ? h('button', { class: 'action withdraw', onclick: () => send({ kind: 'withdraw_work_order', alarm_id: alarmId, work_order_id: o.id }) }, t('incident.withdraw'))
          : null,
      );
    });
    return h('section', {}, h('h3', {}, t('incident.orders')), items.length ? h('ul', { class: 'orders' }, items) : h('p', { class: 'empty' }, t('incident.no_orders')));
  }

  function timeline() {
    const items = page.timeline.map((e) =>
      h(
        'li',
        { dataset: { kind: e.kind } },
        h('span', { class: 'when' }, timeOfDay(e.at)),
        h('span', { class: 'what' }, code('timeline', e.kind)),
        e.detail?.command ? h('span', {}, t(`cmd.${e.detail.command}`), ' · ', code('outcome', e.detail.outcome)) : null,
        e.detail?.reason ? h('span', { class: 'why' }, code('refusal', e.detail.reason)) : null,
        e.unit ? h('span', {}, callsign(e.unit)) : null,
        e.detail?.actor ? h('span', { class: 'actor' }, e.detail.actor) : null,
      ),
    );
    const audit = page.audit.map((a) =>
      h(
        'li',
        { dataset: { action: a.action } },
        h('span', { class: 'when' }, timeOfDay(a.at)),
        h('span', { class: 'actor' }, a.actor),
        h('span', {}, code('cmd', a.action)),
        h('span', {}, code('outcome', a.outcome)),
        a.reason ? h('span', { class: 'why' }, code('refusal', a.reason)) : null,
      ),
    );
    return [
      h('section', {}, h('h3', {}, t('incident.timeline')), h('ol', { class: 'timeline' }, items)),
      audit.length ? h('section', {}, h('h3', {}, t('incident.audit')), h('ol', { class: 'timeline audit-list' }, audit)) : null,
    ];
  }

  function merged() {
    if (!page.merged.length) return null;
    return h(
      'section',
      {},
      h('h3', {}, t('incident.merged')),
      h(
        'ul',
        { class: 'merged' },
        page.merged.map((m) =>
          h(
            'li',
            {},
            h('span', {}, timeOfDay(m.reported)),
            h('span', { class: 'phone' }, m.phone || ''),
            store.me.may_act
              ? h('button', { class: 'action', onclick: () => unmerge(m.id) }, t('incident.unmerge'))
              : null,
          ),
        ),
      ),
    );
  }

  async function unmerge(id) {
    try {
      await api.unmerge(id);
      toast(t('toast.done', { what: t('cmd.unmerge') }), 'done');
      load();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) toast(t('toast.refused', { what: t('cmd.unmerge'), reason: code('refusal', e.body?.reason) }), 'refused', e.body?.reason);
      else failed(e, 'unmerge');
    }
  }

  function actions(incident) {
    if (!store.me.may_act || incident.status === 'closed') return null;
    const choose = h(
      'select',
      { name: 'unit', class: 'choose-unit' },
      page.nearby.map((n) =>
        h(
          'option',
          { value: n.unit, disabled: Boolean(n.duty) },
          `${callsign(n.unit)} · ${distance(n.metres)} · ${n.duty ? t(`unit.duty.${n.duty}`) : code('unitstatus', n.status)}${n.busy_with ? ` · ${t('unit.busy_with')}` : ''}`,
        ),
      ),
    );
    const hasPrimary = page.orders.some((o) => o.role === 'primary' && ['assigned', 'accepted', 'en_route', 'on_scene'].includes(o.status));
    const disposition = h('select', { name: 'disposition' }, DISPOSITIONS.map((d) => h('option', { value: d }, code('disposition', d))));
    const live = store.incidents.get(alarmId);
    const held = Boolean(live?.held ?? page.incident.held);
    return h(
      'section',
      { class: 'actions' },
      h('h3', {}, t('incident.actions')),
      h('label', {}, t('incident.choose_unit'), choose),
      h(
        'div',
        { class: 'buttons' },
        h('button', { class: 'action assign', onclick: () => send({ kind: 'assign_unit', alarm_id: alarmId, unit_id: choose.value }) }, hasPrimary ? t('incident.assign') : t('incident.assign_first')),
        h('button', { class: 'action backup', onclick: () => send({ kind: 'add_backup', alarm_id: alarmId, unit_id: choose.value }) }, t('incident.backup')),
        hasPrimary
          ? null
          : h('button', { class: 'action hold', onclick: () => send({ kind: 'hold_alarm', alarm_id: alarmId, hold: !held }) }, held ? t('incident.release') : t('incident.hold')),
      ),
      h(
        'div',
        { class: 'buttons' },
        h('label', {}, t('incident.disposition'), disposition),
        h('button', { class: 'action close-alarm danger', onclick: () => send({ kind: 'close_alarm', alarm_id: alarmId, disposition_code: disposition.value }) }, t('incident.close')),
      ),
    );
  }

  function broadcast(incident) {
    const counts = page.broadcasts.map((b) => {
      const live = store.broadcasts.get(b.id) || b;
      return h('li', { dataset: { broadcast: b.id } }, h('span', {}, timeOfDay(b.at)), h('span', { class: 'actor' }, b.actor), h('span', {}, `${b.radius_m} m`), h('span', { class: 'broadcast-counts' }, t('broadcast.counts', { delivered: live.delivered, failed: live.failed })));
    });
    if (!store.me.may_act) return counts.length ? h('section', {}, h('h3', {}, t('broadcast.title')), h('ul', {}, counts)) : null;
    const metres = h('input', { name: 'radius', type: 'number', min: 100, max: 20000, step: 100, value: 2000 });
    const taxi = h('input', { name: 'taxi', type: 'checkbox', checked: true });
    const volunteer = h('input', { name: 'volunteer', type: 'checkbox', checked: true });
    const text = h('textarea', { name: 'text', rows: 2, maxlength: 500 });
    text.value = t('broadcast.default_text', { category: code('category', incident.category), address: incident.address || '' });
    metres.addEventListener('focus', () => {
      if (!radius) radius = showRadius(map, incident.lat, incident.lon, Number(metres.value));
    });
    metres.addEventListener('input', () => radius && radius.setRadius(Number(metres.value)));
    async function submit() {
      const audience = [taxi.checked && 'taxi', volunteer.checked && 'volunteer'].filter(Boolean);
      try {
        await api.broadcast({ alarm_id: alarmId, lat: incident.lat, lon: incident.lon, radius_m: Number(metres.value), audience, text: text.value });
        toast(t('broadcast.sent'), 'done');
        load();
      } catch (e) {
        failed(e, 'broadcast');
      }
    }
    return h(
      'section',
      { class: 'broadcast' },
      h('h3', {}, t('broadcast.title')),
      h('label', {}, t('broadcast.radius'), metres),
      h('label', { class: 'inline' }, taxi, t('broadcast.taxi')),
      h('label', { class: 'inline' }, volunteer, t('broadcast.volunteer')),
      h('label', {}, t('broadcast.text'), text),
      h('button', { class: 'action send-broadcast', onclick: submit }, t('broadcast.send')),
      counts.length ? h('ul', { class: 'broadcasts' }, counts) : null,
    );
  }

  function tick() {
    const incident = store.incidents.get(alarmId) || page?.incident;
    if (!incident) return;
    const elapsed = now() - incident.reported;
    clock.textContent = `${clockText(elapsed)} / ${clockText(incident.target * 1000)}`;
    clock.classList.toggle('late', elapsed > incident.target * 1000 && incident.status !== 'closed');
  }

  function render() {
    const incident = page.incident;
    clear(root);
    root.append(
      h(
        'article',
        { class: 'incident', dataset: { incident: alarmId } },
        header(incident),
        facts(incident),
        orders(),
        actions(incident),
        merged(),
        broadcast(incident),
        ...timeline(),
      ),
    );
    tick();
  }

  let reload = null;
  function soon() {
    if (reload === null) reload = setTimeout(() => { reload = null; load(); }, 300);
  }
  const off = [
    subscribe('incidents', (id) => { if (id === alarmId || id === null) soon(); }),
    subscribe('answer', (a) => { if (a.alarm === alarmId) soon(); }),
    subscribe('broadcast', () => page && render()),
  ];
  timer = setInterval(tick, 1000);
  root.replaceChildren(h('p', { class: 'loading' }, '…'));
  load();
  return () => {
    off.forEach((f) => f());
    clearInterval(timer);
    if (reload) clearTimeout(reload);
    if (radius) radius.remove();
  };
}
