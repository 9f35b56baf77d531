// The 1/3/5 zones of the city: where each response target applies.
import { L } from './MapView.js';

export const TIER_COLOURS = {
  key_location: '#d6336c',
  central_city: '#f08c00',
  other_city: '#1c7ed6',
  county: '#868e96',
};

export function addZones(map, city) {
  const order = { other_city: 0, county: 0, central_city: 1, key_location: 2 };
  const features = [...city.zones.features].sort(
    (a, b) => order[a.properties.tier] - order[b.properties.tier],
  );
  const layer = L.geoJSON({ type: 'FeatureCollection', features }, {
    interactive: false,
    style: (feature) => ({
      color: TIER_COLOURS[feature.properties.tier] || '#868e96',
      weight: 1,
      fillOpacity: feature.properties.tier === 'key_location' ? 0.22 : 0.08,
    }),
  });
  layer.addTo(map);
  return () => layer.remove();
}
