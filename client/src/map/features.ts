/** Turns GraphQL regions into the GeoJSON the map's outline sources hold, and measures their extent. */
import type { Geometry, Region } from '../graphql/operations';

export type Bounds = [west: number, south: number, east: number, north: number];

export function regionFeatures(regions: Region[]): GeoJSON.FeatureCollection<Geometry> {
  return {
    type: 'FeatureCollection',
    features: regions.map((region, index) => ({
      type: 'Feature',
      geometry: region.geometry,
      properties: { id: region.id, code: region.code, name: region.name, nameEn: region.nameEn, index },
    })),
  };
}

/** The bounding box of every coordinate of the given geometries, or null when there are none. */
export function boundsOf(geometries: Iterable<Geometry | GeoJSON.Point>): Bounds | null {
  let west = Infinity;
  let south = Infinity;
  let east = -Infinity;
  let north = -Infinity;
  const visit = (position: GeoJSON.Position) => {
    const [lon, lat] = position;
    if (lon === undefined || lat === undefined) return;
    if (lon < west) west = lon;
    if (lon > east) east = lon;
    if (lat < south) south = lat;
    if (lat > north) north = lat;
  };
  for (const geometry of geometries) {
    if (geometry.type === 'Point') visit(geometry.coordinates);
    else if (geometry.type === 'Polygon') for (const ring of geometry.coordinates) ring.forEach(visit);
    else for (const polygon of geometry.coordinates) for (const ring of polygon) ring.forEach(visit);
  }
  return west <= east && south <= north ? [west, south, east, north] : null;
}
