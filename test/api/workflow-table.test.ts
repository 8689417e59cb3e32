/**
 * Every role × action × scope, through GraphQL, from the status each action starts from; then
 * every action from every status it does not start from; then the person rules (handler,
 * verifier). The expectations are written out here from CONTRACT.md, not read from the server's
 * transition table, so the two are checked against each other.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { makeTestCity, type TestCity } from './factories';
import {
  ACTION_NAMES,
  type ActionName,
  act,
  makeWorld,
  seedCaseAt,
  trailOf,
  type World,
  type WorldUser,
} from './workflow-world';

type Role = WorldUser['role'];
type Status = 'REPORTED' | 'FILED' | 'DISPATCHED' | 'IN_PROGRESS' | 'RESOLVED' | 'CLOSED' | 'REJECTED';

/** CONTRACT.md's mutation table. */
const CONTRACT: Record<ActionName, { from: Status; to: Status; roles: Role[] }> = {
  FILE: { from: 'REPORTED', to: 'FILED', roles: ['COMMANDER'] },
  REJECT: { from: 'REPORTED', to: 'REJECTED', roles: ['COMMANDER'] },
  DISPATCH: { from: 'FILED', to: 'DISPATCHED', roles: ['COMMANDER'] },
  ACCEPT: { from: 'DISPATCHED', to: 'IN_PROGRESS', roles: ['DEPARTMENT', 'WORKER'] },
  RETURN: { from: 'DISPATCHED', to: 'FILED', roles: ['DEPARTMENT', 'WORKER'] },
  RESOLVE: { from: 'IN_PROGRESS', to: 'RESOLVED', roles: ['DEPARTMENT', 'WORKER'] },
  VERIFY_PASS: { from: 'RESOLVED', to: 'CLOSED', roles: ['WORKER', 'COMMANDER'] },
  VERIFY_FAIL: { from: 'RESOLVED', to: 'DISPATCHED', roles: ['WORKER', 'COMMANDER'] },
  REOPEN: { from: 'CLOSED', to: 'FILED', roles: ['COMMANDER'] },
};
const ROLES: Role[] = ['ADMIN', 'COMMANDER', 'DEPARTMENT', 'WORKER', 'SUPERVISOR'];
const STATUSES: Status[] = [
  'REPORTED',
  'FILED',
  'DISPATCHED',
  'IN_PROGRESS',
  'RESOLVED',
  'CLOSED',
  'REJECTED',
];

let database: TestDatabase;
let server: TestServer;
let world: World;
let elsewhere: TestCity;
/** The acting user of each role: district-scoped where the role allows it, to test district borders. */
let actorOf: Record<Role, WorldUser>;

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  world = await makeWorld(database.db, server);
  elsewhere = await makeTestCity(database.db, { lon: 116.5, lat: 39.875 });
  const u = world.users;
  actorOf = {
    ADMIN: u.admin,
    COMMANDER: u.commanderA,
    DEPARTMENT: u.dept1,
    WORKER: u.workerA1,
    SUPERVISOR: u.supervisor,
  };
});
afterAll(() => server?.close());

const extraArgs = (action: ActionName): Record<string, unknown> =>
  action === 'REJECT' ? { reason: 'INVALID' } : action === 'DISPATCH' ? { dept: String(world.dept1.id) } : {};

/** A case at `status` whose handler is `actor` when it can be (so only role and scope decide). */
async function caseFor(actor: WorldUser, status: Status, inScope: boolean) {
  const districtScoped = actor.regionId !== world.city.cityId;
  const cellId = inScope
    ? world.cellA1
    : districtScoped
      ? world.city.districts.B.cells[0]
      : elsewhere.districts.A.cells[0];
  return seedCaseAt(database.db, {
    categoryId: world.category.id,
    cellId,
    status,
    departmentId: actor.role === 'DEPARTMENT' ? actor.departmentId : world.dept1.id,
    assigneeId: actor.role === 'WORKER' ? actor.id : null,
    // Someone else resolved it, so a worker of the cell may verify.
    resolverId: world.users.commander.id,
  });
}

/** Runs cases a few at a time: the server and the machine are shared. */
async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

describe('role × action × scope', () => {
  // One test per role: its 9 actions, each in and out of its scope.
  test.each(ROLES)('%s', { timeout: 120_000 }, async (role) => {
    const combos = ACTION_NAMES.flatMap((action) => [true, false].map((inScope) => ({ action, inScope })));
    const outcomes: string[] = [];
    const expected: string[] = [];
    await inBatches(combos, 6, async ({ action, inScope }) => {
      const actor = actorOf[role];
      const rule = CONTRACT[action];
      const seeded = await caseFor(actor, rule.from, inScope);
      const r = await act(server, actor, action, seeded.id, seeded.version, extraArgs(action));
      const label = `${role} ${action} ${inScope ? 'in' : 'out of'} scope`;
      const want = !rule.roles.includes(role) ? 'FORBIDDEN' : !inScope ? 'NOT_FOUND' : rule.to;
      outcomes.push(`${label} → ${r.case ? r.case.status : r.code}`);
      expected.push(`${label} → ${want}`);
      const trail = await trailOf(database.db, seeded.id);
      // Whatever happened, the invariants hold; a refusal wrote nothing.
      expect(trail.status).toBe(trail.lastTo);
      expect(trail.version).toBe(trail.events);
      expect(trail.version).toBe(r.case ? seeded.version + 1 : seeded.version);
    });
    expect(outcomes.sort()).toEqual(expected.sort());
    expect(outcomes).toHaveLength(ACTION_NAMES.length * 2);
  });
});

describe('action × status', () => {
  test('every action from every status it does not start from is INVALID_TRANSITION', {
    timeout: 120_000,
  }, async () => {
    const u = world.users;
    const rows = ACTION_NAMES.flatMap((action) =>
      STATUSES.filter((s) => s !== CONTRACT[action].from).map((status) => ({ action, status })),
    );
    const outcomes: string[] = [];
    await inBatches(rows, 6, async ({ action, status }) => {
      // workerA1 handles, and answers for the cell; commanderA covers the commander's actions.
      const actor = CONTRACT[action].roles.includes('WORKER') ? u.workerA1 : u.commanderA;
      const seeded = await caseFor(actor, status, true);
      const r = await act(server, actor, action, seeded.id, seeded.version, extraArgs(action));
      outcomes.push(`${action} from ${status} → ${r.case ? r.case.status : r.code}`);
    });
    expect(outcomes.sort()).toEqual(
      rows.map((r) => `${r.action} from ${r.status} → INVALID_TRANSITION`).sort(),
    );
  });
});

describe('who among the role', () => {
  const cases: [
    string,
    () => WorldUser,
    ActionName,
    Status,
    () => Parameters<typeof seedCaseAt>[1] extends infer P ? Partial<P> : never,
    string,
  ][] = [
    [
      'another department (cannot see it)',
      () => world.users.dept2,
      'ACCEPT',
      'DISPATCHED',
      () => ({ departmentId: world.dept1.id }),
      'NOT_FOUND',
    ],
    [
      'another worker of the district',
      () => world.users.workerA2,
      'ACCEPT',
      'DISPATCHED',
      () => ({ departmentId: null, assigneeId: world.users.workerA1.id }),
      'FORBIDDEN',
    ],
    [
      'a worker of the department, not assigned',
      () => world.users.workerA1,
      'RESOLVE',
      'IN_PROGRESS',
      () => ({ departmentId: world.dept1.id, assigneeId: null }),
      'FORBIDDEN',
    ],
    [
      'the department desk of an assigned worker',
      () => world.users.dept1,
      'RETURN',
      'DISPATCHED',
      () => ({ departmentId: world.dept1.id, assigneeId: world.users.workerA1.id }),
      'FILED',
    ],
    [
      'the assigned worker',
      () => world.users.workerA2,
      'RESOLVE',
      'IN_PROGRESS',
      () => ({ departmentId: null, assigneeId: world.users.workerA2.id }),
      'RESOLVED',
    ],
    [
      'a worker verifying their own work',
      () => world.users.workerA1,
      'VERIFY_PASS',
      'RESOLVED',
      () => ({ resolverId: world.users.workerA1.id }),
      'FORBIDDEN',
    ],
    [
      'a worker of the district, not of the cell',
      () => world.users.workerA3,
      'VERIFY_PASS',
      'RESOLVED',
      () => ({ resolverId: world.users.dept1.id }),
      'FORBIDDEN',
    ],
    [
      'a worker of the cell',
      () => world.users.workerA2,
      'VERIFY_FAIL',
      'RESOLVED',
      () => ({ resolverId: world.users.workerA1.id, departmentId: world.dept1.id }),
      'DISPATCHED',
    ],
    [
      'the city commander',
      () => world.users.commander,
      'VERIFY_PASS',
      'RESOLVED',
      () => ({ resolverId: world.users.workerA1.id }),
      'CLOSED',
    ],
    [
      'another district’s commander',
      () => world.users.commanderB,
      'FILE',
      'REPORTED',
      () => ({}),
      'NOT_FOUND',
    ],
    [
      'another district’s worker',
      () => world.users.workerB,
      'VERIFY_PASS',
      'RESOLVED',
      () => ({ resolverId: world.users.dept1.id }),
      'NOT_FOUND',
    ],
  ];
  test.each(cases)('%s', async (_label, who, action, status, fields, want) => {
    const seeded = await seedCaseAt(database.db, {
      categoryId: world.category.id,
      cellId: world.cellA1,
      status,
      ...fields(),
    });
    const r = await act(server, who(), action, seeded.id, seeded.version, extraArgs(action));
    expect(r.case ? r.case.status : r.code).toBe(want);
    expect((await trailOf(database.db, seeded.id)).events).toBe(r.case ? seeded.version + 1 : seeded.version);
  });
});
