/**
 * Chinese map coordinate systems. Chinese map SDKs hand out GCJ-02 ("Mars" coordinates, a
 * published obfuscation of WGS84) or BD-09 (Baidu's further shift of GCJ-02). We store WGS84, so
 * points arriving in either are converted here.
 *
 * WGS84 → GCJ-02 is the well-known closed-form offset; its inverse has no closed form, so it is
 * solved by fixed-point iteration to < 1e-9° (≈ 0.1 mm). GCJ-02 ↔ BD-09 is a small rotation and
 * scale around the origin plus a fixed shift; its inverse is iterated the same way so that a round
 * trip is exact to well under a metre. Outside China GCJ-02 equals WGS84.
 */
import type { LonLat } from '@citygrid/db';

export type Crs = 'WGS84' | 'GCJ02' | 'BD09';

const A = 6_378_245.0; // Krasovsky 1940 semi-major axis, as the GCJ-02 algorithm uses
const EE = 0.006_693_421_622_965_943; // its first eccentricity squared
const X_PI = (Math.PI * 3000) / 180;
const EPSILON = 1e-9;
const MAX_ITERATIONS = 30;

/** The rough box within which GCJ-02 applies its offset (the algorithm's own test). */
export function outOfChina({ lon, lat }: LonLat): boolean {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function offsetLat(x: number, y: number): number {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}

function offsetLon(x: number, y: number): number {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}

export function wgs84ToGcj02(p: LonLat): LonLat {
  if (outOfChina(p)) return { lon: p.lon, lat: p.lat };
  const radLat = (p.lat / 180) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  const dLat =
    (offsetLat(p.lon - 105, p.lat - 35) * 180) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  const dLon = (offsetLon(p.lon - 105, p.lat - 35) * 180) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return { lon: p.lon + dLon, lat: p.lat + dLat };
}

export function gcj02ToBd09(p: LonLat): LonLat {
  const z = Math.sqrt(p.lon * p.lon + p.lat * p.lat) + 0.000_02 * Math.sin(p.lat * X_PI);
  const theta = Math.atan2(p.lat, p.lon) + 0.000_003 * Math.cos(p.lon * X_PI);
  return { lon: z * Math.cos(theta) + 0.0065, lat: z * Math.sin(theta) + 0.006 };
}

/** Inverts `forward` near `target` by fixed-point iteration (both shifts are tiny and smooth). */
function invert(forward: (p: LonLat) => LonLat, target: LonLat, start: LonLat): LonLat {
  let guess = start;
  for (let i = 0; i < MAX_ITERATIONS; i++) {
    const image = forward(guess);
    const dLon = image.lon - target.lon;
    const dLat = image.lat - target.lat;
    guess = { lon: guess.lon - dLon, lat: guess.lat - dLat };
    if (Math.abs(dLon) < EPSILON && Math.abs(dLat) < EPSILON) break;
  }
  return guess;
}

export function gcj02ToWgs84(p: LonLat): LonLat {
  if (outOfChina(p)) return { lon: p.lon, lat: p.lat };
  return invert(wgs84ToGcj02, p, p);
}

export function bd09ToGcj02(p: LonLat): LonLat {
  // The usual closed-form approximation as the start, refined against the exact forward map.
  const x = p.lon - 0.0065;
  const y = p.lat - 0.006;
  const z = Math.sqrt(x * x + y * y) - 0.000_02 * Math.sin(y * X_PI);
  const theta = Math.atan2(y, x) - 0.000_003 * Math.cos(x * X_PI);
  return invert(gcj02ToBd09, p, { lon: z * Math.cos(theta), lat: z * Math.sin(theta) });
}

export const wgs84ToBd09 = (p: LonLat): LonLat => gcj02ToBd09(wgs84ToGcj02(p));
export const bd09ToWgs84 = (p: LonLat): LonLat => gcj02ToWgs84(bd09ToGcj02(p));

/** Converts a point given in `crs` to WGS84, the system everything is stored in. */
export function toWgs84(p: LonLat, crs: Crs = 'WGS84'): LonLat {
  switch (crs) {
    case 'WGS84':
      return { lon: p.lon, lat: p.lat };
    case 'GCJ02':
      return gcj02ToWgs84(p);
    case 'BD09':
      return bd09ToWgs84(p);
  }
}

/** Converts a WGS84 point to `crs` (for clients that draw on a Chinese basemap). */
export function fromWgs84(p: LonLat, crs: Crs): LonLat {
  switch (crs) {
    case 'WGS84':
      return { lon: p.lon, lat: p.lat };
    case 'GCJ02':
      return wgs84ToGcj02(p);
    case 'BD09':
      return wgs84ToBd09(p);
  }
}
