// Every unit, drawn on one canvas of its own (thousands of units, redrawn at most once a frame
// when positions arrive): a dot coloured by status with a heading tick, its shape by kind, faded
// when its position is stale, hollow and grey when contact is lost, crossed when a dispatcher
// took it off duty; callsigns from zoom 15. A click on a unit opens its page.
import { L } from './MapView.js';
import { callsign, store, subscribe } from '../store.js';
import { now } from '../clock.js';

export const STATUS_COLOURS = {
  available: '#2b8a3e',
  returning: '#74b816',
  assigned: '#f08c00',
  en_route: '#e8590c',
  on_scene: '#c92a2a',
  off_duty: '#868e96',
  lost_contact: '#adb5bd',
};

function mercatorX(lon, scale) {
  return ((lon + 180) / 360) * scale;
}

function mercatorY(lat, scale) {
  const s = Math.sin((lat * Math.PI) / 180);
  return (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale;
}

export function freshness(unit, at) {
  const seenAge = (at - unit.seen) / 1000;
  const lostAfter = store.me?.lost_after_s ?? 60;
  const staleAfter = store.me?.stale_after_s ?? 15;
  if (unit.status === 'lost_contact' || seenAge > lostAfter) return 'lost';
  if (seenAge + unit.fixAge > staleAfter) return 'stale';
  return 'live';
}

export function addUnits(map, onSelect) {
  const canvas = document.createElement('canvas');
  canvas.className = 'units-canvas';
  map.getContainer().appendChild(canvas);
  const context = canvas.getContext('2d');
  let scheduled = false;
  let selected = null;

  function resize() {
    const size = map.getSize();
    const ratio = window.devicePixelRatio || 1;
    canvas.width = size.x * ratio;
    canvas.height = size.y * ratio;
    canvas.style.width = `${size.x}px`;
    canvas.style.height = `${size.y}px`;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
  }

  function shape(kind, x, y) {
    // one sub-path of the group's path: a square for a car, a diamond for a command vehicle,
    // a dot for a motorcycle
    if (kind === 'car') context.rect(x - 5, y - 5, 10, 10);
    else if (kind === 'command_vehicle') {
      context.moveTo(x, y - 7);
      context.lineTo(x + 7, y);
      context.lineTo(x, y + 7);
      context.lineTo(x - 7, y);
      context.closePath();
    } else {
      context.moveTo(x + 5, y);
      context.arc(x, y, 5, 0, Math.PI * 2);
    }
  }

  function draw() {
    // units are grouped by how they look and each group is one path, filled and stroked once:
    // a few dozen canvas calls a frame whatever the fleet's size, not thousands
    scheduled = false;
    performance.mark('kj-draw-start');
    const size = map.getSize();
    context.clearRect(0, 0, size.x, size.y);
    const at = now();
    const zoom = map.getZoom();
    // Web Mercator inline (no object per unit): world pixels at this zoom, shifted to the
    // container by one reference point Leaflet places for us
    const scale = 256 * 2 ** zoom;
    const centre = map.getCenter();
    const anchor = map.latLngToContainerPoint(centre);
    const dx = anchor.x - mercatorX(centre.lng, scale);
    const dy = anchor.y - mercatorY(centre.lat, scale);
    const groups = new Map(); // "colour|alpha|lost" -> [[x, y, kind], ...]
    const ticks = [];
    const crosses = [];
    const labels = [];
    let chosen = null;
    for (const unit of store.units.values()) {
      const x = mercatorX(unit.lon, scale) + dx;
      const y = mercatorY(unit.lat, scale) + dy;
      if (x < -20 || y < -20 || x > size.x + 20 || y > size.y + 20) continue;
      const kind = store.unitInfo.get(unit.id)?.kind;
      const state = freshness(unit, at);
      const duty = store.duty[unit.id];
      const colour = state === 'lost' ? 'lost' : duty ? STATUS_COLOURS.off_duty : STATUS_COLOURS[unit.status] || '#495057';
      const key = `${colour}|${state === 'stale' ? 0.45 : 1}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push([x, y, kind]);
      if (unit.heading !== null && state !== 'lost') ticks.push([x, y, unit.heading, state === 'stale']);
      if (duty) crosses.push([x, y]);
      if (zoom >= 15) labels.push([x, y, unit.id]);
      if (unit.id === selected) chosen = [x, y, kind];
    }
    context.lineWidth = 1.5;
    context.strokeStyle = '#212529';
    for (const faded of [false, true]) {
      context.globalAlpha = faded ? 0.45 : 1;
      context.beginPath();
      for (const [x, y, heading, stale] of ticks) {
        if (stale !== faded) continue;
        const angle = ((heading - 90) * Math.PI) / 180;
        context.moveTo(x, y);
        context.lineTo(x + Math.cos(angle) * 11, y + Math.sin(angle) * 11);
      }
      context.stroke();
    }
    for (const [key, members] of groups) {
      const [colour, alpha] = key.split('|');
      context.globalAlpha = Number(alpha);
      context.beginPath();
      for (const [x, y, kind] of members) shape(kind, x, y);
      if (colour === 'lost') {
        context.strokeStyle = STATUS_COLOURS.lost_contact;
        context.lineWidth = 2;
        context.stroke();
      } else {
        context.fillStyle = colour;
        context.fill();
        context.strokeStyle = '#fff';
        context.lineWidth = 1;
        context.stroke();
      }
    }
    context.globalAlpha = 1;
    if (crosses.length) {
      context.beginPath();
      for (const [x, y] of crosses) {
        context.moveTo(x - 6, y - 6);
        context.lineTo(x + 6, y + 6);
      }
      context.strokeStyle = '#212529';
      context.lineWidth = 1.5;
      context.stroke();
    }
    if (chosen) {
      context.beginPath();
      shape(chosen[2], chosen[0], chosen[1]);
      context.strokeStyle = '#1864ab';
      context.lineWidth = 3;
      context.stroke();
    }
    if (labels.length) {
      context.font = '11px sans-serif';
      context.fillStyle = '#212529';
      for (const [x, y, id] of labels) context.fillText(callsign(id), x + 8, y - 6);
    }
    performance.measure('kj-draw', 'kj-draw-start');
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(draw);
    }
  }

  function click(event) {
    const p = event.containerPoint;
    let best = null;
    let bestDistance = 10;
    for (const unit of store.units.values()) {
      const q = map.latLngToContainerPoint([unit.lat, unit.lon]);
      const d = Math.hypot(q.x - p.x, q.y - p.y);
      if (d < bestDistance) {
        best = unit.id;
        bestDistance = d;
      }
    }
    if (best) onSelect(best);
  }

  resize();
  map.on('move zoom viewreset', schedule);
  map.on('resize', () => {
    resize();
    schedule();
  });
  map.on('click', click);
  const off = [subscribe('units', schedule), subscribe('duty', schedule)];
  const ageing = setInterval(schedule, 5000); // stale and lost appear without a new message
  schedule();
  return {
    select(id) {
      selected = id;
      schedule();
    },
    remove() {
      off.forEach((f) => f());
      clearInterval(ageing);
      map.off('move zoom viewreset', schedule);
      map.off('click', click);
      canvas.remove();
    },
  };
}
