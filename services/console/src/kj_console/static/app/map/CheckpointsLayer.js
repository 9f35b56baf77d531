// Patrol checkpoints (打卡点): small rings, from zoom 13 on.
import { L } from './MapView.js';

export function addCheckpoints(map, city) {
  const group = L.layerGroup();
  for (const c of city.checkpoints) {
    const ring = L.circleMarker([c.lat, c.lon], {
      radius: 3,
      color: '#495057',
      weight: 1,
      fillOpacity: 0,
      interactive: false,
    });
    group.addLayer(ring);
  }
  const show = () => {
    if (map.getZoom() >= 13) group.addTo(map);
    else group.remove();
  };
  map.on('zoomend', show);
  show();
  return () => {
    map.off('zoomend', show);
    group.remove();
  };
}
