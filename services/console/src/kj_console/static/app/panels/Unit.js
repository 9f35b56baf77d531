// A unit's page: what it reports (status, last seen, position age), its duty and, for
// dispatchers, the duty actions; and its stored track played back over a time window.
import { api, ApiError } from '../api.js';
import { h, clear } from '../dom.js';
import { code, t } from '../i18n.js';
import { callsign, store, subscribe } from '../store.js';
import { dateTime, duration, now, timeOfDay } from '../clock.js';
import { addTrack } from '../map/TrackLayer.js';
import { awaitAnswer, toast } from './Toasts.js';
import { freshness } from '../map/UnitsLayer.js';

export function renderUnit(root, unitId, { map, onClose }) {
  const info = store.unitInfo.get(unitId);
  const facts = h('dl', { class: 'facts' });
  const trackInfo = h('p', { class: 'track-info' });
  const position = h('span', { class: 'track-time' });
  const slider = h('input', { type: 'range', min: 0, max: 1000, value: 0, class: 'track-slider', disabled: true });
  const play = h('button', { class: 'action play', disabled: true }, t('playback.play'));
  const windowSelect = h(
    'select',
    { name: 'window' },
    [15, 30, 60, 240].map((m) => h('option', { value: m, selected: m === 30 }, t(`playback.last${m}`))),
  );
  let track = null;

  async function duty(value) {
    try {
      const { command_id: id } = await api.command({ kind: 'set_unit_duty', unit_id: unitId, duty: value });
      awaitAnswer(id, 'set_unit_duty');
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) toast(t('toast.not_allowed'), 'refused', 'not_allowed');
      else toast(t('toast.failed', { what: t('cmd.set_unit_duty') }), 'refused');
    }
  }

  function renderFacts() {
    const unit = store.units.get(unitId);
    const platform = store.city.platforms.find((p) => p.id === info?.platform);
    const state = unit ? freshness(unit, now()) : null;
    const rows = [
      [t('unit.platform'), platform?.name || info?.platform || ''],
      [t('unit.kind'), info ? code('kind', info.kind) : ''],
      [t('unit.status'), unit ? `${code('unitstatus', unit.status)}${state === 'stale' ? ` · ${t('unit.stale')}` : ''}${state === 'lost' ? ` · ${t('unit.lost')}` : ''}` : t('units.none')],
      [t('unit.seen'), unit ? t('time.ago', { t: duration(now() - unit.seen) }) : ''],
      [t('unit.fix_age'), unit ? duration(unit.fixAge * 1000) : ''],
      [t('unit.duty'), t(`unit.duty.${store.duty[unitId] || 'on_duty'}`)],
    ];
    clear(facts).append(...rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]).flat());
  }

  async function load() {
    if (track) track.remove();
    track = null;
    const until = new Date(now());
    const since = new Date(until.getTime() - Number(windowSelect.value) * 60000);
    const answer = await api.track(unitId, since.toISOString(), until.toISOString());
    if (answer.points.length < 2) {
      trackInfo.textContent = t('playback.none');
      play.disabled = true;
      slider.disabled = true;
      return;
    }
    trackInfo.textContent = answer.truncated ? t('playback.truncated', { n: answer.points.length }) : t('playback.points', { n: answer.points.length });
    track = addTrack(map, answer.points, {
      onPosition: (at, f) => {
        position.textContent = dateTime(at);
        slider.value = String(Math.round(f * 1000));
        if (track && !track.playing) play.textContent = t('playback.play');
      },
    });
    track.seek(track.start);
    play.disabled = false;
    slider.disabled = false;
  }

  play.addEventListener('click', () => {
    if (!track) return;
    if (track.playing) {
      track.pause();
      play.textContent = t('playback.play');
    } else {
      track.play(30);
      play.textContent = t('playback.pause');
    }
  });
  slider.addEventListener('input', () => {
    if (track) track.seek(track.start + (Number(slider.value) / 1000) * (track.end - track.start));
  });

  const dutyButtons = store.me.may_act
    ? h(
        'div',
        { class: 'buttons' },
        ['on_duty', 'off_duty', 'out_of_service'].map((d) =>
          h('button', { class: `action duty-${d}`, onclick: () => duty(d) }, t(`unit.set_${d}`)),
        ),
      )
    : null;

  root.replaceChildren(
    h(
      'article',
      { class: 'unit-page', dataset: { unit: unitId } },
      h('header', { class: 'incident-header' }, h('button', { class: 'close', onclick: onClose }, '×'), h('h2', {}, info ? callsign(unitId) : t('unit.unknown'))),
      facts,
      dutyButtons,
      h(
        'section',
        { class: 'playback' },
        h('h3', {}, t('playback.title')),
        h('label', {}, t('playback.window'), windowSelect),
        h('button', { class: 'action load-track', onclick: load }, t('playback.load')),
        trackInfo,
        h('div', { class: 'buttons' }, play, slider),
        position,
      ),
    ),
  );
  renderFacts();
  const off = [subscribe('units', (ids) => { if (!ids || ids.includes(unitId)) renderFacts(); }), subscribe('duty', renderFacts)];
  const ticking = setInterval(renderFacts, 5000);
  return () => {
    off.forEach((f) => f());
    clearInterval(ticking);
    if (track) track.remove();
  };
}

export { timeOfDay };
