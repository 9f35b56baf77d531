// Turns one frame of the units layer into pixels on a 2D canvas context: the page's own canvas,
// or an OffscreenCanvas in the units worker (unitsWorker.js). No DOM, no store: a frame is
// plain arrays the layer filled (`frame` below), so the same code runs on either thread.
//
// A frame: {width, height, ratio, count, x, y (Float32Array, CSS pixels), look (Uint16Array, an
// index into `looks`), looks ([{kind, colour, state, duty, heading}]), chosen ([x, y, kind] or null), labels ([[x, y, text]])}.

const SPRITE = 26; // a unit's bitmap, in CSS pixels: its shape and its 11-pixel heading tick

export function shape(target, kind, x, y) {
  // a square for a car, a diamond for a command vehicle, a dot for a motorcycle
  if (kind === 'car') target.rect(x - 5, y - 5, 10, 10);
  else if (kind === 'command_vehicle') {
    target.moveTo(x, y - 7);
    target.lineTo(x + 7, y);
    target.lineTo(x, y + 7);
    target.lineTo(x - 7, y);
    target.closePath();
  } else {
    target.moveTo(x + 5, y);
    target.arc(x, y, 5, 0, Math.PI * 2);
  }
}

function bitmap(size) {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(size, size);
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  return canvas;
}

// Each look (kind, colour, stale or lost, off duty, heading to the nearest 10°) is drawn once
// into a small bitmap, and a frame is one bitmap copy per unit: 2,000 anti-aliased paths
// filled and stroked cost a software canvas about 25 ms of CPU a frame, 2,000 copies a few.
export function createPainter() {
  const sprites = new Map(); // look key -> bitmap

  function sprite(look, ratio) {
    const key = `${look.kind}|${look.colour}|${look.state}|${look.duty ? 1 : 0}|${look.heading}|${ratio}`;
    let found = sprites.get(key);
    if (found) return found;
    found = bitmap(Math.ceil(SPRITE * ratio));
    const c = found.getContext('2d');
    c.scale(ratio, ratio);
    const at = SPRITE / 2;
    if (look.state === 'stale') c.globalAlpha = 0.45;
    if (look.heading !== null && look.state !== 'lost') {
      const angle = ((look.heading - 90) * Math.PI) / 180;
      c.beginPath();
      c.moveTo(at, at);
      c.lineTo(at + Math.cos(angle) * 11, at + Math.sin(angle) * 11);
      c.lineWidth = 1.5;
      c.strokeStyle = '#212529';
      c.stroke();
    }
    c.beginPath();
    shape(c, look.kind, at, at);
    if (look.state === 'lost') {
      c.strokeStyle = look.colour;
      c.lineWidth = 2;
      c.stroke();
    } else {
      c.fillStyle = look.colour;
      c.fill();
      c.strokeStyle = '#fff';
      c.lineWidth = 1;
      c.stroke();
    }
    c.globalAlpha = 1;
    if (look.duty) {
      c.beginPath();
      c.moveTo(at - 6, at - 6);
      c.lineTo(at + 6, at + 6);
      c.strokeStyle = '#212529';
      c.lineWidth = 1.5;
      c.stroke();
    }
    sprites.set(key, found);
    return found;
  }

  return function paint(context, frame) {
    const { ratio } = frame;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, frame.width, frame.height);
    const bitmaps = frame.looks.map((look) => sprite(look, ratio));
    const half = SPRITE / 2;
    for (let i = 0; i < frame.count; i += 1) {
      context.drawImage(bitmaps[frame.look[i]], frame.x[i] - half, frame.y[i] - half, SPRITE, SPRITE);
    }
    if (frame.chosen) {
      context.beginPath();
      shape(context, frame.chosen[2], frame.chosen[0], frame.chosen[1]);
      context.strokeStyle = '#1864ab';
      context.lineWidth = 3;
      context.stroke();
    }
    if (frame.labels.length) {
      context.font = '11px sans-serif';
      context.fillStyle = '#212529';
      for (const [x, y, text] of frame.labels) context.fillText(text, x + 8, y - 6);
    }
  };
}
