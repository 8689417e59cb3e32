/** Small planar helpers for the phone: which of my cells holds a point, and distances in metres. */
import type { Cell, LonLat } from './api';

/** Great-circle distance in metres (a mean Earth radius; fine for "within 50 m" on a phone). */
export function metersBetween(a: LonLat, b: LonLat): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(h));
}

function inRing(point: LonLat, ring: GeoJSON.Position[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi = 0, yi = 0] = ring[i]!;
    const [xj = 0, yj = 0] = ring[j]!;
    if (yi > point.lat !== yj > point.lat && point.lon < ((xj - xi) * (point.lat - yi)) / (yj - yi) + xi)
      inside = !inside;
  }
  return inside;
}

function inPolygon(point: LonLat, rings: GeoJSON.Position[][]): boolean {
  const [outer, ...holes] = rings;
  return !!outer && inRing(point, outer) && !holes.some((h) => inRing(point, h));
}

/** The cell of mine that holds the point (used offline, when gridAt cannot be asked). */
export function myCellAt(cells: Cell[], point: LonLat): Cell | undefined {
  return cells.find((c) =>
    c.geometry.type === 'Polygon'
      ? inPolygon(point, c.geometry.coordinates)
      : c.geometry.coordinates.some((p) => inPolygon(point, p)),
  );
}

/** The bounds of some cells as [[west, south], [east, north]]. */
export function boundsOf(cells: Cell[]): [[number, number], [number, number]] | undefined {
  let w = 180;
  let s = 90;
  let e = -180;
  let n = -90;
  for (const c of cells) {
    const polys = c.geometry.type === 'Polygon' ? [c.geometry.coordinates] : c.geometry.coordinates;
    for (const ring of polys.flat()) {
      for (const [x = 0, y = 0] of ring) {
        w = Math.min(w, x);
        s = Math.min(s, y);
        e = Math.max(e, x);
        n = Math.max(n, y);
      }
    }
  }
  return w <= e
    ? [
        [w, s],
        [e, n],
      ]
    : undefined;
}
