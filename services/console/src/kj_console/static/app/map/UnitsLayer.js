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
    context.beginPath();
    if (kind === 'car') context.rect(x - 5, y - 5, 10, 10);
    else if (kind === 'command_vehicle') {
      context.moveTo(x, y - 7);
      context.lineTo(x + 7, y);
      context.lineTo(x, y + 7);
      context.lineTo(x - 7, y);
      context.closePath();
    } else context.arc(x, y, 5, 0, Math.PI * 2);
  }

  function draw() {
    scheduled = false;
    const size = map.getSize();
    context.clearRect(0, 0, size.x, size.y);
    const at = now();
    const labels = map.getZoom() >= 15;
    const bounds = map.getBounds().pad(0.05);
    context.font = '11px sans-serif';
    for (const unit of store.units.values()) {
      if (!bounds.contains([unit.lat, unit.lon])) continue;
      const p = map.latLngToContainerPoint([unit.lat, unit.lon]);
      const kind = store.unitInfo.get(unit.id)?.kind;
      const state = freshness(unit, at);
      const duty = store.duty[unit.id];
      context.globalAlpha = state === 'stale' ? 0.45 : 1;
      if (unit.heading !== null && state !== 'lost') {
        const angle = ((unit.heading - 90) * Math.PI) / 180;
        context.beginPath();
        context.moveTo(p.x, p.y);
        context.lineTo(p.x + Math.cos(angle) * 11, p.y + Math.sin(angle) * 11);
        context.strokeStyle = '#212529';
        context.lineWidth = 1.5;
        context.stroke();
      }
      shape(kind, p.x, p.y);
      if (state === 'lost') {
        context.strokeStyle = STATUS_COLOURS.lost_contact;
        context.lineWidth = 2;
        context.stroke();
      } else {
        context.fillStyle = duty ? STATUS_COLOURS.off_duty : STATUS_COLOURS[unit.status] || '#495057';
        context.fill();
        context.strokeStyle = unit.id === selected ? '#1864ab' : '#fff';
        context.lineWidth = unit.id === selected ? 3 : 1;
        context.stroke();
      }
      if (duty) {
        context.beginPath();
        context.moveTo(p.x - 6, p.y - 6);
        context.lineTo(p.x + 6, p.y + 6);
        context.strokeStyle = '#212529';
        context.lineWidth = 1.5;
        context.stroke();
      }
      if (labels) {
        context.fillStyle = '#212529';
        context.fillText(callsign(unit.id), p.x + 8, p.y - 6);
      }
    }
    context.globalAlpha = 1;
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
