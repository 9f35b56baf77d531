// Every unit, drawn on one canvas of its own (thousands of units, redrawn at most once a frame
// when positions arrive): a dot coloured by status with a heading tick, its shape by kind, faded
// when its position is stale, hollow and grey when contact is lost, crossed when a dispatcher
// took it off duty; callsigns from zoom 15. A click on a unit opens its page. The page's thread
// places the units; their pixels are made in a worker (unitsWorker.js, unitsPainter.js).
import { L } from './MapView.js';
import { callsign, store, subscribe } from '../store.js';
import { now } from '../clock.js';
import { createPainter } from './unitsPainter.js';

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

// the canvas's pixels come from a worker where the browser can (every current one): a frame of
// 2,000 units is then a millisecond of the page's main thread, whatever the PC's CPU does
function startPainting(canvas) {
  if (typeof canvas.transferControlToOffscreen === 'function' && typeof Worker === 'function') {
    try {
      const worker = new Worker(new URL('./unitsWorker.js', import.meta.url), { type: 'module' });
      const offscreen = canvas.transferControlToOffscreen();
      worker.postMessage({ canvas: offscreen }, [offscreen]);
      const asked = new Map();
      let next = 0;
      worker.onerror = (event) => console.error('units worker', event.message);
      worker.onmessage = ({ data }) => {
        asked.get(data.id)?.(data.pixel);
        asked.delete(data.id);
      };
      return {
        size: (width, height) => worker.postMessage({ size: { width, height } }),
        paint: (frame) => worker.postMessage({ frame }, [frame.x.buffer, frame.y.buffer, frame.look.buffer]),
        pixel: (x, y) => new Promise((resolve) => {
          next += 1;
          asked.set(next, resolve);
          worker.postMessage({ pixel: [x, y], id: next });
        }),
        stop: () => worker.terminate(),
      };
    } catch (error) {
      // a page whose canvas cannot leave its thread draws on it here
    }
  }
  const context = canvas.getContext('2d');
  const paint = createPainter();
  return {
    size: (width, height) => {
      canvas.width = width;
      canvas.height = height;
    },
    paint: (frame) => paint(context, frame),
    pixel: async (x, y) => Array.from(context.getImageData(x, y, 1, 1).data),
    stop: () => {},
  };
}

export function addUnits(map, onSelect) {
  const canvas = document.createElement('canvas');
  canvas.className = 'units-canvas';
  map.getContainer().appendChild(canvas);
  const painter = startPainting(canvas);
  let scheduled = false;
  let selected = null;
  let ratio = window.devicePixelRatio || 1;

  function resize() {
    const size = map.getSize();
    ratio = window.devicePixelRatio || 1;
    painter.size(size.x * ratio, size.y * ratio);
    canvas.style.width = `${size.x}px`;
    canvas.style.height = `${size.y}px`;
  }

  function draw() {
    // the main thread only places the units (a few arithmetic steps each, no object per unit)
    // and says how each looks; the painter draws
    scheduled = false;
    performance.mark('kj-draw-start');
    const size = map.getSize();
    const at = now();
    const zoom = map.getZoom();
    // Web Mercator inline: world pixels at this zoom, shifted to the container by one reference
    // point Leaflet places for us
    const scale = 256 * 2 ** zoom;
    const centre = map.getCenter();
    const anchor = map.latLngToContainerPoint(centre);
    const dx = anchor.x - mercatorX(centre.lng, scale);
    const dy = anchor.y - mercatorY(centre.lat, scale);
    const total = store.units.size;
    const xs = new Float32Array(total);
    const ys = new Float32Array(total);
    const lookOf = new Uint16Array(total);
    const looks = [];
    const lookIndex = new Map();
    const labels = [];
    let chosen = null;
    let count = 0;
    for (const unit of store.units.values()) {
      // whole pixels: a bitmap copied to whole pixels is a plain copy, not a resampling
      const x = Math.round(mercatorX(unit.lon, scale) + dx);
      const y = Math.round(mercatorY(unit.lat, scale) + dy);
      if (x < -20 || y < -20 || x > size.x + 20 || y > size.y + 20) continue;
      const kind = store.unitInfo.get(unit.id)?.kind;
      const state = freshness(unit, at);
      const duty = Boolean(store.duty[unit.id]);
      const colour = state === 'lost' ? STATUS_COLOURS.lost_contact : duty ? STATUS_COLOURS.off_duty : STATUS_COLOURS[unit.status] || '#495057';
      const heading = unit.heading === null || unit.heading === undefined ? null : (Math.round(unit.heading / 10) * 10) % 360;
      const key = `${kind}|${colour}|${state}|${duty}|${heading}`;
      let index = lookIndex.get(key);
      if (index === undefined) {
        index = looks.length;
        lookIndex.set(key, index);
        looks.push({ kind, colour, state, duty, heading });
      }
      xs[count] = x;
      ys[count] = y;
      lookOf[count] = index;
      count += 1;
      if (zoom >= 15) labels.push([x, y, callsign(unit.id)]);
      if (unit.id === selected) chosen = [x, y, kind];
    }
    painter.paint({ width: size.x, height: size.y, ratio, count, x: xs, y: ys, look: lookOf, looks, chosen, labels });
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
    // what the layer has drawn at a point of the map (CSS pixels): [r, g, b, alpha]
    pixel(x, y) {
      return painter.pixel(Math.round(x * ratio), Math.round(y * ratio));
    },
    select(id) {
      selected = id;
      schedule();
    },
    remove() {
      off.forEach((f) => f());
      clearInterval(ageing);
      map.off('move zoom viewreset', schedule);
      map.off('click', click);
      painter.stop();
      canvas.remove();
    },
  };
}
