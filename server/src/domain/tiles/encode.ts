/**
 * MVT encoding in the server, for databases without `ST_AsMVT` (the embedded PostGIS). The rows
 * are exactly what the SQL tile functions feed `ST_AsMVT` — geometry already clipped and in tile
 * coordinates by `ST_AsMVTGeom` — so this only writes the protobuf, through @maplibre/vt-pbf.
 */
import type Point from '@mapbox/point-geometry';
import { fromVectorTileJs, type VectorTileFeatureLike, type VectorTileLayerLike } from '@maplibre/vt-pbf';

/** The extent every tile function uses (4096, the MVT default). */
export const TILE_EXTENT = 4096;

/** One feature as the rows functions return it: id, GeoJSON of the tile-space geometry, and properties. */
export interface TileRow {
  id: number;
  /** `ST_AsGeoJSON(ST_AsMVTGeom(…))`: integer tile coordinates, y downwards. */
  geometry: GeoJSONGeometry;
  properties: Record<string, string | number | boolean | null>;
}

type Position = number[];
type GeoJSONGeometry =
  | { type: 'Point'; coordinates: Position }
  | { type: 'MultiPoint'; coordinates: Position[] }
  | { type: 'LineString'; coordinates: Position[] }
  | { type: 'MultiLineString'; coordinates: Position[][] }
  | { type: 'Polygon'; coordinates: Position[][] }
  | { type: 'MultiPolygon'; coordinates: Position[][][] };

const point = ([x = 0, y = 0]: Position) => ({ x, y }) as Point;

/** MVT geometry type and command rings: points 1, lines 2, polygons 3 (rings of all parts in order). */
function toTileGeometry(geometry: GeoJSONGeometry): { type: 1 | 2 | 3; rings: Point[][] } {
  switch (geometry.type) {
    case 'Point':
      return { type: 1, rings: [[point(geometry.coordinates)]] };
    case 'MultiPoint':
      return { type: 1, rings: [geometry.coordinates.map(point)] };
    case 'LineString':
      return { type: 2, rings: [geometry.coordinates.map(point)] };
    case 'MultiLineString':
      return { type: 2, rings: geometry.coordinates.map((line) => line.map(point)) };
    case 'Polygon':
      return { type: 3, rings: geometry.coordinates.map((ring) => ring.map(point)) };
    case 'MultiPolygon':
      return {
        type: 3,
        rings: geometry.coordinates.flatMap((polygon) => polygon.map((ring) => ring.map(point))),
      };
  }
}

/** Encodes one layer; an empty layer gives an empty tile (as `ST_AsMVT` over no rows does). */
export function encodeTile(layerName: string, rows: readonly TileRow[]): Uint8Array {
  if (rows.length === 0) return new Uint8Array(0);
  const features: VectorTileFeatureLike[] = rows.map((row) => {
    const { type, rings } = toTileGeometry(row.geometry);
    const properties: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(row.properties)) if (value !== null) properties[key] = value;
    return { id: row.id, type, properties, extent: TILE_EXTENT, loadGeometry: () => rings };
  });
  const layer: VectorTileLayerLike = {
    version: 2,
    name: layerName,
    extent: TILE_EXTENT,
    length: features.length,
    feature: (i) => features[i]!,
  };
  return fromVectorTileJs({ layers: { [layerName]: layer } });
}
