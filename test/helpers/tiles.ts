/** Slippy-map tile numbering and vector-tile decoding for the tile tests. */
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';

/** The tile at zoom z holding a point. */
export function tileOf(point: { lon: number; lat: number }, z: number): { z: number; x: number; y: number } {
  const n = 2 ** z;
  const rad = (point.lat * Math.PI) / 180;
  return {
    z,
    x: Math.floor(((point.lon + 180) / 360) * n),
    y: Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n),
  };
}

/** The bounds (degrees) of the tile at zoom z holding a point. */
export function tileBounds(point: { lon: number; lat: number }, z: number) {
  const { x, y } = tileOf(point, z);
  const n = 2 ** z;
  const lat = (row: number) => (Math.atan(Math.sinh(Math.PI * (1 - (2 * row) / n))) * 180) / Math.PI;
  return { west: (x / n) * 360 - 180, east: ((x + 1) / n) * 360 - 180, north: lat(y), south: lat(y + 1) };
}

export interface DecodedFeature {
  id: number | undefined;
  /** 1 point, 2 line, 3 polygon. */
  type: number;
  properties: Record<string, unknown>;
  /** In tile coordinates (0–4096). */
  geometry: { x: number; y: number }[][];
}

/** Every layer of a vector tile, its features sorted by id. */
export function decodeTile(bytes: Uint8Array): Record<string, DecodedFeature[]> {
  const tile = new VectorTile(new PbfReader(bytes));
  const out: Record<string, DecodedFeature[]> = {};
  for (const [name, layer] of Object.entries(tile.layers)) {
    const features: DecodedFeature[] = [];
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      features.push({
        id: f.id,
        type: f.type,
        properties: { ...f.properties },
        geometry: f.loadGeometry().map((ring) => ring.map((p) => ({ x: p.x, y: p.y }))),
      });
    }
    out[name] = features.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  }
  return out;
}
