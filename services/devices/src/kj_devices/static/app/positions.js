// The phone's own position, from the browser's geolocation, sent through the gateway's JSON
// batch endpoint (POST /v1/locations, the device's token as Bearer). Fixes queue while the
// network is away and go in time order when it is back (the gateway takes a dead zone's burst in
// order); the queue is bounded, oldest dropped first.

const MAX_QUEUED = 3600; // an hour at one fix a second
const MAX_BATCH = 500; // the endpoint takes up to 1,000

export class Positions {
  constructor({ device, flushSeconds, onFix, onStatus }) {
    this.device = device;
    this.flushMs = Math.max(250, (flushSeconds ?? 1) * 1000);
    this.onFix = onFix;
    this.onStatus = onStatus;
    this.queue = [];
    this.sending = false;
    this.sent = 0;
    this.last = null;
    this.watch = null;
    this.timer = null;
  }

  start() {
    if (!('geolocation' in navigator)) {
      this.onStatus('denied');
      return;
    }
    this.watch = navigator.geolocation.watchPosition(
      (position) => this.take(position),
      (error) => this.onStatus(error.code === error.PERMISSION_DENIED ? 'denied' : 'none'),
      { enableHighAccuracy: true, maximumAge: 0, timeout: 30_000 },
    );
    this.timer = setInterval(() => this.flush(), this.flushMs);
  }

  stop() {
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    clearInterval(this.timer);
  }

  take(position) {
    const c = position.coords;
    const fix = {
      ts: new Date(position.timestamp).toISOString(),
      lat: c.latitude,
      lon: c.longitude,
    };
    if (Number.isFinite(c.accuracy)) fix.accuracy_m = c.accuracy;
    if (Number.isFinite(c.speed) && c.speed !== null) fix.speed_kmh = c.speed * 3.6;
    if (Number.isFinite(c.heading) && c.heading !== null) fix.heading_deg = c.heading;
    if (this.last && this.last.ts === fix.ts) return; // the same fix reported twice
    this.last = fix;
    this.queue.push(fix);
    if (this.queue.length > MAX_QUEUED) this.queue.splice(0, this.queue.length - MAX_QUEUED);
    this.onFix(fix);
    this.onStatus('ok');
  }

  async flush() {
    if (this.sending || !this.queue.length || !navigator.onLine) return;
    this.sending = true;
    const batch = this.queue.slice(0, MAX_BATCH);
    try {
      const answer = await fetch('/v1/locations', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${this.device.token}`,
        },
        body: JSON.stringify({ device_id: this.device.device_id, fixes: batch }),
        cache: 'no-store',
      });
      // 2xx: taken (fixes the gateway refused as no position are not worth sending again);
      // 4xx: never taken as they are; either way they leave the queue
      if (answer.ok || (answer.status >= 400 && answer.status < 500)) {
        this.queue.splice(0, batch.length);
        if (answer.ok) this.sent += (await answer.json()).accepted;
        this.onStatus('ok');
      }
    } catch {
      // no network: kept for the next turn
    } finally {
      this.sending = false;
    }
  }
}
