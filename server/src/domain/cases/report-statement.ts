/**
 * The report's SQL: one statement that writes one report, one that writes a batch of them with
 * the same logic row by row, and how a row of either answers for its report. Both commit on their
 * own when run on the database (autocommit), so a batch pays one commit — and one turn at
 * PostgreSQL's notification-queue lock, which every transaction that sends NOTIFY holds through
 * its commit — for all its reports.
 */
import { type Executor, type LonLat, type PreparedStatement, preparedRows } from '@citygrid/db';
import type { CasePriority } from '@citygrid/db/schema';
import type { z } from 'zod';
import { rowInScope } from '../auth/scope';
import { BadUserInput, Forbidden } from '../errors';
import type { ReportDeadlines } from './deadlines';
import { CASE_CHANNEL } from './notify';
import type { Reporter, ReportResult, reportCaseInput } from './report';
import {
  categoryCheckSql,
  categoryCheckSqlOf,
  categoryCheckValues,
  type ReportCategory,
} from './report-categories';
import type { CaseRow } from './view';

/** Case numbers read as the city's local date; all of China keeps one time zone. */
const CITY_TIME_ZONE = 'Asia/Shanghai';

/** Everything the report statement writes, decided before it runs. */
export interface ReportPlan {
  reporter: Reporter;
  input: z.output<typeof reportCaseInput>;
  point: LonLat;
  category: ReportCategory;
  priority: CasePriority;
  deadlines: ReportDeadlines;
  now: Date;
}

export type WriteOutcome =
  | { kind: 'created'; result: ReportResult }
  | { kind: 'repeat' }
  | { kind: 'stale-category' };

/** What a statement answers for one report. */
interface ReportRow {
  category_ok: boolean;
  cell_id: string | number | null;
  community_id: string | number | null;
  street_id: string | number | null;
  district_id: string | number | null;
  city_id: string | number | null;
  id: string | number | null;
  code: string | null;
  cursor_at: string | null;
}

/** The scope column of a grid cell row, by the reporter's scope level (identifiers, never input). */
const SCOPE_COLUMN = {
  CITY: 'city_id',
  DISTRICT: 'district_id',
  STREET: 'street_id',
  COMMUNITY: 'community_id',
} as const;
type ScopeVariant = keyof typeof SCOPE_COLUMN | 'NONE';

/** The case's number: the configured prefix, the local date of `at`, the next number. */
const caseCodeSql = (at: string) =>
  `coalesce((SELECT value #>> '{}' FROM settings WHERE key = 'case_code_prefix'), 'TR')
   || to_char(${at} AT TIME ZONE '${CITY_TIME_ZONE}', 'YYYYMMDD')
   || lpad(nextval('case_code_seq')::text, 6, '0')`;

/** The change notification of a created case, as `notifyCaseChanged` sends it. */
const noticeSql = `pg_notify('${CASE_CHANNEL}', json_build_object(
                     'caseId', id, 'action', 'REPORT', 'version', 1, 'cityId', city_id,
                     'districtId', district_id, 'streetId', street_id, 'communityId', community_id,
                     'departmentId', NULL)::text)`;

const CASE_COLUMNS = `code, status, version, category_id, description, location, address,
                      grid_cell_id, community_id, street_id, district_id, city_id, priority, source,
                      reporter_id, idempotency_key, department_id, alarm_id, reported_at, updated_at,
                      file_due_at, dispatch_due_at, handle_due_at, verify_due_at`;

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
             INSERT INTO cases (${CASE_COLUMNS})
             SELECT ${caseCodeSql('$9::timestamptz')},
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
           notice AS MATERIALIZED (SELECT ${noticeSql} FROM inserted)
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

/**
 * Many reports in one statement, each row by the single statement's logic: `$1` … `$20` are
 * arrays holding, per report, what the single statement's placeholders of the same numbers hold;
 * `$21` and `$22` the reporter's scope level and region (null without a scope). Arrays of our
 * enums and of JSON arrive as text[] and are cast here: the embedded driver spells an array of a
 * type it does not know without its braces. Each row locates
 * its own cell, re-checks its own category and scope; the cases are inserted in the reports'
 * order through the unique index on the idempotency key (ON CONFLICT DO NOTHING), each created
 * case gets its REPORT event and its own notification, and the statement answers one row per
 * report in the given order. A row that inserts nothing leaves its neighbours alone; only an
 * error fails the whole statement. The keys of one batch must be distinct: inserted cases are
 * matched back to their reports by key. Index: as the single statement, per row.
 */
const REPORT_BATCH_STATEMENT: PreparedStatement = {
  name: 'citygrid_report_batch',
  text: `WITH input AS MATERIALIZED (
           SELECT r.*, cell.id AS cell_id, cell.community_id, cell.street_id, cell.district_id, cell.city_id,
                  ${categoryCheckSqlOf([
                    'r.category_id',
                    'r.category_code',
                    'r.default_priority',
                    'r.department_id',
                    'r.priority',
                    'r.rules_key',
                  ])} AS category_ok
           FROM unnest($1::float8[], $2::float8[], $3::bigint[], $4::text[], $5::text[]::case_priority[],
                       $6::bigint[], $7::text[]::case_priority[], $8::text[], $9::timestamptz[], $10::text[],
                       $11::text[], $12::text[]::case_source[], $13::bigint[], $14::text[], $15::bigint[],
                       $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[],
                       $20::text[]::jsonb[], $21::text[], $22::bigint[])
                WITH ORDINALITY AS r(lon, lat, category_id, category_code, default_priority, department_id,
                                     priority, rules_key, at, description, address, source, reporter_id,
                                     idempotency_key, alarm_id, file_due_at, dispatch_due_at, handle_due_at,
                                     verify_due_at, payload, scope_level, scope_region, ord)
           LEFT JOIN LATERAL (
             SELECT id, community_id, street_id, district_id, city_id
             FROM grid_cells
             WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326))
             ORDER BY id LIMIT 1
           ) cell ON true
         ),
         inserted AS (
           INSERT INTO cases (${CASE_COLUMNS})
           SELECT ${caseCodeSql('i.at')},
                  'REPORTED'::case_status, 1, i.category_id, i.description,
                  ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326), i.address,
                  i.cell_id, i.community_id, i.street_id, i.district_id, i.city_id,
                  i.priority, i.source, i.reporter_id, i.idempotency_key, i.department_id, i.alarm_id,
                  i.at, i.at, i.file_due_at, i.dispatch_due_at, i.handle_due_at, i.verify_due_at
           FROM input i
           WHERE i.category_ok AND i.cell_id IS NOT NULL
             AND (i.scope_level IS NULL OR i.scope_region = CASE i.scope_level
                    WHEN 'CITY' THEN i.city_id WHEN 'DISTRICT' THEN i.district_id
                    WHEN 'STREET' THEN i.street_id WHEN 'COMMUNITY' THEN i.community_id END)
           ORDER BY i.ord
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING id, code, reported_at::text AS cursor_at, idempotency_key, grid_cell_id,
                     community_id, street_id, district_id, city_id
         ),
         event AS (
           INSERT INTO case_events (case_id, seq, action, from_status, to_status, actor_id, note, payload, at)
           SELECT n.id, 1, 'REPORT', NULL, 'REPORTED'::case_status, i.reporter_id, NULL,
                  i.payload || jsonb_build_object('gridCellId', n.grid_cell_id), i.at
           FROM inserted n JOIN input i ON i.idempotency_key = n.idempotency_key
         ),
         notice AS MATERIALIZED (SELECT ${noticeSql} FROM inserted)
         SELECT i.ord, i.category_ok, i.cell_id, i.community_id, i.street_id, i.district_id, i.city_id,
                n.id, n.code, n.cursor_at, s.notices
         FROM input i
         LEFT JOIN inserted n ON n.idempotency_key = i.idempotency_key
         CROSS JOIN (SELECT count(*) AS notices FROM notice) s
         ORDER BY i.ord`,
};

/** The single statement's values for `plan`, `$1` … `$20`. */
function reportValues(plan: ReportPlan): unknown[] {
  const { reporter, input, point, category, priority, deadlines, now } = plan;
  const due = (d: Date | null) => (d ? d.toISOString() : null);
  const payload = {
    ...reporter.payload,
    source: reporter.source,
    ...(input.location.crs && input.location.crs !== 'WGS84'
      ? { given: { lon: input.location.lon, lat: input.location.lat, crs: input.location.crs } }
      : {}),
  };
  return [
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
}

/** Writes one report with the single statement (on the database: its own transaction). */
export async function writeReport(db: Executor, plan: ReportPlan): Promise<WriteOutcome> {
  const values = reportValues(plan);
  const scope = plan.reporter.scope;
  if (scope) values.push(scope.regionId); // $21
  const [row] = await preparedRows<ReportRow>(db, REPORT_STATEMENTS[scope?.level ?? 'NONE'], values);
  return outcomeOf(plan, row);
}

/** One report's answer from a batch: its outcome, or the error it alone is refused with. */
export type BatchAnswer = { ok: true; outcome: WriteOutcome } | { ok: false; error: unknown };

/**
 * Writes `plans` with the batch statement, in one transaction of its own; their idempotency keys
 * must be distinct. Answers per report, in order. Throws only when the statement as a whole
 * failed, in which case nothing was written.
 */
export async function writeReportBatch(db: Executor, plans: readonly ReportPlan[]): Promise<BatchAnswer[]> {
  const columns: unknown[][] = Array.from({ length: 22 }, () => new Array<unknown>(plans.length));
  plans.forEach((plan, i) => {
    const values = reportValues(plan);
    for (let c = 0; c < 20; c++) columns[c]![i] = values[c];
    columns[20]![i] = plan.reporter.scope?.level ?? null;
    columns[21]![i] = plan.reporter.scope?.regionId ?? null;
  });
  const found = await preparedRows<ReportRow & { ord: string | number }>(db, REPORT_BATCH_STATEMENT, columns);
  if (found.length !== plans.length || found.some((row, i) => Number(row.ord) !== i + 1)) {
    throw new Error(
      `the report batch answered ${found.length} rows out of order for ${plans.length} reports`,
    );
  }
  return plans.map((plan, i): BatchAnswer => {
    try {
      return { ok: true, outcome: outcomeOf(plan, found[i]) };
    } catch (error) {
      return { ok: false, error };
    }
  });
}

/** What a statement's row says about its report: created, a repeat, a stale category, or refused. */
function outcomeOf(plan: ReportPlan, row: ReportRow | undefined): WriteOutcome {
  const { reporter, input, point, category, priority, deadlines, now } = plan;
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
