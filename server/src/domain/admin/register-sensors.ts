/**
 * Registering sensors in bulk from CSV (`device_id,kind,name,lon,lat[,unit][,crs]`, a header
 * line first). Every row is checked before any is written; all rows go in one transaction or
 * none. Each device's secret is made here and returned once (the registry keeps its hash).
 */
import { type Db, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { DomainError, Forbidden } from '../errors';
import { registerSensor } from '../sensors/sensors';
import { recordAdminAction } from './audit';

export interface SensorRow {
  line: number;
  deviceId: string;
  kind: string;
  name: string;
  lon: number;
  lat: number;
  unit: string | null;
  crs: 'WGS84' | 'GCJ02' | 'BD09';
}

export interface RegisterResult {
  registered: { deviceId: string; secret: string }[];
  problems: { line: number; message: string }[];
}

/** A small RFC 4180 reader: quoted fields, doubled quotes, CRLF. */
export function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f.trim() !== '')) out.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) out.push(row);
  return out;
}

export function readSensorCsv(text: string): {
  rows: SensorRow[];
  problems: { line: number; message: string }[];
} {
  const [header, ...body] = parseCsv(text.replace(/^\uFEFF/, ''));
  const problems: { line: number; message: string }[] = [];
  if (!header) return { rows: [], problems: [{ line: 1, message: 'the file is empty' }] };
  const names = header.map((h) => h.trim().toLowerCase());
  const col = (n: string) => names.indexOf(n);
  for (const required of ['device_id', 'kind', 'name', 'lon', 'lat']) {
    if (col(required) < 0) problems.push({ line: 1, message: `the header lacks the column "${required}"` });
  }
  if (problems.length) return { rows: [], problems };
  const out: SensorRow[] = [];
  const seen = new Set<string>();
  body.forEach((cells, i) => {
    const line = i + 2;
    const get = (n: string) => (col(n) >= 0 ? (cells[col(n)] ?? '').trim() : '');
    const lon = Number(get('lon'));
    const lat = Number(get('lat'));
    const crs = (get('crs') || 'WGS84').toUpperCase();
    const deviceId = get('device_id');
    if (!Number.isFinite(lon) || !Number.isFinite(lat) || get('lon') === '' || get('lat') === '') {
      problems.push({ line, message: `lon and lat must be numbers` });
    } else if (crs !== 'WGS84' && crs !== 'GCJ02' && crs !== 'BD09') {
      problems.push({ line, message: `crs must be WGS84, GCJ02 or BD09, not "${crs}"` });
    } else if (seen.has(deviceId)) {
      problems.push({ line, message: `device "${deviceId}" appears twice in the file` });
    } else {
      seen.add(deviceId);
      out.push({
        line,
        deviceId,
        kind: get('kind'),
        name: get('name'),
        lon,
        lat,
        unit: get('unit') || null,
        crs: crs as SensorRow['crs'],
      });
    }
  });
  return { rows: out, problems };
}

/**
 * Registers every row through the same `registerSensor` the GraphQL mutation uses, as `actor`
 * (an ADMIN). A refused row rolls back the lot; the report names every refused row, checked
 * one by one inside savepoints so all of them are found in one run.
 */
export async function registerSensors(
  db: Db,
  actor: Actor,
  sensorRows: SensorRow[],
  onProgress: (done: number, total: number) => void = () => {},
): Promise<RegisterResult> {
  if (actor.role !== 'ADMIN') throw new Forbidden('only an ADMIN registers sensors');
  const result: RegisterResult = { registered: [], problems: [] };
  const rollback = new Error('rollback');
  try {
    await db.transaction(async (tx) => {
      for (const [i, row] of sensorRows.entries()) {
        try {
          await tx.transaction(async (savepoint) => {
            const { secret } = await registerSensor(savepoint, actor, {
              deviceId: row.deviceId,
              kind: row.kind,
              name: row.name,
              location: { lon: row.lon, lat: row.lat, crs: row.crs },
              unit: row.unit,
            });
            result.registered.push({ deviceId: row.deviceId, secret });
          });
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          result.problems.push({ line: row.line, message: `${row.deviceId}: ${error.message}` });
        }
        onProgress(i + 1, sensorRows.length);
      }
      if (result.problems.length) throw rollback;
      await recordAdminAction(tx, {
        actorId: actor.id,
        action: 'registerSensors',
        target: null,
        detail: {
          count: result.registered.length,
          deviceIds: result.registered.map((r) => r.deviceId).slice(0, 100),
        },
      });
    });
  } catch (error) {
    if (error !== rollback) throw error;
    result.registered = [];
  }
  return result;
}

/** The active ADMIN user the CLI acts as (by name, or the first city-scoped one). */
export async function adminActor(db: Db, username?: string): Promise<Actor> {
  const [row] = await rows<{ id: number; region_id: number }>(
    db,
    sql`SELECT u.id::int AS id, u.region_id::int AS region_id FROM users u JOIN regions r ON r.id = u.region_id
        WHERE u.role = 'ADMIN' AND u.active ${username ? sql`AND u.username = ${username}` : sql``}
        ORDER BY (r.level = 'CITY') DESC, u.id LIMIT 1`,
  );
  if (!row)
    throw new Forbidden(username ? `"${username}" is not an active ADMIN` : 'no active ADMIN user exists');
  return { id: row.id, role: 'ADMIN', regionId: row.region_id };
}
