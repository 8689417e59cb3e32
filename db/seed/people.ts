/**
 * The demo users of CONTRACT.md (password `citygrid`), district commanders, one duty account per
 * department, grid workers with their cells, and the workers' last known positions.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Executor, rows } from '../src/client';
import type { UserRole } from '../src/schema/enums';
import { hashPassword } from '../src/secrets';
import type { Catalog } from './catalog';
import { CENTRE, GIVEN, SURNAMES } from './names';
import { type CellInfo, type CityMap, randomPointIn } from './places';
import { int, pick, type Rng, shuffle, uniform } from './random';

export const DEMO_PASSWORD = 'citygrid';
const WORKERS = 20;
const ON_DUTY = 15;

export interface People {
  adminId: number;
  commanderId: number;
  supervisorId: number;
  /** District commander per district region id. */
  districtCommanders: Map<number, number>;
  /** Duty user per department code. */
  departmentUsers: Map<string, number>;
  workers: { id: number; username: string; districtId: number; cells: CellInfo[] }[];
  /** Worker ids per grid cell id. */
  cellWorkers: Map<number, number[]>;
}

interface UserInput {
  username: string;
  displayName: string;
  role: UserRole;
  regionId: number;
  departmentId: number | null;
}

export async function seedPeople(
  db: Executor,
  rng: Rng,
  map: CityMap,
  catalog: Catalog,
  now: Date,
): Promise<People> {
  // argon2 is deliberately slow: hash once, with a salt derived from a constant so the seed stays
  // deterministic, and give every demo account the same hash.
  const salt = createHash('sha256').update('citygrid-demo-salt').digest().subarray(0, 16);
  const passwordHash = await hashPassword(DEMO_PASSWORD, salt);

  const districts = [...map.regions.values()].filter((r) => r.level === 'DISTRICT').sort(byCode);
  const cityId = catalog.cityId;
  const users: UserInput[] = [
    { username: 'admin', displayName: '系统管理员', role: 'ADMIN', regionId: cityId, departmentId: null },
    {
      username: 'commander',
      displayName: '城运中心指挥长',
      role: 'COMMANDER',
      regionId: cityId,
      departmentId: null,
    },
    {
      username: 'supervisor',
      displayName: '监督中心值班长',
      role: 'SUPERVISOR',
      regionId: cityId,
      departmentId: null,
    },
    ...districts.map((d) => ({
      username: `commander-${d.code}`,
      displayName: `${d.name}指挥中心`,
      role: 'COMMANDER' as const,
      regionId: d.id,
      departmentId: null,
    })),
    ...[...catalog.departments.values()].map(({ id, spec }) => ({
      username: `dept-${spec.code}`,
      displayName: `${spec.name}值班员`,
      role: 'DEPARTMENT' as const,
      regionId: cityId,
      departmentId: id,
    })),
  ];

  // Five workers per district, each answering for a compact patch of 3–8 neighbouring cells.
  const taken = new Set<number>();
  const workerCells: { districtId: number; cells: CellInfo[] }[] = [];
  for (let w = 0; w < WORKERS; w++) {
    const district = districts[w % districts.length];
    if (!district) break;
    const inDistrict = map.cells.filter((c) => c.districtId === district.id && !taken.has(c.id));
    const first = pick(rng, towardsDowntown(inDistrict));
    const patch = inDistrict
      .map((c) => ({ c, d: Math.hypot(c.inside[0] - first.inside[0], c.inside[1] - first.inside[1]) }))
      .sort((a, b) => a.d - b.d || a.c.id - b.c.id)
      .slice(0, int(rng, 3, 8))
      .map(({ c }) => c);
    for (const c of patch) taken.add(c.id);
    workerCells.push({ districtId: district.id, cells: patch });
    users.push({
      username: `worker${w + 1}`,
      displayName: `${pick(rng, SURNAMES)}${pick(rng, GIVEN)}`,
      role: 'WORKER',
      regionId: district.id,
      departmentId: null,
    });
  }

  const inserted = await rows<{ id: number; username: string }>(
    db,
    sql`INSERT INTO users (username, password_hash, display_name, role, region_id, department_id)
        SELECT username, ${passwordHash}, "displayName", role::user_role, "regionId", "departmentId"
        FROM json_to_recordset(${JSON.stringify(users)}::json)
          AS u(username text, "displayName" text, role text, "regionId" bigint, "departmentId" bigint)
        RETURNING id::int AS id, username`,
  );
  const idOf = (username: string) => {
    const row = inserted.find((r) => r.username === username);
    if (!row) throw new Error(`seedPeople: user ${username} was not inserted`);
    return row.id;
  };

  const workers = workerCells.map((w, i) => ({
    id: idOf(`worker${i + 1}`),
    username: `worker${i + 1}`,
    ...w,
  }));
  const cellWorkers = new Map<number, number[]>();
  for (const w of workers)
    for (const c of w.cells) cellWorkers.set(c.id, [...(cellWorkers.get(c.id) ?? []), w.id]);
  const assignments = workers.flatMap((w) => w.cells.map((c) => ({ cell: c.id, user: w.id })));
  await db.execute(
    sql`INSERT INTO grid_cell_workers (grid_cell_id, user_id)
        SELECT cell, "user" FROM json_to_recordset(${JSON.stringify(assignments)}::json) AS a(cell bigint, "user" bigint)`,
  );

  // Most workers are out on patrol now; the rest went off duty a few hours ago.
  const onDuty = new Set(
    shuffle(rng, workers)
      .slice(0, ON_DUTY)
      .map((w) => w.id),
  );
  const positions = workers.map((w) => {
    const [lon, lat] = randomPointIn(rng, pick(rng, w.cells));
    const minutesAgo = onDuty.has(w.id) ? uniform(rng, 0.5, 12) : uniform(rng, 60, 600);
    return {
      user: w.id,
      lon,
      lat,
      accuracy: Math.round(uniform(rng, 3, 25)),
      onDuty: onDuty.has(w.id),
      at: new Date(now.getTime() - Math.round(minutesAgo * 60_000)).toISOString(),
    };
  });
  await db.execute(
    sql`INSERT INTO worker_positions (user_id, location, accuracy_meters, on_duty, at)
        SELECT "user", ST_SetSRID(ST_MakePoint(lon, lat), 4326), accuracy, "onDuty", at
        FROM json_to_recordset(${JSON.stringify(positions)}::json)
          AS p("user" bigint, lon float8, lat float8, accuracy float8, "onDuty" boolean, at timestamptz)`,
  );

  return {
    adminId: idOf('admin'),
    commanderId: idOf('commander'),
    supervisorId: idOf('supervisor'),
    districtCommanders: new Map(districts.map((d) => [d.id, idOf(`commander-${d.code}`)])),
    departmentUsers: new Map([...catalog.departments.keys()].map((code) => [code, idOf(`dept-${code}`)])),
    workers,
    cellWorkers,
  };
}

/** The half of a district's cells nearer downtown, where patrols concentrate. */
function towardsDowntown(cells: CellInfo[]): CellInfo[] {
  const distance = (c: CellInfo) => Math.hypot(c.inside[0] - CENTRE[0], c.inside[1] - CENTRE[1]);
  return [...cells]
    .sort((a, b) => distance(a) - distance(b) || a.id - b.id)
    .slice(0, Math.max(1, Math.ceil(cells.length / 2)));
}

const byCode = (a: { code: string }, b: { code: string }) => a.code.localeCompare(b.code);
