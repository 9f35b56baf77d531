// Times as the command centre reads them: in the city's own time zone, durations in words of
// the translation table; the browser's clock corrected by the server's (`now` in each message).
import { lang, t } from './i18n.js';
import { store } from './store.js';

export function now() {
  return Date.now() + store.serverOffset;
}

export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return t('time.seconds', { s });
  if (s < 3600) return t('time.minutes', { m: Math.floor(s / 60), s: String(s % 60).padStart(2, '0') });
  return t('time.hours', { h: Math.floor(s / 3600), m: String(Math.floor((s % 3600) / 60)).padStart(2, '0') });
}

export function clockText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

const formats = new Map();
function format(kind) {
  const key = `${lang()}:${kind}:${store.city?.timezone}`;
  if (!formats.has(key)) {
    const options = { timeZone: store.city?.timezone || 'Asia/Shanghai', hour12: false };
    if (kind === 'time') Object.assign(options, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    else Object.assign(options, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formats.set(key, new Intl.DateTimeFormat(lang() === 'en' ? 'en-GB' : 'zh-CN', options));
  }
  return formats.get(key);
}

export function timeOfDay(ms) {
  return format('time').format(new Date(ms));
}

export function dateTime(ms) {
  return format('datetime').format(new Date(ms));
}
