/**
 * Property: random sequences of workflow actions by random actors, through GraphQL against the
 * real database. A model written from CONTRACT.md predicts each outcome; after every step the
 * case must satisfy status = last event's toStatus and version = number of events, agree with
 * the model, and every refusal must carry the code the model expects. Half the steps are
 * "guided" (one of the moves the model says succeeds), so sequences get deep into the loop.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type TestDatabase, testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import {
  type ActionName,
  type ActorName,
  act,
  makeWorld,
  seedCaseAt,
  trailOf,
  type World,
  type WorldUser,
} from './workflow-world';

type Status = 'REPORTED' | 'FILED' | 'DISPATCHED' | 'IN_PROGRESS' | 'RESOLVED' | 'CLOSED' | 'REJECTED';

/** The contract's transitions; nothing else may ever succeed. */
const TABLE: {
  from: Status;
  action: ActionName;
  to: Status;
  roles: WorldUser['role'][];
  rule?: 'HANDLER' | 'VERIFIER';
}[] = [
  { from: 'REPORTED', action: 'FILE', to: 'FILED', roles: ['COMMANDER'] },
  { from: 'REPORTED', action: 'REJECT', to: 'REJECTED', roles: ['COMMANDER'] },
  { from: 'FILED', action: 'DISPATCH', to: 'DISPATCHED', roles: ['COMMANDER'] },
  {
    from: 'DISPATCHED',
    action: 'ACCEPT',
    to: 'IN_PROGRESS',
    roles: ['DEPARTMENT', 'WORKER'],
    rule: 'HANDLER',
  },
  { from: 'DISPATCHED', action: 'RETURN', to: 'FILED', roles: ['DEPARTMENT', 'WORKER'], rule: 'HANDLER' },
  {
    from: 'IN_PROGRESS',
    action: 'RESOLVE',
    to: 'RESOLVED',
    roles: ['DEPARTMENT', 'WORKER'],
    rule: 'HANDLER',
  },
  { from: 'RESOLVED', action: 'VERIFY_PASS', to: 'CLOSED', roles: ['WORKER', 'COMMANDER'], rule: 'VERIFIER' },
  {
    from: 'RESOLVED',
    action: 'VERIFY_FAIL',
    to: 'DISPATCHED',
    roles: ['WORKER', 'COMMANDER'],
    rule: 'VERIFIER',
  },
  { from: 'CLOSED', action: 'REOPEN', to: 'FILED', roles: ['COMMANDER'] },
];
const ACTIONS = [...new Set(TABLE.map((t) => t.action))];
const ACTORS: ActorName[] = [
  'commander',
  'commanderB',
  'dept1',
  'dept2',
  'workerA1',
  'workerA2',
  'workerA3',
  'workerB',
  'supervisor',
];
/** Dispatch targets: a department, a grid worker, a worker of a department. */
const TARGETS = ['dept1', 'dept2', 'workerA2', 'dept1+workerA1'] as const;
type Target = (typeof TARGETS)[number];

interface Model {
  status: Status;
  version: number;
  dispatched: boolean;
  departmentId: number | null;
  assigneeId: number | null;
  resolverId: number | null;
}

interface Step {
  guided: boolean;
  pick: number;
  actor: ActorName;
  action: ActionName;
  target: Target;
  /** 0: the current version; otherwise an offset making it stale. */
  stale: 0 | -1 | 1;
}

let database: TestDatabase;
let server: TestServer;
let world: World;

beforeAll(async () => {
  database = await testDatabase();
  server = await startTestServer(database);
  world = await makeWorld(database.db, server);
});
afterAll(() => server?.close());

function targetIds(target: Target): { departmentId: number | null; assigneeId: number | null } {
  const u = world.users;
  switch (target) {
    case 'dept1':
      return { departmentId: world.dept1.id, assigneeId: null };
    case 'dept2':
      return { departmentId: world.dept2.id, assigneeId: null };
    case 'workerA2':
      return { departmentId: null, assigneeId: u.workerA2.id };
    case 'dept1+workerA1':
      return { departmentId: world.dept1.id, assigneeId: u.workerA1.id };
  }
}

/** The outcome the contract predicts: the new status, or the refusal's code. */
function predict(
  m: Model,
  user: WorldUser,
  action: ActionName,
  stale: boolean,
): { to: Status } | { code: string } {
  if (!TABLE.some((t) => t.action === action && t.roles.includes(user.role))) return { code: 'FORBIDDEN' };
  // The case lies in cell A.c1 of district A: district B's users never see it, and a
  // department sees it only while it is dispatched there.
  const visible =
    user.regionId !== world.city.districts.B.id &&
    (user.role !== 'DEPARTMENT' || (m.dispatched && m.departmentId === user.departmentId));
  if (!visible) return { code: 'NOT_FOUND' };
  if (stale) return { code: 'CONFLICT' };
  const row = TABLE.find((t) => t.from === m.status && t.action === action && t.roles.includes(user.role));
  if (!row) return { code: 'INVALID_TRANSITION' };
  if (row.rule === 'HANDLER') {
    const handler =
      m.assigneeId === user.id || (user.role === 'DEPARTMENT' && m.departmentId === user.departmentId);
    if (!handler) return { code: 'FORBIDDEN' };
  }
  if (row.rule === 'VERIFIER' && user.role === 'WORKER') {
    const ofCell = user.name === 'workerA1' || user.name === 'workerA2';
    if (!ofCell || m.resolverId === user.id) return { code: 'FORBIDDEN' };
  }
  return { to: row.to };
}

function applyModel(m: Model, user: WorldUser, action: ActionName, to: Status, target: Target): Model {
  const next = { ...m, status: to, version: m.version + 1 };
  if (action === 'DISPATCH') Object.assign(next, targetIds(target), { dispatched: true });
  if (action === 'RETURN' || action === 'REOPEN')
    Object.assign(next, { departmentId: null, assigneeId: null });
  if (action === 'RESOLVE') next.resolverId = user.id;
  return next;
}

const step: fc.Arbitrary<Step> = fc.record({
  guided: fc.boolean(),
  pick: fc.nat(),
  actor: fc.constantFrom(...ACTORS),
  action: fc.constantFrom(...ACTIONS),
  target: fc.constantFrom(...TARGETS),
  stale: fc.constantFrom<(0 | -1 | 1)[]>(0, 0, 0, 0, 0, -1, 1),
});

test('random action sequences keep the trail consistent and follow the table', async () => {
  let steps = 0;
  let succeeded = 0;
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (sequence) => {
      const seeded = await seedCaseAt(database.db, {
        categoryId: world.category.id,
        cellId: world.cellA1,
        status: 'REPORTED',
      });
      let m: Model = {
        status: 'REPORTED',
        version: 1,
        dispatched: false,
        departmentId: null,
        assigneeId: null,
        resolverId: null,
      };
      for (const s of sequence) {
        let { actor, action, stale } = s;
        if (s.guided) {
          // Rejection ends the loop; guided steps take it rarely, so sequences go deep.
          const moves = ACTORS.flatMap((a) => ACTIONS.map((x) => [a, x] as const)).filter(
            ([a, x]) => 'to' in predict(m, world.users[a], x, false) && (x !== 'REJECT' || s.pick % 5 === 0),
          );
          if (moves.length > 0) [actor, action] = moves[s.pick % moves.length]!;
          stale = 0;
        }
        const user = world.users[actor];
        const expected = predict(m, user, action, stale !== 0);
        const t = targetIds(s.target);
        const extra =
          action === 'DISPATCH'
            ? {
                dept: t.departmentId === null ? null : String(t.departmentId),
                assignee: t.assigneeId === null ? null : String(t.assigneeId),
              }
            : action === 'REJECT'
              ? { reason: 'INVALID' }
              : {};
        const sent = stale === 0 ? m.version : stale === 1 || m.version === 1 ? m.version + 1 : m.version - 1;
        const r = await act(server, user, action, seeded.id, sent, extra);
        steps++;
        const outcome = r.case ? { to: r.case.status } : { code: r.code };
        expect(outcome, `${actor} ${action} on ${m.status} v${m.version}${stale ? ' (stale)' : ''}`).toEqual(
          expected,
        );
        if (r.case) {
          succeeded++;
          seen.add(action);
          m = applyModel(m, user, action, r.case.status as Status, s.target);
          expect(r.case.version).toBe(m.version);
        }
        const trail = await trailOf(database.db, seeded.id);
        expect(trail.status).toBe(trail.lastTo);
        expect(trail.version).toBe(trail.events);
        expect({ status: trail.status, version: trail.version }).toEqual({
          status: m.status,
          version: m.version,
        });
      }
    }),
    { numRuns: 20 },
  );
  // The runs reached deep into the loop, not only refusals at the start.
  expect(succeeded).toBeGreaterThan(steps / 4);
  expect(seen.size).toBeGreaterThanOrEqual(5);
}, 180_000);
