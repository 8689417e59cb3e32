/**
 * The small "my cells" map, with an optional draggable pin for the report's location. Loaded
 * lazily (`import('./cells-map')`): MapLibre is most of the bundle and the report form must be
 * usable before it arrives. No remote tiles, glyphs or sprites: just the cells on a plain ground.
 */
import 'maplibre-gl/dist/maplibre-gl.css';
import * as maplibregl from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import type { Cell, LonLat } from './api';
import { boundsOf } from './geo';

let workersSet = false;

export interface CellsMap {
  setPin(point: LonLat): void;
  destroy(): void;
}

export function createCellsMap(
  container: HTMLElement,
  cells: Cell[],
  options: { pin?: LonLat; onPinMoved?: (point: LonLat) => void } = {},
): CellsMap {
  if (!workersSet) {
    maplibregl.setWorkerUrl(workerUrl);
    maplibregl.setWorkerCount(1);
    workersSet = true;
  }
  const features: GeoJSON.Feature[] = cells.map((c) => ({
    type: 'Feature',
    properties: { id: c.id, code: c.code, name: c.name },
    geometry: c.geometry,
  }));
  const bounds = boundsOf(cells);
  const map = new maplibregl.Map({
    container,
    attributionControl: false,
    style: {
      version: 8,
      sources: { cells: { type: 'geojson', data: { type: 'FeatureCollection', features } } },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#111a2e' } },
        {
          id: 'my-cells-fill',
          type: 'fill',
          source: 'cells',
          paint: { 'fill-color': '#0ea5e9', 'fill-opacity': 0.18 },
        },
        {
          id: 'my-cells-outline',
          type: 'line',
          source: 'cells',
          paint: { 'line-color': '#38bdf8', 'line-width': 1.5 },
        },
      ],
    },
    ...(bounds
      ? { bounds, fitBoundsOptions: { padding: 16 } }
      : { center: options.pin ?? { lon: 109.19, lat: 27.72 }, zoom: 14 }),
  });
  map.on('load', () => {
    container.dataset.mapState = 'ready';
  });
  let marker: maplibregl.Marker | undefined;
  const setPin = (point: LonLat) => {
    if (!marker) {
      marker = new maplibregl.Marker({ draggable: !!options.onPinMoved, color: '#f59e0b' })
        .setLngLat(point)
        .addTo(map);
      marker.on('dragend', () => {
        const p = marker!.getLngLat();
        options.onPinMoved?.({ lon: p.lng, lat: p.lat });
      });
    } else marker.setLngLat(point);
    if (!map.getBounds().contains(point))
      map.easeTo({ center: point, zoom: Math.max(map.getZoom(), 15), duration: 0 });
  };
  if (options.pin) setPin(options.pin);
  return { setPin, destroy: () => map.remove() };
}
