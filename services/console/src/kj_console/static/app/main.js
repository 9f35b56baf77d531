// The console page: sign in, then one map with a layer per meaning and a side panel (the call
// queue, the unit board, notices, an incident's or a unit's page), all fed by one socket.
import { api } from './api.js';
import { h } from './dom.js';
import { lang, onLang, setLang, t } from './i18n.js';
import { store, subscribe } from './store.js';
import { connect, disconnect } from './socket.js';
import { timeOfDay, now } from './clock.js';
import { createMap } from './map/MapView.js';
import { addZones, TIER_COLOURS } from './map/ZonesLayer.js';
import { addPlatforms } from './map/PlatformsLayer.js';
import { addCheckpoints } from './map/CheckpointsLayer.js';
import { addUnits } from './map/UnitsLayer.js';
import { addIncidents } from './map/IncidentsLayer.js';
import { renderLogin } from './panels/Login.js';
import { renderQueue } from './panels/Queue.js';
import { renderUnitBoard } from './panels/UnitBoard.js';
import { renderNotices } from './panels/Notices.js';
import { renderAudit } from './panels/Audit.js';
import { renderIncident } from './panels/Incident.js';
import { renderUnit } from './panels/Unit.js';
import { mountToasts } from './panels/Toasts.js';

const root = document.getElementById('app');
let map = null;
let units = null;
let closePanel = () => {};
let panel = null;
let topbar = null;
let tabs = null;

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  closePanel();
  closePanel = () => {};
  const [, kind, id] = (location.hash || '#/queue').split('/');
  for (const tab of tabs.querySelectorAll('button')) tab.classList.toggle('active', tab.dataset.tab === kind);
  const open = {
    onSelect: (alarm) => go(`#/incident/${alarm}`),
  };
  units?.select(kind === 'unit' ? decodeURIComponent(id) : null);
  if (kind === 'incident' && id) {
    const incident = store.incidents.get(id);
    if (incident) map.panTo([incident.lat, incident.lon]);
    closePanel = renderIncident(panel, id, { map, onUnit: (u) => go(`#/unit/${encodeURIComponent(u)}`), onClose: () => go('#/queue') });
  } else if (kind === 'unit' && id) {
    const unit = store.units.get(decodeURIComponent(id));
    if (unit) map.panTo([unit.lat, unit.lon]);
    closePanel = renderUnit(panel, decodeURIComponent(id), { map, onClose: () => go('#/units') });
  } else if (kind === 'units') {
    closePanel = renderUnitBoard(panel, (u) => go(`#/unit/${encodeURIComponent(u)}`));
  } else if (kind === 'notices') {
    closePanel = renderNotices(panel, open.onSelect);
  } else if (kind === 'audit' && store.me.may_read_audit) {
    renderAudit(panel);
  } else {
    closePanel = renderQueue(panel, open.onSelect);
  }
}

function renderTopbar() {
  const clock = h('span', { class: 'clock' }, timeOfDay(now()));
  const conn = h('span', { class: `conn ${store.connected ? 'live' : 'down'}` }, store.connected ? t('conn.live') : t('conn.reconnecting'));
  topbar.replaceChildren(
    h('h1', {}, t('app.title')),
    h('span', { class: 'city' }, store.city.name),
    clock,
    conn,
    h('span', { class: 'legend' }, ['key_location', 'central_city', 'other_city'].map((tier) => h('span', { class: 'legend-item' }, h('i', { style: `background:${TIER_COLOURS[tier]}` }), t(`legend.${tier}`)))),
    h('span', { class: 'spacer' }),
    h('span', { class: 'user' }, `${store.me.display_name} · ${t(`role.${store.me.role}`)}`),
    h('button', { class: 'link lang', onclick: () => setLang(lang() === 'zh' ? 'en' : 'zh') }, t('lang.switch')),
    h('button', { class: 'link logout', onclick: signOut }, t('logout')),
  );
  return clock;
}

function renderTabs() {
  const names = ['queue', 'units', 'notices', ...(store.me.may_read_audit ? ['audit'] : [])];
  tabs.replaceChildren(...names.map((name) => h('button', { dataset: { tab: name }, onclick: () => go(`#/${name}`) }, t(`tab.${name}`))));
}

async function signOut() {
  try {
    await api.logout();
  } finally {
    disconnect();
    location.hash = '';
    location.reload();
  }
}

async function start(me) {
  store.me = me;
  store.city = await api.city();
  store.unitInfo = new Map(store.city.units.map((u) => [u.id, u]));
  document.title = t('app.title');
  topbar = h('header', { class: 'topbar' });
  tabs = h('nav', { class: 'tabs' });
  panel = h('div', { class: 'panel' });
  const mapElement = h('div', { id: 'map', class: 'map' });
  const toasts = h('div', { class: 'toasts' });
  root.replaceChildren(
    h('div', { class: 'shell' }, topbar, h('main', { class: 'body' }, mapElement, h('aside', { class: 'side' }, tabs, panel)), toasts),
  );
  mountToasts(toasts);
  map = createMap(mapElement, store.city);
  addZones(map, store.city);
  addCheckpoints(map, store.city);
  addPlatforms(map, store.city);
  units = addUnits(map, (u) => go(`#/unit/${encodeURIComponent(u)}`));
  addIncidents(map, (id) => go(`#/incident/${id}`));
  let clock = renderTopbar();
  renderTabs();
  setInterval(() => { clock.textContent = timeOfDay(now()); }, 1000);
  subscribe('connection', () => { clock = renderTopbar(); });
  subscribe('signed-out', () => location.reload());
  onLang(() => {
    document.title = t('app.title');
    clock = renderTopbar();
    renderTabs();
    for (const note of document.querySelectorAll('[data-i18n]')) note.textContent = t(note.dataset.i18n);
    route();
  });
  window.addEventListener('hashchange', route);
  connect();
  route();
  // a read-only handle for the browser tests and for a person at the developer tools
  window.kjConsole = Object.freeze({ store, map, units });
}

async function boot() {
  setLang(lang());
  try {
    await start(await api.me());
  } catch (e) {
    if (e.status === 401) renderLogin(root, start);
    else throw e;
  }
}

boot();
