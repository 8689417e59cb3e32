/**
 * Reporting a case (上报): one statement, hence one round trip and its own transaction, that
 * locates the grid cell, checks the category, inserts the case with its deadlines, writes the
 * REPORT event (seq 1) and sends the change notification (photos, when attached, join it in one
 * transaction). A repeated `idempotencyKey` returns the first case — also when the repeats race,
 * because the insert goes through the unique index `cases_idempotency_key` with ON CONFLICT DO
 * NOTHING.
 */
import { type Db, type Executor, type LonLat, type PreparedStatement, preparedRows } from '@citygrid/db';
import { type CasePriority, type CaseSource, cases } from '@citygrid/db/schema';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { attachToCase } from '../attachments';
import type { Actor } from '../auth/actor';
import { rowInScope, type Scope, scopeOf } from '../auth/scope';
import type { WorkingCalendar } from '../calendar/working-calendar';
import { BadUserInput, Conflict, Forbidden, parseInput } from '../errors';
import { type Crs, toWgs84 } from '../geo/crs';
import { deadlinesAtReport, type ReportDeadlines } from './deadlines';
import { CASE_CHANNEL } from './notify';
import {
  categoryCheckSql,
  categoryCheckValues,
  loadReportCategory,
  type ReportCategory,
  reportCategory,
} from './report-categories';
import { loadCalendar } from './settings';
import type { CaseRow } from './view';

/** Case numbers read as the city's local date; all of China keeps one time zone. */
const CITY_TIME_ZONE = 'Asia/Shanghai';

export const reportCaseInput = z.object({
  idempotencyKey: z.string().trim().min(1).max(200),
  categoryCode: z.string().trim().min(1).max(32),
  description: z.string().trim().min(1).max(4000),
  location: z.object({
    lon: z.number().finite().min(-180).max(180),
    lat: z.number().finite().min(-90).max(90),
    crs: z.enum(['WGS84', 'GCJ02', 'BD09']).nullish(),
  }),
  address: z.string().trim().max(500).nullish(),
  priority: z.enum(['NORMAL', 'HIGH', 'URGENT']).nullish(),
  attachmentIds: z.array(z.string()).nullish(),
});
export type ReportCaseInput = z.input<typeof reportCaseInput>;

/** Who reports: a signed-in user, or (later) a sensor alarm or an Open311 client. */
export interface Reporter {
  source: CaseSource;
  /** The user who reported, if any. */
  reporterId: number | null;
  /** Set for user reporters: the point must lie inside it. */
  scope?: Scope;
  alarmId?: number | null;
  /** Extra facts kept in the REPORT event's payload (e.g. an Open311 request's `media_url`). */
  payload?: Record<string, unknown>;
}

export interface ReportResult {
  caseId: number;
  /** False when the idempotency key had already been used and the first case is returned. */
  created: boolean;
  /** The case as written, when this call created it (saves reading it back). */
  row?: CaseRow;
}

const REPORTING_ROLES: readonly Actor['role'][] = ['WORKER', 'COMMANDER', 'ADMIN'];

/** `reportCase` for a signed-in user: only workers, commanders and admins report. */
export async function reportCase(
  db: Db,
  actor: Actor,
  input: ReportCaseInput,
  now?: Date,
): Promise<ReportResult> {
  if (!REPORTING_ROLES.includes(actor.role)) throw new Forbidden(`a ${actor.role} may not report cases`);
  const scope = await scopeOf(db, actor);
  const source: CaseSource = actor.role === 'WORKER' ? 'WORKER' : 'COMMANDER';
  return submitReport(db, { source, reporterId: actor.id, scope }, input, now);
}

/** The report itself, for every kind of reporter. */
export async function submitReport(
  db: Db,
  reporter: Reporter,
  rawInput: ReportCaseInput,
  now: Date = new Date(),
): Promise<ReportResult> {
  const input = parseInput(reportCaseInput, rawInput);
  const point: LonLat = toWgs84(input.location, (input.location.crs ?? 'WGS84') as Crs);
  if (input.attachmentIds?.length && reporter.reporterId === null) {
    throw new BadUserInput('only a signed-in reporter can attach photos', { field: 'attachmentIds' });
  }
  // Cached per database: no round trip on the hot path.
  const calendar = await loadCalendar(db);
  let category = await reportCategory(db, input.categoryCode);
  for (let attempt = 0; ; attempt++) {
    if (!category)
      throw new BadUserInput(`unknown category "${input.categoryCode}"`, { field: 'categoryCode' });
    const plan = planReport(reporter, input, point, category, now, calendar);
    // Without photos the one statement is the whole transaction (autocommit); photos are attached
    // in the same transaction as the case, so a refused photo leaves no case behind.
    const written = input.attachmentIds?.length
      ? await db.transaction(async (tx) => {
          const outcome = await writeReport(tx, plan);
          if (outcome.kind === 'created') {
            await attachToCase(tx, {
              attachmentIds: input.attachmentIds!,
              caseId: outcome.result.caseId,
              eventSeq: 1,
              actor: { id: reporter.reporterId! },
            });
          }
          return outcome;
        })
      : await writeReport(db, plan);
    if (written.kind === 'created') return written.result;
    if (written.kind === 'repeat') {
      // A report with this key committed first (the insert waited on its index entry if it raced).
      const first = await existingReport(db, input.idempotencyKey, reporter);
      if (!first) throw new Conflict('the idempotency key is in use by a report still being written; retry');
      return first;
    }
    // The cached category changed under us (edited, deactivated, re-coded): read it again.
    if (attempt >= 2) throw new Conflict(`category "${input.categoryCode}" is being changed; retry`);
    category = await loadReportCategory(db, input.categoryCode);
  }
}

/** Everything the report statement writes, decided before it runs. */
interface ReportPlan {
  reporter: Reporter;
  input: z.output<typeof reportCaseInput>;
  point: LonLat;
  category: ReportCategory;
  priority: CasePriority;
  deadlines: ReportDeadlines;
  now: Date;
}

function planReport(
  reporter: Reporter,
  input: z.output<typeof reportCaseInput>,
  point: LonLat,
  category: ReportCategory,
  now: Date,
  calendar: WorkingCalendar,
): ReportPlan {
  const priority: CasePriority = input.priority ?? category.defaultPriority;
  const deadlines = deadlinesAtReport(category.rules[priority], now, calendar);
  return { reporter, input, point, category, priority, deadlines, now };
}

type WriteOutcome =
  | { kind: 'created'; result: ReportResult }
  | { kind: 'repeat' }
  | { kind: 'stale-category' };

/** The scope column of a grid cell row, by the reporter's scope level (identifiers, never input). */
const SCOPE_COLUMN = {
  CITY: 'city_id',
  DISTRICT: 'district_id',
  STREET: 'street_id',
  COMMUNITY: 'community_id',
} as const;
type ScopeVariant = keyof typeof SCOPE_COLUMN | 'NONE';

/**
 * One statement does the whole report, so it costs one round trip and commits atomically on its
 * own: locate the grid cell, re-check the cached category, insert the case (through the unique
 * index on the idempotency key), its REPORT event (seq 1, as `recordCaseEvent` writes it) and the
 * change notification (as `notifyCaseChanged` sends it; delivered on commit only). A cell outside
 * the reporter's scope, a stale category or a repeated key inserts nothing, and the statement
 * still answers which of them it was. Index: grid_cells_geom_gist for the point, then the ones
 * named in `categoryCheckSql`. The text is fixed per scope level, so it runs prepared.
 */
function reportStatement(scope: ScopeVariant): PreparedStatement {
  const inScope = scope === 'NONE' ? '' : `AND cell.${SCOPE_COLUMN[scope]} = $21::bigint`;
  return {
    name: `citygrid_report_${scope.toLowerCase()}`,
    text: `WITH cell AS MATERIALIZED (
             SELECT id, community_id, street_id, district_id, city_id
             FROM grid_cells
             WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326))
             ORDER BY id LIMIT 1
           ),
           checked AS MATERIALIZED (SELECT ${categoryCheckSql(3)} AS category_ok),
           inserted AS (
             INSERT INTO cases (code, status, version, category_id, description, location, address,
                                grid_cell_id, community_id, street_id, district_id, city_id, priority, source,
                                reporter_id, idempotency_key, department_id, alarm_id, reported_at, updated_at,
                                file_due_at, dispatch_due_at, handle_due_at, verify_due_at)
             SELECT coalesce((SELECT value #>> '{}' FROM settings WHERE key = 'case_code_prefix'), 'TR')
                      || to_char($9::timestamptz AT TIME ZONE '${CITY_TIME_ZONE}', 'YYYYMMDD')
                      || lpad(nextval('case_code_seq')::text, 6, '0'),
                    'REPORTED'::case_status, 1, $3::bigint, $10::text,
                    ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326), $11::text,
                    cell.id, cell.community_id, cell.street_id, cell.district_id, cell.city_id,
                    $7::case_priority, $12::case_source, $13::bigint, $14::text, $6::bigint, $15::bigint,
                    $9::timestamptz, $9::timestamptz,
                    $16::timestamptz, $17::timestamptz, $18::timestamptz, $19::timestamptz
             FROM cell, checked
             WHERE checked.category_ok ${inScope}
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING id, code, reported_at::text AS cursor_at, grid_cell_id,
                       community_id, street_id, district_id, city_id
           ),
           event AS (
             INSERT INTO case_events (case_id, seq, action, from_status, to_status, actor_id, note, payload, at)
             SELECT id, 1, 'REPORT', NULL, 'REPORTED'::case_status, $13::bigint, NULL,
                    $20::jsonb || jsonb_build_object('gridCellId', grid_cell_id), $9::timestamptz
             FROM inserted
           ),
           notice AS MATERIALIZED (
             SELECT pg_notify('${CASE_CHANNEL}', json_build_object(
                      'caseId', id, 'action', 'REPORT', 'version', 1, 'cityId', city_id,
                      'districtId', district_id, 'streetId', street_id, 'communityId', community_id,
                      'departmentId', NULL)::text)
             FROM inserted
           )
           SELECT checked.category_ok, cell.id AS cell_id, cell.community_id, cell.street_id,
                  cell.district_id, cell.city_id, inserted.id, inserted.code, inserted.cursor_at,
                  (SELECT count(*) FROM notice) AS notices
           FROM checked
           LEFT JOIN cell ON true
           LEFT JOIN inserted ON true`,
  };
}

const REPORT_STATEMENTS = Object.fromEntries(
  (['NONE', 'CITY', 'DISTRICT', 'STREET', 'COMMUNITY'] as const).map((v) => [v, reportStatement(v)]),
) as Record<ScopeVariant, PreparedStatement>;

async function writeReport(db: Executor, plan: ReportPlan): Promise<WriteOutcome> {
  const { reporter, input, point, category, priority, deadlines, now } = plan;
  const due = (d: Date | null) => (d ? d.toISOString() : null);
  const payload = {
    ...reporter.payload,
    source: reporter.source,
    ...(input.location.crs && input.location.crs !== 'WGS84'
      ? { given: { lon: input.location.lon, lat: input.location.lat, crs: input.location.crs } }
      : {}),
  };
  const values: unknown[] = [
    point.lon, // $1
    point.lat, // $2
    ...categoryCheckValues(category, priority), // $3 id, $4 code, $5 default priority, $6 department, $7 priority, $8 limits
    now.toISOString(), // $9
    input.description, // $10
    input.address ?? null, // $11
    reporter.source, // $12
    reporter.reporterId, // $13
    input.idempotencyKey, // $14
    reporter.alarmId ?? null, // $15
    due(deadlines.fileDueAt), // $16
    due(deadlines.dispatchDueAt), // $17
    due(deadlines.handleDueAt), // $18
    due(deadlines.verifyDueAt), // $19
    JSON.stringify(payload), // $20
  ];
  if (reporter.scope) values.push(reporter.scope.regionId); // $21

  const [row] = await preparedRows<{
    category_ok: boolean;
    cell_id: string | number | null;
    community_id: string | number | null;
    street_id: string | number | null;
    district_id: string | number | null;
    city_id: string | number | null;
    id: string | number | null;
    code: string | null;
    cursor_at: string | null;
  }>(db, REPORT_STATEMENTS[reporter.scope?.level ?? 'NONE'], values);
  if (!row?.category_ok) return { kind: 'stale-category' };
  if (row.cell_id === null) {
    throw new BadUserInput(
      `the point (${point.lon}, ${point.lat}) lies outside every grid cell of the city`,
      {
        field: 'location',
      },
    );
  }
  const cell = {
    id: Number(row.cell_id),
    communityId: Number(row.community_id),
    streetId: Number(row.street_id),
    districtId: Number(row.district_id),
    cityId: Number(row.city_id),
  };
  if (reporter.scope && !rowInScope(reporter.scope, cell)) {
    throw new Forbidden('the point lies outside your region scope');
  }
  if (row.id === null || row.code === null || row.cursor_at === null) return { kind: 'repeat' };
  const caseId = Number(row.id);
  // The row as written, from what was sent: the statement returns only what the database made.
  const written: CaseRow = {
    id: caseId,
    code: row.code,
    status: 'REPORTED',
    version: 1,
    categoryId: category.id,
    description: input.description,
    location: { lon: point.lon, lat: point.lat },
    address: input.address ?? null,
    gridCellId: cell.id,
    communityId: cell.communityId,
    streetId: cell.streetId,
    districtId: cell.districtId,
    cityId: cell.cityId,
    priority,
    source: reporter.source,
    reporterId: reporter.reporterId,
    idempotencyKey: input.idempotencyKey,
    departmentId: category.defaultDepartmentId,
    assigneeId: null,
    resolverId: null,
    rejectReason: null,
    duplicateOfId: null,
    alarmId: reporter.alarmId ?? null,
    reworkCount: 0,
    reportedAt: now,
    filedAt: null,
    dispatchedAt: null,
    acceptedAt: null,
    resolvedAt: null,
    closedAt: null,
    rejectedAt: null,
    ...deadlines,
    escalatedAt: null,
    onHoldSince: null,
    updatedAt: now,
    cursorAt: row.cursor_at,
  };
  return { kind: 'created', result: { caseId, created: true, row: written } };
}

async function existingReport(
  db: Executor,
  idempotencyKey: string,
  reporter: Reporter,
): Promise<ReportResult | undefined> {
  const [row] = await db
    .select({ id: cases.id, reporterId: cases.reporterId, source: cases.source })
    .from(cases)
    .where(eq(cases.idempotencyKey, idempotencyKey))
    .limit(1);
  if (!row) return undefined;
  // Keys are client-made; one reporter must not reach another's case by guessing theirs.
  if (row.reporterId !== reporter.reporterId || row.source !== reporter.source) {
    throw new Conflict('this idempotency key belongs to another report', { field: 'idempotencyKey' });
  }
  return { caseId: row.id, created: false };
}
