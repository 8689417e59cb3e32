/**
 * PostGIS column types and the spatial SQL fragments every package shares.
 *
 * Geometry lives as `geometry(<type>, 4326)` (WGS84 lon/lat). Values travel as GeoJSON and are
 * converted inside SQL (`ST_GeomFromGeoJSON` / `ST_AsGeoJSON`), so nothing parses WKB in JS.
 * Metres always come from `::geography` casts; 3857 is only used to cut tiles.
 */
import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { customType } from 'drizzle-orm/pg-core';

export const SRID = 4326;

export type Position = [lon: number, lat: number];
export interface PointGeometry {
  type: 'Point';
  coordinates: Position;
}
export interface PolygonGeometry {
  type: 'Polygon';
  coordinates: Position[][];
}
export interface MultiPolygonGeometry {
  type: 'MultiPolygon';
  coordinates: Position[][][];
}
export type Geometry = PointGeometry | PolygonGeometry | MultiPolygonGeometry;

/** A point as the API speaks it: WGS84 longitude and latitude in degrees. */
export interface LonLat {
  lon: number;
  lat: number;
}

/**
 * Raw driver value of a geometry column (hex EWKB). Select geometry through `asGeoJson` or
 * `lonLatOf` instead; this brand makes an accidental direct select visible in types.
 */
export type GeometryWkbHex = string & { readonly __brand: 'GeometryWkbHex' };

function geometryColumn<G extends Geometry>(geometryType: 'Point' | 'Polygon' | 'MultiPolygon') {
  return customType<{ data: G; driverData: GeometryWkbHex }>({
    // drizzle-kit quotes nothing here; the SRID must survive into the DDL (check generated SQL).
    dataType: () => `geometry(${geometryType},${SRID})`,
    toDriver: (value: G): SQL => sql`ST_SetSRID(ST_GeomFromGeoJSON(${JSON.stringify(value)}), ${SRID})`,
    fromDriver: (value) => value as unknown as G,
  });
}

export const pointColumn = geometryColumn<PointGeometry>('Point');
export const polygonColumn = geometryColumn<PolygonGeometry>('Polygon');
export const multiPolygonColumn = geometryColumn<MultiPolygonGeometry>('MultiPolygon');

/** `ST_MakePoint` in 4326 from lon/lat parameters. */
export function makePoint(p: LonLat): SQL {
  return sql`ST_SetSRID(ST_MakePoint(${p.lon}::float8, ${p.lat}::float8), ${SRID})`;
}

/** Selects a geometry column as a parsed GeoJSON object. */
export function asGeoJson<G extends Geometry = Geometry>(column: SQLWrapper, maxDecimals = 7): SQL<G> {
  return sql<G>`ST_AsGeoJSON(${column}, ${maxDecimals})::json`;
}

/** Selects a point column as `{ lon, lat }`. */
export function lonLatOf(column: SQLWrapper): SQL<LonLat> {
  return sql<LonLat>`json_build_object('lon', ST_X(${column}), 'lat', ST_Y(${column}))`;
}

export const pointFromGeoJson = (p: LonLat): PointGeometry => ({
  type: 'Point',
  coordinates: [p.lon, p.lat],
});
