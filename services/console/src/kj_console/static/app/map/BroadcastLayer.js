// The circle a broadcast reaches, while a dispatcher composes it.
import { L } from './MapView.js';

export function showRadius(map, lat, lon, radius) {
  const circle = L.circle([lat, lon], { radius, color: '#7048e8', weight: 2, fillOpacity: 0.08, interactive: false });
  circle.addTo(map);
  return {
    setRadius: (r) => circle.setRadius(r),
    remove: () => circle.remove(),
  };
}
