// Open incidents: a marker coloured by priority with a running clock against its tier target
// (red once late), at-risk and waiting ones marked. A click opens the incident's page.
import { L } from './MapView.js';
import { store, subscribe } from '../store.js';
import { clockText, now } from '../clock.js';
import { h } from '../dom.js';

function icon(incident, late) {
  const waiting = incident.orders.length === 0;
  const clock = h('span', { class: 'incident-clock' });
  const element = h(
    'div',
    {
      class: `incident-marker p${incident.priority}${late ? ' late' : ''}${waiting ? ' waiting' : ''}${incident.at_risk ? ' at-risk' : ''}`,
      dataset: { incident: incident.id },
    },
    clock,
  );
  return { icon: L.divIcon({ html: element, className: 'incident-icon', iconSize: [46, 20], iconAnchor: [23, 10] }), clock };
}

export function addIncidents(map, onSelect) {
  // markers kept by incident: each second only the clocks' text changes; a marker gets a new
  // icon when its look (priority, late, waiting, at risk) changed, and moves with its scene
  const markers = new Map(); // id -> {marker, clock, shown}

  function sync() {
    const at = now();
    for (const [id, kept] of markers) {
      if (!store.incidents.has(id)) {
        kept.marker.remove();
        markers.delete(id);
      }
    }
    for (const incident of store.incidents.values()) {
      const elapsed = at - incident.reported;
      const late = elapsed > incident.target * 1000;
      const shown = `${incident.priority}|${late}|${incident.orders.length === 0}|${incident.at_risk}`;
      let kept = markers.get(incident.id);
      if (!kept) {
        const made = icon(incident, late);
        const marker = L.marker([incident.lat, incident.lon], { icon: made.icon, zIndexOffset: 1000 });
        marker.on('click', () => onSelect(incident.id));
        marker.addTo(map);
        kept = { marker, clock: made.clock, shown };
        markers.set(incident.id, kept);
      } else if (kept.shown !== shown) {
        const made = icon(incident, late);
        kept.marker.setIcon(made.icon);
        kept.clock = made.clock;
        kept.shown = shown;
      }
      const place = kept.marker.getLatLng();
      if (place.lat !== incident.lat || place.lng !== incident.lon) {
        kept.marker.setLatLng([incident.lat, incident.lon]); // the integration moved the scene
      }
      const text = clockText(elapsed);
      if (kept.clock.textContent !== text) kept.clock.textContent = text;
    }
  }

  const off = subscribe('incidents', sync);
  const ticking = setInterval(sync, 1000);
  sync();
  return () => {
    off();
    clearInterval(ticking);
    for (const kept of markers.values()) kept.marker.remove();
  };
}
