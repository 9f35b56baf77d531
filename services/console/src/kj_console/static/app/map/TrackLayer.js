// A unit's stored track played back: the path, and a marker moving along it at `speed` times
// real time, with a slider to scrub.
import { L } from './MapView.js';

export function addTrack(map, points, { onPosition } = {}) {
  const path = L.polyline(points.map((p) => [p[1], p[2]]), { color: '#1864ab', weight: 3, opacity: 0.8 });
  const marker = L.circleMarker([points[0][1], points[0][2]], {
    radius: 7,
    color: '#1864ab',
    fillColor: '#fff',
    fillOpacity: 1,
    weight: 3,
    className: 'track-marker',
  });
  path.addTo(map);
  marker.addTo(map);
  map.fitBounds(path.getBounds(), { padding: [40, 40], maxZoom: 16 });
  const start = points[0][0];
  const end = points[points.length - 1][0];
  let at = start;
  let playing = null;

  function show(time) {
    at = Math.min(Math.max(time, start), end);
    let i = 0;
    while (i + 1 < points.length && points[i + 1][0] <= at) i += 1;
    const a = points[i];
    const b = points[Math.min(i + 1, points.length - 1)];
    const f = b[0] > a[0] ? (at - a[0]) / (b[0] - a[0]) : 0;
    marker.setLatLng([a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]);
    if (onPosition) onPosition(at, (at - start) / Math.max(end - start, 1));
  }

  return {
    start,
    end,
    seek: show,
    play(speed = 10) {
      if (playing) return;
      if (at >= end) at = start;
      let last = performance.now();
      const step = (t) => {
        show(at + (t - last) * speed);
        last = t;
        if (at >= end) {
          playing = null;
          return;
        }
        playing = requestAnimationFrame(step);
      };
      playing = requestAnimationFrame(step);
    },
    pause() {
      if (playing) cancelAnimationFrame(playing);
      playing = null;
    },
    get playing() {
      return playing !== null;
    },
    remove() {
      this.pause();
      path.remove();
      marker.remove();
    },
  };
}
