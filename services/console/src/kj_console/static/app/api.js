// The console's HTTP API. Every request that changes something carries the session's CSRF
// token; the session itself is an HttpOnly cookie the page never sees.
import { store } from './store.js';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.reason || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && store.me?.csrf) headers['X-CSRF-Token'] = store.me.csrf;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) throw new ApiError(response.status, payload?.detail?.reason ? payload.detail : payload);
  return payload;
}

export const api = {
  me: () => call('GET', '/api/me'),
  login: (username, password) => call('POST', '/api/login', { username, password }),
  logout: () => call('POST', '/api/logout', {}),
  city: () => call('GET', '/api/city'),
  incident: (id) => call('GET', `/api/incidents/${id}`),
  track: (unit, since, until) =>
    call('GET', `/api/units/${encodeURIComponent(unit)}/track?since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`),
  command: (body) => call('POST', '/api/commands', body),
  broadcast: (body) => call('POST', '/api/broadcasts', body),
  unmerge: (id) => call('POST', `/api/alarms/${id}/unmerge`, {}),
  audit: () => call('GET', '/api/audit?limit=200'),
};
