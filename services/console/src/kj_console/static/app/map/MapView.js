// The one map (traccar-web's MapView): Leaflet on a plain background, or on a bureau's own tile
// server when the settings name one. Each layer of meaning is its own small component that
// adds and removes what it draws.
import * as L from '/static/vendor/leaflet/leaflet-src.esm.js';
import { t } from '../i18n.js';
import { h } from '../dom.js';

export { L };

export function createMap(element, city) {
  const map = L.map(element, {
    preferCanvas: true,
    zoomControl: true,
    attributionControl: Boolean(city.tile_url),
    minZoom: 9,
    maxZoom: 18,
  });
  if (city.tile_url) {
    L.tileLayer(city.tile_url, { attribution: city.tile_attribution || '', maxZoom: 19 }).addTo(map);
  } else {
    element.classList.add('no-basemap');
    const note = L.control({ position: 'bottomleft' });
    note.onAdd = () => h('div', { class: 'map-note', 'data-i18n': 'map.no_basemap' }, t('map.no_basemap'));
    note.addTo(map);
  }
  const lats = city.platforms.map((p) => p.lat);
  const lons = city.platforms.map((p) => p.lon);
  map.fitBounds([
    [Math.min(...lats), Math.min(...lons)],
    [Math.max(...lats), Math.max(...lons)],
  ], { padding: [20, 20] });
  return map;
}
