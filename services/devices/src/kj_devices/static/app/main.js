// The officer app: sign in with the phone's device credentials, then one screen: the map, the
// current work order and its answer buttons. Answers go to the outbox first (kept across
// reloads and dead zones) and leave in order; positions go through the gateway's HTTP endpoint.

import { h } from './dom.js';
import { language, setLanguage, t } from './i18n.js';
import { Link } from './link.js';
import { MapView } from './map.js';
import { Orders } from './orders.js';
import { Outbox, eventId } from './outbox.js';
import { Positions } from './positions.js';
import { SignInError, config, forget, signIn, stored } from './session.js';
import { refresh, sheet } from './sheet.js';

const root = document.getElementById('app');
setLanguage(language());
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('sw.js').catch(() => {}); // works without it, online
}

function languageButton(onSwitch) {
  return h(
    'button',
    {
      class: 'lang',
      'data-testid': 'lang',
      onclick: () => {
        setLanguage(language() === 'zh' ? 'en' : 'zh');
        onSwitch();
      },
    },
    t('lang.switch'),
  );
}

function showSignIn(error = null, values = {}) {
  document.title = t('app.title');
  const device = h('input', {
    name: 'device_id',
    autocomplete: 'username',
    autocapitalize: 'off',
    value: values.device_id ?? '',
    required: true,
  });
  const token = h('input', {
    name: 'token',
    type: 'password',
    autocomplete: 'current-password',
    value: values.token ?? '',
    required: true,
  });
  const submit = h('button', { class: 'btn primary', type: 'submit' }, t('login.submit'));
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        try {
          const { device: signed } = await signIn(device.value, token.value);
          start(signed);
        } catch (failure) {
          const reason = failure instanceof SignInError ? failure.reason : 'failed';
          showSignIn(reason, { device_id: device.value, token: token.value });
        }
      },
    },
    h('h1', {}, t('login.title')),
    h('p', { class: 'hint' }, t('login.hint')),
    h('label', {}, t('login.device'), device),
    h('label', {}, t('login.token'), token),
    error ? h('p', { class: 'error', role: 'alert' }, t(`login.${error}`)) : null,
    submit,
  );
  root.replaceChildren(
    h(
      'main',
      { class: 'screen signin-screen' },
      h('div', { class: 'top' }, languageButton(() => showSignIn(error, { device_id: device.value }))),
      form,
    ),
  );
}

async function start(device) {
  const settings = await config();
  const orders = new Orders(device.unit_id);
  const outbox = new Outbox(device.unit_id);
  const state = { conn: 'connecting', gps: 'none', position: null, picker: null, toast: null };
  const shownDeliveries = new Set();

  const bar = h('header', { class: 'bar' });
  const mapElement = h('div', { class: 'map', 'data-testid': 'map' });
  const sheetHolder = h('div', { class: 'sheet-holder' });
  const toast = h('div', { class: 'toast', role: 'status', 'data-testid': 'toast' });
  root.replaceChildren(h('main', { class: 'screen work' }, bar, mapElement, sheetHolder, toast));
  const map = new MapView(mapElement, {
    tileUrl: settings.tile_url,
    attribution: settings.tile_attribution,
  });

  let toastTimer = null;
  function say(text) {
    toast.textContent = text;
    toast.classList.add('shown');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => toast.classList.remove('shown'), 4000);
  }

  function renderBar() {
    document.title = t('app.title');
    const gps =
      state.gps === 'denied'
        ? t('gps.denied')
        : state.position
          ? t('gps.ok', { m: Math.round(state.position.accuracy_m ?? 0) })
          : t('gps.none');
    bar.replaceChildren(
      h('div', { class: 'unit', 'data-testid': 'unit' }, device.unit_id),
      h(
        'div',
        { class: 'chips' },
        h('span', { class: `chip conn ${state.conn}`, 'data-testid': 'conn', 'data-conn': state.conn }, t(`conn.${state.conn}`)),
        outbox.size
          ? h('span', { class: 'chip queue', 'data-testid': 'queued', 'data-count': outbox.size }, t('queue.pending', { n: outbox.size }))
          : null,
        h('span', { class: `chip gps ${state.gps}`, 'data-testid': 'gps', 'data-sent': positions.sent }, gps),
      ),
      languageButton(render),
      h('button', { class: 'logout', onclick: signOut }, t('logout')),
    );
  }

  function renderSheet() {
    const order = orders.current();
    sheetHolder.replaceChildren(
      sheet({
        order,
        post: orders.post,
        position: state.position,
        picker: state.picker,
        now: Date.now(),
        onAnswer: answer,
        onPick: (picker) => {
          state.picker = picker;
          renderSheet();
        },
        onDismiss: (id) => {
          orders.dismiss(id);
          state.picker = null;
          render();
        },
      }),
    );
    map.show({ unit: state.position, scene: order && !order.withdrawn ? order.work_order.scene : (order ? null : orders.post?.scene ?? null) });
    if (order?.delivery_id && !shownDeliveries.has(order.delivery_id) && link.status === 'online') {
      shownDeliveries.add(order.delivery_id);
      link.read(order.delivery_id); // the officer has it on the screen
    }
  }

  function render() {
    renderBar();
    renderSheet();
  }

  function answer(kind, extra) {
    const order = orders.current();
    if (!order) return;
    const given = {
      event_id: eventId(),
      work_order_id: order.id,
      kind,
      occurred_at: new Date().toISOString(),
      ...extra,
    };
    if (state.position) given.location = { lat: state.position.lat, lon: state.position.lon };
    outbox.push(given);
    orders.answered(order.id, kind);
    state.picker = null;
    if (link.status !== 'online') say(t('answer.queued'));
    link.pump();
    render();
  }

  function signOut() {
    if (!confirm(t('logout.confirm'))) return;
    link.stop();
    positions.stop();
    forget();
    showSignIn();
  }

  const link = new Link({
    device,
    outbox,
    onDelivery: (frame) => {
      if (orders.receive(frame)) {
        const order = orders.byId.get(frame.work_order_id);
        if (order) order.delivery_id = frame.delivery_id;
        if (navigator.vibrate) navigator.vibrate(frame.action === 'withdraw' ? [400, 150, 400] : [250, 100, 250]);
        state.picker = null;
        render();
      }
    },
    onStatus: (status) => {
      state.conn = status;
      renderBar();
    },
    onAnswered: (_answer, refusal) => {
      if (refusal) say(t('answer.refused', { reason: t(`refused.${refusal}`) }));
      renderBar();
    },
    onSignedOut: () => {
      link.stop();
      positions.stop();
      forget();
      showSignIn('bad_credentials');
    },
  });
  const positions = new Positions({
    device,
    flushSeconds: settings.position_flush_s,
    onFix: (fix) => {
      const first = state.position === null;
      state.position = fix;
      if (first) renderBar();
      else bar.querySelector('[data-testid="gps"]').replaceChildren(t('gps.ok', { m: Math.round(fix.accuracy_m ?? 0) }));
      moved();
    },
    onStatus: (status) => {
      state.gps = status;
      renderBar();
    },
  });
  function moved() {
    const order = orders.current();
    map.show({ unit: state.position, scene: order && !order.withdrawn ? order.work_order.scene : (order ? null : orders.post?.scene ?? null) });
    if (!order && orders.post) renderSheet(); // the distance to the post
    else refresh(sheetHolder, order, state.position, Date.now());
    bar.querySelector('[data-testid="gps"]')?.setAttribute('data-sent', positions.sent);
  }
  setInterval(moved, 1000);
  render();
  link.start();
  positions.start();
}

const device = stored();
if (device?.unit_id) start(device);
else showSignIn();
