/**
 * What simulated devices measure: per kind, a diurnal pattern (Asia/Shanghai local time), noise,
 * slow drift, and occasional events (rain, a lifted manhole cover, a smoke alarm, a failed lamp)
 * that last a few minutes and trip the alarm rules now and then.
 */
import type { SensorKind } from '../kinds';

export type Rng = () => number;

/** Deterministic PRNG (mulberry32), so a fleet replays the same way for the same seed. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** Local hour of day in Asia/Shanghai (UTC+8, no DST), fractional. */
export const localHour = (ts: number) => (((ts / 3600_000 + 8) % 24) + 24) % 24;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

export interface DeviceState {
  drift: number;
  /** Until when (epoch ms) the device is in an event. */
  eventUntil: number;
}

export interface ModelOptions {
  /** Chance per reading that an event starts (demo default ~ one event per device per few hours). */
  eventChance: number;
}

/** The values a device of the kind reports at time ts. Mutates its drift and event state. */
export function sample(
  kind: SensorKind,
  state: DeviceState,
  ts: number,
  rng: Rng,
  options: ModelOptions,
): Record<string, number> {
  state.drift = clamp(state.drift + gaussian(rng) * 0.01, -1, 1);
  if (ts >= state.eventUntil && rng() < options.eventChance) {
    state.eventUntil = ts + (3 + rng() * 7) * 60_000;
  }
  const event = ts < state.eventUntil;
  const h = localHour(ts);
  const day = Math.sin(((h - 8) / 24) * 2 * Math.PI); // peaks mid-afternoon
  const n = () => gaussian(rng);
  switch (kind) {
    case 'water_level':
      return {
        level: round(clamp(event ? 0.4 + 0.1 * rng() : 0.03 + 0.01 * n() + 0.02 * state.drift, 0, 3), 3),
      };
    case 'manhole':
      return event
        ? { tilt: round(clamp(20 + 10 * rng(), 0, 90), 1), open: 1 }
        : { tilt: round(clamp(1 + 0.5 * n() + state.drift, 0, 90), 1), open: 0 };
    case 'air_quality': {
      const pm25 = clamp(event ? 95 + 20 * rng() : 35 + 15 * day + 5 * n() + 10 * state.drift, 0, 1000);
      return {
        pm25: round(pm25, 1),
        pm10: round(clamp(pm25 * 1.6 + 5 * n(), 0, 2000), 1),
        no2: round(clamp(30 + 10 * day + 4 * n(), 0, 2000), 1),
        o3: round(clamp(60 - 25 * day + 6 * n(), 0, 1000), 1),
      };
    }
    case 'noise': {
      const night = h >= 22 || h < 6;
      const base = night ? 45 : 60 + 5 * day;
      return { laeq: round(clamp(event ? 75 + 5 * rng() : base + 3 * n(), 35, 100), 1) };
    }
    case 'smoke':
      return event
        ? { smoke: 1, temperature: round(clamp(55 + 10 * rng(), -40, 150), 1) }
        : { smoke: 0, temperature: round(clamp(20 + 6 * day + n(), -40, 150), 1) };
    case 'streetlight': {
      const lit = h >= 19 || h < 6;
      if (!lit) return { power: 0 };
      return { power: round(clamp(event ? 5 + 5 * rng() : 120 + 4 * n() + 5 * state.drift, 0, 250), 1) };
    }
  }
}
