// Sign-in with the phone's device credentials (the registry's id and token, decision 0090):
// kept on the phone, since positions carry them and each connection to notify needs a fresh
// ticket (decision 0092).

const STORED = 'kj.device';

export class SignInError extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason; // bad_credentials | tickets_off | failed
  }
}

export function stored() {
  try {
    const device = JSON.parse(localStorage.getItem(STORED) || 'null');
    return device?.device_id && device?.token ? device : null;
  } catch {
    return null;
  }
}

export function forget() {
  localStorage.removeItem(STORED);
}

// a ticket for notify's socket: {unit_id, ticket, expires_at, ws_url}
export async function ticket(device) {
  let answer;
  try {
    answer = await fetch('api/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ device_id: device.device_id, token: device.token }),
      cache: 'no-store',
    });
  } catch {
    throw new SignInError('failed');
  }
  if (answer.status === 401 || answer.status === 422) throw new SignInError('bad_credentials');
  if (answer.status === 503) throw new SignInError('tickets_off');
  if (!answer.ok) throw new SignInError('failed');
  return answer.json();
}

export async function signIn(deviceId, token) {
  const device = { device_id: deviceId.trim(), token: token.trim() };
  const session = await ticket(device);
  localStorage.setItem(STORED, JSON.stringify({ ...device, unit_id: session.unit_id }));
  return { device: { ...device, unit_id: session.unit_id }, session };
}

export async function config() {
  try {
    const answer = await fetch('api/config', { cache: 'no-store' });
    if (answer.ok) return answer.json();
  } catch {
    // offline start: the defaults
  }
  return { tile_url: null, tile_attribution: '', position_flush_s: 1 };
}
