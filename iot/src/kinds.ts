/**
 * The sensor kinds the platform knows: device-id prefixes, metrics with units and plausible
 * ranges, and how long each kind may stay silent before it counts as offline. Shared by the
 * ingester (range checks), presence (timeouts), the simulator and the seed's alarm rules.
 */

export interface MetricSpec {
  unit: string;
  /** Values outside [min, max] are refused as OUT_OF_RANGE: a broken probe, not a reading. */
  min: number;
  max: number;
}

export interface KindSpec {
  prefix: string;
  metrics: Record<string, MetricSpec>;
  /** Seconds of silence after which the sensor goes OFFLINE. */
  offlineAfterSeconds: number;
}

export const SENSOR_KINDS = {
  water_level: {
    prefix: 'wl',
    metrics: { level: { unit: 'm', min: 0, max: 3 } },
    offlineAfterSeconds: 300,
  },
  manhole: {
    prefix: 'mh',
    metrics: { tilt: { unit: 'deg', min: 0, max: 90 }, open: { unit: '', min: 0, max: 1 } },
    offlineAfterSeconds: 900,
  },
  air_quality: {
    prefix: 'aq',
    metrics: {
      pm25: { unit: 'µg/m³', min: 0, max: 1000 },
      pm10: { unit: 'µg/m³', min: 0, max: 2000 },
      no2: { unit: 'µg/m³', min: 0, max: 2000 },
      o3: { unit: 'µg/m³', min: 0, max: 1000 },
    },
    offlineAfterSeconds: 600,
  },
  noise: {
    prefix: 'ns',
    metrics: { laeq: { unit: 'dB(A)', min: 35, max: 100 } },
    offlineAfterSeconds: 600,
  },
  smoke: {
    prefix: 'sm',
    metrics: { smoke: { unit: '', min: 0, max: 1 }, temperature: { unit: '°C', min: -40, max: 150 } },
    offlineAfterSeconds: 300,
  },
  streetlight: {
    prefix: 'sl',
    metrics: { power: { unit: 'W', min: 0, max: 250 } },
    offlineAfterSeconds: 900,
  },
} as const satisfies Record<string, KindSpec>;

export type SensorKind = keyof typeof SENSOR_KINDS;

export const sensorKindNames = Object.keys(SENSOR_KINDS) as SensorKind[];

export function kindSpec(kind: string): KindSpec | undefined {
  return (SENSOR_KINDS as Record<string, KindSpec>)[kind];
}

/** `wl-0001` etc.: the demo fleet's device ids. */
export function demoDeviceId(kind: SensorKind, n: number): string {
  return `${SENSOR_KINDS[kind].prefix}-${String(n).padStart(4, '0')}`;
}

/** The largest offline timeout, so a sweep knows how far back it must look. */
export const MAX_OFFLINE_SECONDS = Math.max(...Object.values(SENSOR_KINDS).map((k) => k.offlineAfterSeconds));
