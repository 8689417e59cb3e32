/**
 * Evaluation (综合评价) over a hand-built fixture of 30 cases in a test city of their own: every
 * expected number below was counted by hand from the trails in the table (see the comments), then
 * asserted for each groupBy.
 */
import { type Executor, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import {
  cellCentre,
  makeCategory,
  makeDepartment,
  makeTestCity,
  makeUser,
  type TestCity,
  type TestDistrict,
} from './factories';

const database = await testDatabase();
const db = database.db;
let server: TestServer;

/** The window: one week from T0. */
const T0 = Date.parse('2031-03-03T00:00:00Z');
const HOUR = 3_600_000;
const FROM = new Date(T0).toISOString();
const TO = new Date(T0 + 168 * HOUR).toISOString();

type Step =
  | readonly [
      'REPORT' | 'FILE' | 'ACCEPT' | 'RETURN' | 'RESOLVE' | 'VERIFY_PASS' | 'VERIFY_FAIL' | 'REOPEN',
      number,
    ]
  | readonly ['REJECT', number, 'INVALID' | 'DUPLICATE' | 'OUT_OF_SCOPE']
  | readonly ['DISPATCH', number, 'D1' | 'D2', 'W1' | 'W2' | null];

/** A trail template; hours are relative to the case's own start. */
interface Template {
  steps: readonly Step[];
  /** Handling deadline, hours after the start (null: none). */
  due: number | null;
}

// Per template, what it contributes inside the window (rep filed rej | disp ret | res onTime | ver rew | due closed closedOnTime hours):
const T1: Template = {
  // 1 1 0 | 1 0 | 1 1 | 1 0 | 1 1 1 12h
  steps: [
    ['REPORT', 0],
    ['FILE', 1],
    ['DISPATCH', 2, 'D1', 'W1'],
    ['ACCEPT', 3],
    ['RESOLVE', 10],
    ['VERIFY_PASS', 12],
  ],
  due: 20,
};
const T2: Template = {
  // 1 1 0 | 1 0 | 1 0 | 1 0 | 1 1 0 32h (resolved and closed after the deadline)
  steps: [
    ['REPORT', 0],
    ['FILE', 1],
    ['DISPATCH', 2, 'D1', 'W1'],
    ['ACCEPT', 3],
    ['RESOLVE', 30],
    ['VERIFY_PASS', 32],
  ],
  due: 20,
};
const T3: Template = {
  // 1 1 0 | 1 0 | 2 2 | 2 1 | 1 1 1 9h (one rework)
  steps: [
    ['REPORT', 0],
    ['FILE', 1],
    ['DISPATCH', 2, 'D1', 'W1'],
    ['ACCEPT', 3],
    ['RESOLVE', 5],
    ['VERIFY_FAIL', 6],
    ['ACCEPT', 7],
    ['RESOLVE', 8],
    ['VERIFY_PASS', 9],
  ],
  due: 20,
};
const T4: Template = {
  // 1 1 0 | 2 1 | 0 0 | 0 0 | 1 0 0 (returned by the first handler, re-dispatched, still open)
  steps: [
    ['REPORT', 0],
    ['FILE', 1],
    ['DISPATCH', 2, 'D1', 'W1'],
    ['RETURN', 3],
    ['DISPATCH', 4, 'D2', 'W2'],
    ['ACCEPT', 5],
  ],
  due: 40,
};
const T5: Template = {
  steps: [
    ['REPORT', 0],
    ['REJECT', 1, 'INVALID'],
  ],
  due: null,
}; // 1 0 1
const T6: Template = {
  steps: [
    ['REPORT', 0],
    ['REJECT', 1, 'DUPLICATE'],
  ],
  due: null,
}; // 1 0 0
const T7: Template = {
  steps: [
    ['REPORT', 0],
    ['REJECT', 1, 'OUT_OF_SCOPE'],
  ],
  due: null,
}; // 1 0 1
const T8: Template = { steps: [['REPORT', 0]], due: null }; // 1 0 0
const T9: Template = {
  // 1 1 0 | 1 0 | 1 1 | 1 0 | 1 0 0 (closed, then reopened inside the window)
  steps: [...T1.steps, ['REOPEN', 14]],
  due: 20,
};
const T10: Template = {
  // 0 0 0 | 0 0 | 1 0 | 1 0 | - (reported and dispatched before the window, due before it)
  steps: [
    ['REPORT', -48],
    ['FILE', -47],
    ['DISPATCH', -46, 'D1', 'W1'],
    ['ACCEPT', -45],
    ['RESOLVE', 5],
    ['VERIFY_PASS', 6],
  ],
  due: -20,
};
const T11: Template = {
  // 1 1 0 | 1 0 | 1 1 | 0 0 | 1 0 0 (due inside the window, closed after its end)
  steps: [
    ['REPORT', 0],
    ['FILE', 1],
    ['DISPATCH', 2, 'D1', 'W1'],
    ['ACCEPT', 3],
    ['RESOLVE', 100],
    ['VERIFY_PASS', 200],
  ],
  due: 150,
};

type Who = 'W1' | 'W2' | 'CMD';
interface CaseSpec {
  t: Template;
  cell: readonly ['A' | 'B', 0 | 1 | 2 | 3];
  cat: 'C1' | 'C2';
  reporter: Who;
  /** Overrides of the template's dispatches, in order: [department, assignee]. */
  dispatch?: readonly (readonly ['D1' | 'D2', 'W1' | 'W2' | null])[];
}

const D1W1 = [['D1', 'W1']] as const;
const D2W2 = [['D2', 'W2']] as const;

/** The fixture: case n (1-based) is row n-1. C1's default department is D1, C2's is D2. */
const SPECS: CaseSpec[] = [
  { t: T1, cell: ['A', 0], cat: 'C1', reporter: 'W1', dispatch: D1W1 }, // 1
  { t: T1, cell: ['A', 0], cat: 'C1', reporter: 'W1', dispatch: D1W1 }, // 2
  { t: T1, cell: ['A', 1], cat: 'C1', reporter: 'W1', dispatch: D1W1 }, // 3
  { t: T1, cell: ['B', 0], cat: 'C2', reporter: 'W2', dispatch: D2W2 }, // 4
  { t: T1, cell: ['B', 0], cat: 'C2', reporter: 'W2', dispatch: D2W2 }, // 5
  { t: T1, cell: ['B', 1], cat: 'C1', reporter: 'CMD', dispatch: [['D1', null]] }, // 6
  { t: T2, cell: ['A', 0], cat: 'C1', reporter: 'W1', dispatch: D1W1 }, // 7
  { t: T2, cell: ['B', 0], cat: 'C2', reporter: 'W2', dispatch: D2W2 }, // 8
  { t: T3, cell: ['A', 0], cat: 'C1', reporter: 'W1', dispatch: D1W1 }, // 9
  { t: T3, cell: ['B', 1], cat: 'C2', reporter: 'W2', dispatch: D2W2 }, // 10
  {
    t: T4,
    cell: ['A', 1],
    cat: 'C1',
    reporter: 'W1',
    dispatch: [
      ['D1', null],
      ['D2', 'W2'],
    ],
  }, // 11
  {
    t: T4,
    cell: ['A', 0],
    cat: 'C1',
    reporter: 'W1',
    dispatch: [
      ['D1', 'W1'],
      ['D2', 'W2'],
    ],
  }, // 12
  { t: T5, cell: ['A', 0], cat: 'C1', reporter: 'W1' }, // 13
  { t: T5, cell: ['B', 0], cat: 'C2', reporter: 'W2' }, // 14
  { t: T6, cell: ['A', 0], cat: 'C1', reporter: 'W1' }, // 15
  { t: T7, cell: ['B', 1], cat: 'C2', reporter: 'CMD' }, // 16
  { t: T7, cell: ['A', 1], cat: 'C1', reporter: 'W1' }, // 17
  { t: T8, cell: ['A', 0], cat: 'C1', reporter: 'W1' }, // 18
  { t: T8, cell: ['B', 0], cat: 'C2', reporter: 'W2' }, // 19
  { t: T8, cell: ['B', 1], cat: 'C2', reporter: 'W2' }, // 20
  { t: T9, cell: ['A', 0], cat: 'C1', reporter: 'W1', dispatch: D1W1 }, // 21
  { t: T9, cell: ['B', 0], cat: 'C2', reporter: 'W2', dispatch: D2W2 }, // 22
  { t: T10, cell: ['A', 1], cat: 'C1', reporter: 'W1', dispatch: D1W1 }, // 23
  { t: T10, cell: ['B', 1], cat: 'C2', reporter: 'W2', dispatch: D2W2 }, // 24
  { t: T11, cell: ['A', 0], cat: 'C1', reporter: 'W1', dispatch: D2W2 }, // 25
  { t: T11, cell: ['B', 0], cat: 'C2', reporter: 'W2', dispatch: D2W2 }, // 26
  { t: T1, cell: ['A', 2], cat: 'C1', reporter: 'W1', dispatch: D1W1 }, // 27
  { t: T2, cell: ['B', 2], cat: 'C1', reporter: 'W2', dispatch: [['D1', null]] }, // 28
  { t: T3, cell: ['A', 3], cat: 'C2', reporter: 'W1', dispatch: [['D2', 'W1']] }, // 29
  { t: T8, cell: ['A', 2], cat: 'C1', reporter: 'CMD' }, // 30
];

const TO_STATUS: Record<string, [string | null, string]> = {
  REPORT: [null, 'REPORTED'],
  FILE: ['REPORTED', 'FILED'],
  REJECT: ['REPORTED', 'REJECTED'],
  DISPATCH: ['FILED', 'DISPATCHED'],
  ACCEPT: ['DISPATCHED', 'IN_PROGRESS'],
  RETURN: ['DISPATCHED', 'FILED'],
  RESOLVE: ['IN_PROGRESS', 'RESOLVED'],
  VERIFY_PASS: ['RESOLVED', 'CLOSED'],
  VERIFY_FAIL: ['RESOLVED', 'DISPATCHED'],
  REOPEN: ['CLOSED', 'FILED'],
};

interface World {
  city: TestCity;
  ids: Record<'D1' | 'D2' | 'C1' | 'C2' | 'W1' | 'W2' | 'CMD', number>;
  tokens: { commander: string; commanderA: string; supervisor: string; department: string; worker: string };
  names: { W1: string; W2: string };
}

/** Writes one case and its trail as the workflow would have (status, version, derived fields). */
async function insertCase(
  ex: Executor,
  world: Pick<World, 'ids'>,
  district: TestDistrict,
  spec: CaseSpec,
  start: number,
): Promise<void> {
  const at = (h: number) => new Date(start + h * HOUR).toISOString();
  const dispatches = [...(spec.dispatch ?? [])];
  let dept: number | null = null;
  let assignee: number | null = null;
  let status = 'REPORTED';
  let reject: string | null = null;
  let rework = 0;
  const events: {
    seq: number;
    action: string;
    from: string | null;
    to: string;
    payload: object;
    at: string;
  }[] = [];
  for (const step of spec.t.steps) {
    const [action, h] = step;
    const [from, to] = TO_STATUS[action]!;
    let payload: object = {};
    if (action === 'DISPATCH') {
      const [d, w] = dispatches.shift() ?? [step[2], step[3]];
      dept = world.ids[d];
      assignee = w ? world.ids[w] : null;
      payload = { departmentId: dept, assigneeId: assignee };
    }
    if (action === 'REJECT') {
      reject = step[2];
      payload = { reason: reject };
    }
    if (action === 'RETURN') {
      dept = null;
      assignee = null;
    }
    if (action === 'VERIFY_FAIL') rework++;
    status = to;
    events.push({ seq: events.length + 1, action, from, to, payload, at: at(h) });
  }
  const location = cellCentre(district, spec.cell[1]);
  const [row] = await rows<{ id: number }>(
    ex,
    sql`INSERT INTO cases (code, status, version, category_id, description, location, grid_cell_id, community_id,
                           street_id, district_id, city_id, source, reporter_id, reported_at, handle_due_at,
                           department_id, assignee_id, reject_reason, rework_count)
        SELECT 'EV' || nextval('case_code_seq'), ${status}::case_status, ${events.length}, ${world.ids[spec.cat]}::bigint,
               'evaluation fixture', ST_SetSRID(ST_MakePoint(${location.lon}::float8, ${location.lat}::float8), 4326),
               g.id, g.community_id, g.street_id, g.district_id, g.city_id, 'WORKER', ${world.ids[spec.reporter]}::bigint,
               ${events[0]!.at}::timestamptz, ${spec.t.due === null ? null : at(spec.t.due)}::timestamptz,
               ${dept}::bigint, ${assignee}::bigint, ${reject}::reject_reason, ${rework}
        FROM grid_cells g WHERE g.id = ${district.cells[spec.cell[1]]}
        RETURNING id::int AS id`,
  );
  await ex.execute(sql`
    INSERT INTO case_events (case_id, seq, action, from_status, to_status, actor_id, payload, at)
    SELECT ${row!.id}::bigint, seq, action, "from"::case_status, "to"::case_status, NULL, payload, at
    FROM json_to_recordset(${JSON.stringify(events)}::json)
      AS x(seq int, action text, "from" text, "to" text, payload jsonb, at timestamptz)`);
}

let world: World;

beforeAll(async () => {
  server = await startTestServer(database);
  const city = await makeTestCity(db, { lon: 100.25, lat: 30.125 });
  const D1 = await makeDepartment(db, city.cityId);
  const D2 = await makeDepartment(db, city.cityId);
  const C1 = await makeCategory(db, { departmentId: D1.id });
  const C2 = await makeCategory(db, { departmentId: D2.id });
  const W1 = await makeUser(db, { role: 'WORKER', regionId: city.districts.A.id });
  const W2 = await makeUser(db, { role: 'WORKER', regionId: city.districts.B.id });
  const commander = await makeUser(db, { role: 'COMMANDER', regionId: city.cityId });
  const commanderA = await makeUser(db, { role: 'COMMANDER', regionId: city.districts.A.id });
  const supervisor = await makeUser(db, { role: 'SUPERVISOR', regionId: city.cityId });
  const deptUser = await makeUser(db, { role: 'DEPARTMENT', regionId: city.cityId, departmentId: D1.id });
  const ids = { D1: D1.id, D2: D2.id, C1: C1.id, C2: C2.id, W1: W1.id, W2: W2.id, CMD: commander.id };
  for (const [i, spec] of SPECS.entries()) {
    // Each case starts half an hour after the previous one, all inside the window's first day.
    await insertCase(db, { ids }, city.districts[spec.cell[0]], spec, T0 + i * 0.5 * HOUR);
  }
  // The same kind of case in another city, inside the window: never counted for this city.
  const other = await makeTestCity(db, { lon: 101.25, lat: 31.125 });
  for (let i = 0; i < 3; i++) {
    await insertCase(
      db,
      { ids },
      other.districts.A,
      { t: T1, cell: ['A', 0], cat: 'C1', reporter: 'W1' },
      T0,
    );
  }
  world = {
    city,
    ids,
    names: { W1: W1.username, W2: W2.username },
    tokens: {
      commander: await server.login(commander.username),
      commanderA: await server.login(commanderA.username),
      supervisor: await server.login(supervisor.username),
      department: await server.login(deptUser.username),
      worker: await server.login(W1.username),
    },
  };
});

afterAll(() => server?.close());

interface Row {
  groupId: string | null;
  groupName: string | null;
  reported: number;
  filed: number;
  rejected: number;
  filingRate: number | null;
  dispatched: number;
  returned: number;
  dispatchAccuracy: number | null;
  resolved: number;
  resolvedOnTime: number;
  onTimeHandlingRate: number | null;
  verified: number;
  reworked: number;
  reworkRate: number | null;
  due: number;
  closed: number;
  closedOnTime: number;
  closureRate: number | null;
  onTimeClosureRate: number | null;
  avgHoursToClose: number | null;
}

const QUERY = `query E($from: DateTime!, $to: DateTime!, $g: EvaluationGroupBy!, $r: ID) {
  evaluation(from: $from, to: $to, groupBy: $g, regionId: $r) {
    groupId groupName reported filed rejected filingRate dispatched returned dispatchAccuracy
    resolved resolvedOnTime onTimeHandlingRate verified reworked reworkRate
    due closed closedOnTime closureRate onTimeClosureRate avgHoursToClose
  }
}`;

async function evaluation(groupBy: string, token: string, regionId?: number): Promise<Row[]> {
  const { data, errors } = await server.graphql<{ evaluation: Row[] }>(
    QUERY,
    { from: FROM, to: TO, g: groupBy, r: regionId === undefined ? null : String(regionId) },
    token,
  );
  expect(errors).toBeUndefined();
  return data!.evaluation;
}

/** Counts [rep filed rej disp ret res onTime ver rew due closed closedOnTime] and the mean hours to close. */
type Counts = [
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
];

function expectRow(row: Row | undefined, counts: Counts, avgHours: number | null): void {
  expect(row).toBeDefined();
  const [rep, filed, rej, disp, ret, res, onTime, ver, rew, due, closed, closedOnTime] = counts;
  expect({
    reported: row!.reported,
    filed: row!.filed,
    rejected: row!.rejected,
    dispatched: row!.dispatched,
    returned: row!.returned,
    resolved: row!.resolved,
    resolvedOnTime: row!.resolvedOnTime,
    verified: row!.verified,
    reworked: row!.reworked,
    due: row!.due,
    closed: row!.closed,
    closedOnTime: row!.closedOnTime,
  }).toEqual({
    reported: rep,
    filed,
    rejected: rej,
    dispatched: disp,
    returned: ret,
    resolved: res,
    resolvedOnTime: onTime,
    verified: ver,
    reworked: rew,
    due,
    closed,
    closedOnTime,
  });
  const rate = (n: number, d: number) => (d === 0 ? null : n / d);
  const close = (actual: number | null, expected: number | null) =>
    expected === null ? expect(actual).toBeNull() : expect(actual).toBeCloseTo(expected, 9);
  close(row!.filingRate, rate(filed, filed + rej));
  close(row!.dispatchAccuracy, disp === 0 ? null : 1 - ret / disp);
  close(row!.onTimeHandlingRate, rate(onTime, res));
  close(row!.reworkRate, rate(rew, ver));
  close(row!.closureRate, rate(closed, due));
  close(row!.onTimeClosureRate, rate(closedOnTime, due));
  close(row!.avgHoursToClose, avgHours);
}

// Hand counts per district (cases 1-3,7,9,11-13,15,17,18,21,23,25,27,29,30 lie in A; the rest in B):
// A: T1×4 T2×1 T3×2 T4×2 T5 T6 T7 T8×2 T9 T10 T11 → hours (4·12 + 32 + 2·9) / 7 = 14
const DISTRICT_A: Counts = [16, 11, 2, 13, 2, 12, 10, 11, 2, 11, 7, 6];
// B: T1×3 T2×2 T3 T5 T7 T8×2 T9 T10 T11 → hours (3·12 + 2·32 + 9) / 6 = 109/6
const DISTRICT_B: Counts = [12, 8, 2, 8, 0, 10, 7, 9, 1, 8, 6, 4];

describe('evaluation of the hand-built fixture', () => {
  test('by DISTRICT: one row per district with the hand counts', async () => {
    const result = await evaluation('DISTRICT', world.tokens.commander);
    expect(result.map((r) => Number(r.groupId)).sort()).toEqual(
      [world.city.districts.A.id, world.city.districts.B.id].sort(),
    );
    expectRow(
      result.find((r) => Number(r.groupId) === world.city.districts.A.id),
      DISTRICT_A,
      14,
    );
    expectRow(
      result.find((r) => Number(r.groupId) === world.city.districts.B.id),
      DISTRICT_B,
      109 / 6,
    );
  });

  test('by STREET: each district has one street, so the same numbers', async () => {
    const result = await evaluation('STREET', world.tokens.supervisor);
    expect(result).toHaveLength(2);
    expectRow(
      result.find((r) => Number(r.groupId) === world.city.districts.A.streetId),
      DISTRICT_A,
      14,
    );
    expectRow(
      result.find((r) => Number(r.groupId) === world.city.districts.B.streetId),
      DISTRICT_B,
      109 / 6,
    );
  });

  test('by GRID: seven cells have cases; A:c1 and B:c3 counted by hand', async () => {
    const result = await evaluation('GRID', world.tokens.commander);
    const { A, B } = world.city.districts;
    expect(result.map((r) => Number(r.groupId)).sort()).toEqual(
      [...A.cells, B.cells[0], B.cells[1], B.cells[2]].sort(),
    );
    // A:c1 holds cases 1,2 (T1), 7 (T2), 9 (T3), 12 (T4), 13 (T5), 15 (T6), 18 (T8), 21 (T9), 25 (T11):
    // hours (2·12 + 32 + 9) / 4 = 16.25
    expectRow(
      result.find((r) => Number(r.groupId) === A.cells[0]),
      [10, 7, 1, 8, 1, 7, 6, 6, 1, 7, 4, 3],
      16.25,
    );
    // B:c3 holds case 28 (T2 dispatched to D1 alone).
    expectRow(
      result.find((r) => Number(r.groupId) === B.cells[2]),
      [1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0],
      32,
    );
    // The cells add up to the districts.
    const sum = (key: keyof Row) => result.reduce((s, r) => s + Number(r[key]), 0);
    expect(sum('reported')).toBe(28);
    expect(sum('dispatched')).toBe(21);
    expect(sum('due')).toBe(19);
  });

  test('by DEPARTMENT: reports go to the category default, the rest to the handler of the latest dispatch', async () => {
    const result = await evaluation('DEPARTMENT', world.tokens.commander);
    expect(result.map((r) => Number(r.groupId)).sort()).toEqual([world.ids.D1, world.ids.D2].sort());
    // D1: reports of C1's 18 cases but case 23 (before the window); dispatches of 1-3,6,27 (T1), 7,28 (T2), 9 (T3),
    // 21 (T9) and the first of 11,12 (both returned); the due cohort is the cases it holds now.
    expectRow(
      result.find((r) => Number(r.groupId) === world.ids.D1),
      [17, 12, 2, 11, 2, 11, 8, 11, 1, 9, 8, 6],
      (5 * 12 + 2 * 32 + 9) / 8,
    );
    // D2: C2's reports; dispatches of 4,5 (T1), 8 (T2), 10,29 (T3), 22 (T9), 25,26 (T11), the second of 11,12.
    expectRow(
      result.find((r) => Number(r.groupId) === world.ids.D2),
      [11, 7, 2, 10, 0, 11, 9, 9, 2, 10, 5, 4],
      (2 * 12 + 32 + 2 * 9) / 5,
    );
  });

  test('by WORKER: reports go to the reporting grid worker, the rest to the assignee', async () => {
    const result = await evaluation('WORKER', world.tokens.commander);
    expect(result).toHaveLength(3);
    expect(result.find((r) => Number(r.groupId) === world.ids.W1)?.groupName).toBe(world.names.W1);
    expectRow(
      result.find((r) => Number(r.groupId) === world.ids.W1),
      [15, 11, 2, 9, 1, 11, 9, 11, 2, 8, 7, 6],
      14,
    );
    expectRow(
      result.find((r) => Number(r.groupId) === world.ids.W2),
      [10, 7, 1, 9, 0, 9, 7, 7, 1, 9, 4, 3],
      16.25,
    );
    // No group: the commander's own reports (6, 16, 30) and the dispatches to a department alone (6, 11's first, 28).
    expectRow(
      result.find((r) => r.groupId === null),
      [3, 1, 1, 3, 1, 2, 1, 2, 0, 2, 2, 1],
      22,
    );
  });
});

describe('scope and access', () => {
  test('a district commander sees only their district; regionId narrows a city scope', async () => {
    const own = await evaluation('DISTRICT', world.tokens.commanderA);
    expect(own.map((r) => Number(r.groupId))).toEqual([world.city.districts.A.id]);
    expectRow(own[0], DISTRICT_A, 14);
    const narrowed = await evaluation('DISTRICT', world.tokens.commander, world.city.districts.B.id);
    expect(narrowed.map((r) => Number(r.groupId))).toEqual([world.city.districts.B.id]);
    expectRow(narrowed[0], DISTRICT_B, 109 / 6);
    // A district commander asking for the other district gets nothing from it.
    expect(await evaluation('DISTRICT', world.tokens.commanderA, world.city.districts.B.id)).toEqual([]);
  });

  test('departments and workers may not read evaluations; a bad window is BAD_USER_INPUT', async () => {
    for (const token of [world.tokens.department, world.tokens.worker]) {
      const { errors } = await server.graphql(QUERY, { from: FROM, to: TO, g: 'GRID' }, token);
      expect(errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    const { errors } = await server.graphql(QUERY, { from: TO, to: FROM, g: 'GRID' }, world.tokens.commander);
    expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const anonymous = await server.graphql(QUERY, { from: FROM, to: TO, g: 'GRID' });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test('a window with nothing in it gives no rows', async () => {
    const { data } = await server.graphql<{ evaluation: Row[] }>(
      QUERY,
      { from: '2031-06-01T00:00:00Z', to: '2031-06-08T00:00:00Z', g: 'DISTRICT' },
      world.tokens.commander,
    );
    expect(data?.evaluation).toEqual([]);
  });
});
