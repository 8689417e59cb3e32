/** GCJ-02 / BD-09 conversions: round trips within a metre anywhere in China, identity outside. */
import { bd09ToWgs84, gcj02ToWgs84, toWgs84, wgs84ToBd09, wgs84ToGcj02 } from '@citygrid/server';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

/** Great-circle distance in metres (test-side check only; the server measures with PostGIS). */
function metres(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const r = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(h));
}

/** Points inside mainland China's rough box, where GCJ-02 applies its offset. */
const inChina = fc.record({
  lon: fc.double({ min: 73.7, max: 134.7, noNaN: true }),
  lat: fc.double({ min: 18.2, max: 53.5, noNaN: true }),
});

describe('coordinate systems', () => {
  test('WGS84 → GCJ-02 → WGS84 round-trips within 1 m', () => {
    fc.assert(
      fc.property(inChina, (p) => metres(p, gcj02ToWgs84(wgs84ToGcj02(p))) < 1),
      { numRuns: 2000 },
    );
  });

  test('WGS84 → BD-09 → WGS84 round-trips within 1 m', () => {
    fc.assert(
      fc.property(inChina, (p) => metres(p, bd09ToWgs84(wgs84ToBd09(p))) < 1),
      { numRuns: 2000 },
    );
  });

  test('the GCJ-02 offset is real: tens to hundreds of metres inside China', () => {
    fc.assert(
      fc.property(inChina, (p) => {
        const d = metres(p, wgs84ToGcj02(p));
        return d > 10 && d < 1500;
      }),
      { numRuns: 500 },
    );
    // Tongren, the demo city: the offset is a few hundred metres.
    const tongren = { lon: 109.19, lat: 27.72 };
    expect(metres(tongren, wgs84ToGcj02(tongren))).toBeGreaterThan(100);
    expect(metres(tongren, wgs84ToGcj02(tongren))).toBeLessThan(800);
  });

  test('outside China GCJ-02 is WGS84', () => {
    const paris = { lon: 2.35, lat: 48.86 };
    expect(wgs84ToGcj02(paris)).toEqual(paris);
    expect(toWgs84(paris, 'GCJ02')).toEqual(paris);
  });

  test('WGS84 input is left as it is', () => {
    const p = { lon: 109.19, lat: 27.72 };
    expect(toWgs84(p, 'WGS84')).toEqual(p);
  });
});
