// Live data over one WebSocket into the store: a snapshot when it connects, then patches as
// they happen and positions as one diff a second. Each message's handling is measured
// (`kj-update` in the performance timeline) for the console's benchmark.
import { emit, store, unitFromRow, updateFromRow } from './store.js';

let socket = null;
let retry = 500;

function apply(message) {
  switch (message.t) {
    case 'snapshot': {
      store.serverOffset = message.now - Date.now();
      store.statuses = message.statuses;
      store.units = new Map(message.units.map((row) => [row[0], unitFromRow(row)]));
      store.incidents = new Map(message.incidents.map((i) => [i.id, i]));
      store.duty = message.duty;
      store.notices = message.notices;
      emit('units', null);
      emit('incidents', null);
      emit('notices');
      emit('duty');
      break;
    }
    case 'pos': {
      store.serverOffset = message.now - Date.now();
      const changed = new Array(message.u.length);
      for (let i = 0; i < message.u.length; i += 1) {
        const row = message.u[i];
        const unit = store.units.get(row[0]);
        if (unit) updateFromRow(unit, row);
        else store.units.set(row[0], unitFromRow(row));
        changed[i] = row[0];
      }
      emit('units', changed);
      break;
    }
    case 'incident':
      store.incidents.set(message.incident.id, message.incident);
      emit('incidents', message.incident.id);
      break;
    case 'gone':
      store.incidents.delete(message.id);
      emit('incidents', message.id);
      break;
    case 'notice':
      store.notices = [message.notice, ...store.notices].slice(0, 200);
      if (message.incident) {
        store.incidents.set(message.incident.id, message.incident);
        emit('incidents', message.incident.id);
      }
      emit('notices');
      break;
    case 'answer':
      store.answers.set(message.answer.command_id, message.answer);
      emit('answer', message.answer);
      break;
    case 'duty':
      if (message.duty === 'on_duty') delete store.duty[message.unit];
      else store.duty[message.unit] = message.duty;
      emit('duty', message.unit);
      emit('units', [message.unit]);
      break;
    case 'broadcast':
      store.broadcasts.set(message.id, { delivered: message.delivered, failed: message.failed });
      emit('broadcast', message.id);
      break;
    default:
      break;
  }
}

export function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onopen = () => {
    retry = 500;
    store.connected = true;
    emit('connection', true);
  };
  socket.onmessage = (event) => {
    performance.mark('kj-update-start');
    const message = JSON.parse(event.data);
    apply(message);
    performance.measure(`kj-update:${message.t}`, 'kj-update-start');
  };
  socket.onclose = (event) => {
    store.connected = false;
    emit('connection', false);
    if (event.code === 4401) {
      emit('signed-out');
      return;
    }
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10000);
  };
}

export function disconnect() {
  if (socket) {
    socket.onclose = null;
    socket.close();
    socket = null;
  }
}
