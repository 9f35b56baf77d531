// Open incidents: a marker coloured by priority with a running clock against its tier target
// (red once late), at-risk and waiting ones marked. A click opens the incident's page.
import { L } from './MapView.js';
import { store, subscribe } from '../store.js';
import { clockText, now } from '../clock.js';
import { h } from '../dom.js';

function icon(incident) {
  const elapsed = now() - incident.reported;
  const late = elapsed > incident.target * 1000;
  const waiting = incident.orders.length === 0;
  const element = h(
    'div',
    {
      class: `incident-marker p${incident.priority}${late ? ' late' : ''}${waiting ? ' waiting' : ''}${incident.at_risk ? ' at-risk' : ''}`,
      dataset: { incident: incident.id },
    },
    h('span', { class: 'incident-clock' }, clockText(elapsed)),
  );
  return L.divIcon({ html: element, className: 'incident-icon', iconSize: [46, 20], iconAnchor: [23, 10] });
}

export function addIncidents(map, onSelect) {
  const markers = new Map();

  function sync() {
    for (const [id, marker] of markers) {
      if (!store.incidents.has(id)) {
        marker.remove();
        markers.delete(id);
      }
    }
    for (const incident of store.incidents.values()) {
      let marker = markers.get(incident.id);
      if (!marker) {
        marker = L.marker([incident.lat, incident.lon], { icon: icon(incident), zIndexOffset: 1000 });
        marker.on('click', () => onSelect(incident.id));
        marker.addTo(map);
        markers.set(incident.id, marker);
      } else {
        marker.setIcon(icon(incident));
      }
    }
  }

  const off = subscribe('incidents', sync);
  const ticking = setInterval(sync, 1000);
  sync();
  return () => {
    off();
    clearInterval(ticking);
    for (const marker of markers.values()) marker.remove();
  };
}
