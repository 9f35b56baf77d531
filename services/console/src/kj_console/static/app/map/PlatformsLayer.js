// The quick-police platforms (快警平台): a square at each base, named from zoom 13 on.
import { L } from './MapView.js';

export function addPlatforms(map, city) {
  const group = L.layerGroup();
  for (const platform of city.platforms) {
    const marker = L.marker([platform.lat, platform.lon], {
      icon: L.divIcon({ className: 'platform-icon', iconSize: [10, 10] }),
      keyboard: false,
      title: platform.name,
    });
    marker.bindTooltip(platform.name, { direction: 'top', className: 'platform-label' });
    group.addLayer(marker);
  }
  group.addTo(map);
  return () => group.remove();
}
