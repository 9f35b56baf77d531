// Answers the officer gave, in the order given, until the platform has taken each one (its
// `ok`, or a refusal that will never change). Kept in localStorage: an answer made in a dead
// zone, or before the phone was switched off, is sent when the app is back online. Each has its
// own event id, so sending it twice (the reply was lost) records it once.

export class Outbox {
  constructor(unitId) {
    this.key = `kj.outbox.${unitId}`;
    try {
      this.items = JSON.parse(localStorage.getItem(this.key) || '[]');
    } catch {
      this.items = [];
    }
  }

  save() {
    localStorage.setItem(this.key, JSON.stringify(this.items));
  }

  push(answer) {
    this.items.push(answer);
    this.save();
  }

  head() {
    return this.items[0] ?? null;
  }

  remove(eventId) {
    this.items = this.items.filter((a) => a.event_id !== eventId);
    this.save();
  }

  get size() {
    return this.items.length;
  }

  clear() {
    localStorage.removeItem(this.key);
    this.items = [];
  }
}

// crypto.randomUUID needs a secure context; a bureau's intranet may serve plain HTTP
export function eventId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
