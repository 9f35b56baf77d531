// One Leaflet map (from npm, served by the gateway itself) with a small layer per meaning: the
// scene, the unit, the line between. The base map is the tile URL the platform's settings name
// (a bureau's own tile server, WGS84 / Web Mercator); without one, the scene and the unit are
// drawn on a plain background with a scale, which is all a rider needs to find a direction.

import * as L from '../vendor/leaflet/leaflet-src.esm.js';
import { t } from './i18n.js';

const SHAOYANG = [27.2389, 111.4677];
const ARRIVAL_M = 100; // patrol tracking's arrival radius: inside it, on scene from GPS

export class MapView {
  constructor(element, { tileUrl, attribution }) {
    this.map = L.map(element, {
      zoomControl: false,
      attributionControl: Boolean(tileUrl),
      zoomSnap: 0.5,
    }).setView(SHAOYANG, 15);
    if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19, attribution }).addTo(this.map);
    else element.classList.add('plain');
    L.control.scale({ metric: true, imperial: false, position: 'bottomleft' }).addTo(this.map);
    this.scene = new SceneLayer(this.map);
    this.unit = new UnitLayer(this.map);
    this.link = new LinkLayer(this.map);
    this.framed = null;
    this.shown = { unit: null, scene: null };
    // the sheet under the map grows and shrinks with the order: Leaflet is told, and the
    // scene and the unit are framed again in what is left
    new ResizeObserver(() => {
      this.map.invalidateSize({ animate: false });
      this.frame(this.shown.unit, this.shown.scene);
    }).observe(element);
  }

  show({ unit, scene }) {
    const moved = Boolean(unit) && (this.shown.unit?.lat !== unit.lat || this.shown.unit?.lon !== unit.lon);
    this.shown = { unit, scene };
    this.unit.show(unit);
    this.scene.show(scene);
    this.link.show(unit, scene);
    const key = scene ? `${scene.lat},${scene.lon}` : 'none';
    if (key !== this.framed) {
      // framed once per work order (and when there is none), and again when the unit rides
      // out of the frame; the rider may pan meanwhile
      this.framed = key;
      this.frame(unit, scene);
    } else if (moved && !this.map.getBounds().pad(-0.1).contains([unit.lat, unit.lon])) {
      // a new fix outside the frame: the rider rode out of it; framed again
      this.frame(unit, scene);
    }
  }

  frame(unit, scene) {
    const points = [unit, scene].filter(Boolean).map((p) => [p.lat, p.lon]);
    if (points.length === 2) this.map.fitBounds(points, { padding: [48, 48], maxZoom: 17 });
    else if (points.length === 1) this.map.setView(points[0], 16);
  }
}

class SceneLayer {
  constructor(map) {
    this.group = L.layerGroup().addTo(map);
  }

  show(scene) {
    this.group.clearLayers();
    if (!scene) return;
    const at = [scene.lat, scene.lon];
    L.circle(at, { radius: ARRIVAL_M, color: '#c62828', weight: 1, fillOpacity: 0.08 }).addTo(
      this.group,
    );
    L.circleMarker(at, {
      radius: 11,
      color: '#ffffff',
      weight: 3,
      fillColor: '#c62828',
      fillOpacity: 1,
      className: 'scene-marker',
    })
      .bindTooltip(t('unit.scene'), { permanent: true, direction: 'top', offset: [0, -10] })
      .addTo(this.group);
  }
}

class UnitLayer {
  constructor(map) {
    this.group = L.layerGroup().addTo(map);
  }

  show(unit) {
    this.group.clearLayers();
    if (!unit) return;
    const at = [unit.lat, unit.lon];
    if (unit.accuracy_m) {
      L.circle(at, { radius: unit.accuracy_m, color: '#1565c0', weight: 0, fillOpacity: 0.12 })
        .addTo(this.group);
    }
    L.circleMarker(at, {
      radius: 9,
      color: '#ffffff',
      weight: 3,
      fillColor: '#1565c0',
      fillOpacity: 1,
      className: 'unit-marker',
    })
      .bindTooltip(t('unit.you'), { permanent: true, direction: 'bottom', offset: [0, 8] })
      .addTo(this.group);
  }
}

class LinkLayer {
  constructor(map) {
    this.group = L.layerGroup().addTo(map);
  }

  show(unit, scene) {
    this.group.clearLayers();
    if (!unit || !scene) return;
    L.polyline(
      [
        [unit.lat, unit.lon],
        [scene.lat, scene.lon],
      ],
      { color: '#37474f', weight: 3, dashArray: '6 8', opacity: 0.8 },
    ).addTo(this.group);
  }
}

// metres between two WGS84 points (haversine)
export function metres(a, b) {
  const r = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(h));
}

export { ARRIVAL_M };
