/** Turns GraphQL results into the GeoJSON the map's sources hold, and measures their extent. */
import type { CaseSummary, Geometry, GridCell, Region } from '../graphql/operations';

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

export function gridCellFeatures(cells: GridCell[]): GeoJSON.FeatureCollection<Geometry> {
  return {
    type: 'FeatureCollection',
    features: cells.map((cell) => ({
      type: 'Feature',
      geometry: cell.geometry,
      properties: { id: cell.id, code: cell.code, name: cell.name },
    })),
  };
}

export function caseFeatures(cases: CaseSummary[]): GeoJSON.FeatureCollection<GeoJSON.Point> {
  return {
    type: 'FeatureCollection',
    features: cases.map((c) => ({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [c.location.lon, c.location.lat] },
      properties: {
        id: c.id,
        code: c.code,
        status: c.status,
        priority: c.priority,
        categoryCode: c.category.code,
        categoryName: c.category.name,
        reportedAt: c.reportedAt,
      },
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
