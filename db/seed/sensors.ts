/**
 * The demo sensor fleet (~200 devices of six kinds placed in the city) and the alarm rules of the
 * shared constants. Self-contained on purpose: the IoT pipeline owns this file and its constants.
 * Device secrets are derived from the device id (`demoDeviceSecret`) so the simulator can sign in.
 */
import { sql } from 'drizzle-orm';
import { type Executor, rows } from '../src/client';
import { demoDeviceSecret, hashSecret } from '../src/secrets';

/** Uniform in [0, 1); the caller's seeded generator. */
type Rng = () => number;

interface KindSpec {
  kind: string;
  prefix: string;
  count: number;
  name: string;
  /** Unit of the main metric; none for the 0/1 smoke flag. */
  unit: string | null;
  metrics: Record<string, string>;
  /** Share placed around downtown rather than spread over the city. */
  downtown: number;
}

export const SENSOR_KINDS: readonly KindSpec[] = [
  {
    kind: 'water_level',
    prefix: 'wl',
    count: 30,
    name: '积水监测',
    unit: 'm',
    metrics: { level: 'm' },
    downtown: 0.5,
  },
  {
    kind: 'manhole',
    prefix: 'mh',
    count: 50,
    name: '智能井盖',
    unit: 'deg',
    metrics: { tilt: 'deg', open: '0/1' },
    downtown: 0.6,
  },
  {
    kind: 'air_quality',
    prefix: 'aq',
    count: 20,
    name: '空气质量监测',
    unit: 'µg/m³',
    metrics: { pm25: 'µg/m³', pm10: 'µg/m³', no2: 'µg/m³', o3: 'µg/m³' },
    downtown: 0.3,
  },
  {
    kind: 'noise',
    prefix: 'ns',
    count: 25,
    name: '噪声监测',
    unit: 'dB(A)',
    metrics: { laeq: 'dB(A)' },
    downtown: 0.7,
  },
  {
    kind: 'smoke',
    prefix: 'sm',
    count: 30,
    name: '烟感报警',
    unit: null,
    metrics: { smoke: '0/1', temperature: '°C' },
    downtown: 0.7,
  },
  {
    kind: 'streetlight',
    prefix: 'sl',
    count: 45,
    name: '智慧路灯',
    unit: 'W',
    metrics: { power: 'W' },
    downtown: 0.5,
  },
];

/** Category codes (see catalog.ts) that alarm rules open cases in. */
const CATEGORY = { waterlogging: '15-05', manhole: '01-01', fire: '15-06', streetlight: '01-04' } as const;

const ALARM_RULES = [
  {
    name: '道路积水 Waterlogging',
    sensorKind: 'water_level',
    metric: 'level',
    condition: 'ABOVE',
    threshold: 0.3,
    thresholdHigh: null,
    clearThreshold: 0.2,
    holdSeconds: 60,
    severity: 'CRITICAL',
    activeFrom: null,
    activeTo: null,
    category: CATEGORY.waterlogging,
  },
  {
    name: '井盖倾斜 Manhole cover tilted',
    sensorKind: 'manhole',
    metric: 'tilt',
    condition: 'ABOVE',
    threshold: 15,
    thresholdHigh: null,
    clearThreshold: 5,
    holdSeconds: 0,
    severity: 'CRITICAL',
    activeFrom: null,
    activeTo: null,
    category: CATEGORY.manhole,
  },
  {
    name: 'PM2.5 超标 PM2.5 high',
    sensorKind: 'air_quality',
    metric: 'pm25',
    condition: 'ABOVE',
    threshold: 75,
    thresholdHigh: null,
    clearThreshold: 60,
    holdSeconds: 300,
    severity: 'WARNING',
    activeFrom: null,
    activeTo: null,
    category: null,
  },
  {
    name: '夜间噪声超标 Night-time noise',
    sensorKind: 'noise',
    metric: 'laeq',
    condition: 'ABOVE',
    threshold: 70,
    thresholdHigh: null,
    clearThreshold: null,
    holdSeconds: 0,
    severity: 'WARNING',
    activeFrom: '22:00',
    activeTo: '06:00',
    category: null,
  },
  {
    name: '烟雾报警 Smoke detected',
    sensorKind: 'smoke',
    metric: 'smoke',
    condition: 'ABOVE',
    threshold: 0.5,
    thresholdHigh: null,
    clearThreshold: null,
    holdSeconds: 0,
    severity: 'CRITICAL',
    activeFrom: null,
    activeTo: null,
    category: CATEGORY.fire,
  },
  {
    name: '路灯功率异常 Street lamp power out of band',
    sensorKind: 'streetlight',
    metric: 'power',
    condition: 'OUTSIDE',
    threshold: 20,
    thresholdHigh: 200,
    clearThreshold: null,
    holdSeconds: 0,
    severity: 'WARNING',
    activeFrom: '19:00',
    activeTo: '06:00',
    category: CATEGORY.streetlight,
  },
] as const;

/** Inserts the demo fleet and the alarm rules; returns the number of sensors. */
export async function seedSensors(db: Executor, rng: Rng): Promise<number> {
  const [centreLon, centreLat] = [109.19, 27.72];
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const input: {
    ord: number;
    deviceId: string;
    kind: string;
    name: string;
    unit: string | null;
    meta: object;
    lon: number;
    lat: number;
  }[] = [];
  for (const spec of SENSOR_KINDS) {
    for (let n = 1; n <= spec.count; n++) {
      // Inside the surveyed core (109.15–109.23 × 27.69–27.75), which grid cells always cover.
      let lon: number;
      let lat: number;
      do {
        const downtown = rng() < spec.downtown;
        lon = downtown ? centreLon + 0.012 * normal() : 109.15 + 0.08 * rng();
        lat = downtown ? centreLat + 0.009 * normal() : 27.69 + 0.06 * rng();
      } while (lon < 109.15 || lon > 109.23 || lat < 27.69 || lat > 27.75);
      const deviceId = `${spec.prefix}-${String(n).padStart(4, '0')}`;
      input.push({
        ord: input.length,
        deviceId,
        kind: spec.kind,
        name: spec.name,
        unit: spec.unit,
        meta: { metrics: spec.metrics, demo: true },
        lon,
        lat,
      });
    }
  }
  const secrets = Object.fromEntries(
    input.map((s) => [s.deviceId, hashSecret(demoDeviceSecret(s.deviceId))]),
  );
  const inserted = await rows<{ n: number }>(
    db,
    sql`WITH input AS (
          SELECT x.*, ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326) AS pt, (${JSON.stringify(secrets)}::json ->> x."deviceId") AS secret_hash
          FROM json_to_recordset(${JSON.stringify(input)}::json)
            AS x(ord int, "deviceId" text, kind text, name text, unit text, meta jsonb, lon float8, lat float8)
        ),
        placed AS (
          -- One cell per point, the same one gridAt would pick for a point on a shared edge (lowest id).
          SELECT DISTINCT ON (i.ord) i.*, g.id AS cell_id, g.street_id, g.district_id, g.city_id, s.name AS street_name
          FROM input i
          JOIN grid_cells g ON ST_Intersects(g.geom, i.pt)
          JOIN regions s ON s.id = g.street_id
          ORDER BY i.ord, g.id
        ),
        inserted AS (
          INSERT INTO sensors (device_id, kind, name, location, unit, grid_cell_id, street_id, district_id, city_id, secret_hash, meta)
          SELECT "deviceId", kind, street_name || name || ' ' || "deviceId", pt, unit, cell_id, street_id, district_id, city_id,
                 secret_hash, meta
          FROM placed ORDER BY ord
          RETURNING 1
        )
        SELECT count(*)::int AS n FROM inserted`,
  );

  await db.execute(
    sql`INSERT INTO alarm_rules (name, sensor_kind, metric, condition, threshold, threshold_high, clear_threshold,
                                 hold_seconds, severity, active_from, active_to, opens_case, case_category_id)
        SELECT r.name, r."sensorKind", r.metric, r.condition::alarm_condition, r.threshold, r."thresholdHigh",
               r."clearThreshold", r."holdSeconds", r.severity::alarm_severity, r."activeFrom"::time, r."activeTo"::time,
               r.category IS NOT NULL, c.id
        FROM json_to_recordset(${JSON.stringify(ALARM_RULES.map((r, ord) => ({ ...r, ord })))}::json) AS r(
          name text, "sensorKind" text, metric text, condition text, threshold float8, "thresholdHigh" float8,
          "clearThreshold" float8, "holdSeconds" int, severity text, "activeFrom" text, "activeTo" text, category text,
          ord int)
        LEFT JOIN categories c ON c.code = r.category
        ORDER BY r.ord`,
  );
  return inserted[0]?.n ?? 0;
}
