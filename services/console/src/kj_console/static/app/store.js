// The one store the layers and panels read (traccar-web's habit): what the server's socket
// pushed (units, incidents, notices, answers) and what this browser asked for. Readers
// subscribe to a topic and are told when it changed; nothing else shares state.
const listeners = new Map();

export const store = {
  me: null,
  city: null,
  statuses: [],
  units: new Map(), // id -> {id, lat, lon, heading, speed, status, seen, fixAge}
  incidents: new Map(), // id -> incident as the server sent it
  duty: {}, // unit id -> duty (only units not on duty)
  notices: [],
  pending: new Map(), // command id -> {what, at, alarm}
  answers: new Map(), // command id -> answer
  broadcasts: new Map(), // broadcast id -> {delivered, failed}
  serverOffset: 0,
  connected: false,
  unitInfo: new Map(), // id -> {callsign, platform, kind} from the city
};

export function subscribe(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
  return () => listeners.get(topic).delete(fn);
}

export function emit(topic, detail) {
  for (const fn of listeners.get(topic) || []) fn(detail);
}

export function unitFromRow(row) {
  const [id, lat, lon, heading, speed, status, seen, fixAge] = row;
  return { id, lat, lon, heading, speed, status: store.statuses[status] || 'available', seen: seen * 1000, fixAge };
}

export function updateFromRow(unit, row) {
  unit.lat = row[1];
  unit.lon = row[2];
  unit.heading = row[3];
  unit.speed = row[4];
  unit.status = store.statuses[row[5]] || 'available';
  unit.seen = row[6] * 1000;
  unit.fixAge = row[7];
}

export function callsign(id) {
  return store.unitInfo.get(id)?.callsign || id;
}
