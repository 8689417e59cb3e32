/** The GraphQL operations the command center sends, with the shapes of their results. */
import type { Request } from './client';

export type Role = 'ADMIN' | 'COMMANDER' | 'DEPARTMENT' | 'WORKER' | 'SUPERVISOR';
export type CaseStatus =
  | 'REPORTED'
  | 'FILED'
  | 'DISPATCHED'
  | 'IN_PROGRESS'
  | 'RESOLVED'
  | 'CLOSED'
  | 'REJECTED';
export type CasePriority = 'NORMAL' | 'HIGH' | 'URGENT';
export type RegionLevel = 'DISTRICT' | 'STREET';

/** GeoJSON geometry as the server's `JSON` scalar returns it. */
export type Geometry = GeoJSON.Polygon | GeoJSON.MultiPolygon;

export interface SessionUser {
  id: string;
  username: string;
  displayName?: string | null;
  role: Role;
  /** The region scope (absent in sessions stored by older versions). */
  region?: { name: string; nameEn: string } | null;
}

export interface Region {
  id: string;
  code: string;
  name: string;
  nameEn: string;
  geometry: Geometry;
  centroid: { lon: number; lat: number };
}

export interface GridCell {
  id: string;
  code: string;
  name: string;
  geometry: Geometry;
}

export interface CaseSummary {
  id: string;
  code: string;
  status: CaseStatus;
  priority: CasePriority;
  location: { lon: number; lat: number };
  category: { code: string; name: string; nameEn: string };
  reportedAt: string;
}

const USER_FIELDS = 'id username displayName role region { name nameEn }';

export async function login(request: Request, username: string, password: string) {
  const data = await request<{ login: { token: string; user: SessionUser } }>(
    `mutation Login($username: String!, $password: String!) {
      login(username: $username, password: $password) { token user { ${USER_FIELDS} } }
    }`,
    { username, password },
  );
  return data.login;
}

export async function me(request: Request): Promise<SessionUser | null> {
  const data = await request<{ me: SessionUser | null }>(`query Me { me { ${USER_FIELDS} } }`);
  return data.me;
}

const REGION_FIELDS = 'id code name nameEn geometry centroid { lon lat }';

export async function regions(request: Request, level: RegionLevel): Promise<Region[]> {
  const data = await request<{ regions: Region[] }>(
    // The level is inlined, not a variable, so the query does not depend on the enum type's name.
    `query Regions { regions(level: ${level}) { ${REGION_FIELDS} } }`,
  );
  return data.regions;
}

/** The districts and streets in the user's scope, in one request (the map's outlines). */
export async function districtsAndStreets(
  request: Request,
): Promise<{ districts: Region[]; streets: Region[] }> {
  return request<{ districts: Region[]; streets: Region[] }>(
    `query Outlines { districts: regions(level: DISTRICT) { ${REGION_FIELDS} }
                      streets: regions(level: STREET) { ${REGION_FIELDS} } }`,
  );
}

export async function gridCells(request: Request): Promise<GridCell[]> {
  const data = await request<{ gridCells: GridCell[] }>(
    'query GridCells { gridCells { id code name geometry } }',
  );
  return data.gridCells;
}

interface CasesPage {
  cases: {
    edges: { node: CaseSummary }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** Every case the user may see, page by page (`pageSize` per request). */
export async function allCases(request: Request, pageSize = 1000): Promise<CaseSummary[]> {
  const out: CaseSummary[] = [];
  let after: string | null = null;
  for (;;) {
    const data: CasesPage = await request<CasesPage>(
      `query Cases($first: Int!, $after: String) {
        cases(first: $first, after: $after) {
          edges { node { id code status priority location { lon lat } category { code name nameEn } reportedAt } }
          pageInfo { hasNextPage endCursor }
        }
      }`,
      { first: pageSize, after },
    );
    for (const edge of data.cases.edges) out.push(edge.node);
    const { hasNextPage, endCursor } = data.cases.pageInfo;
    if (!hasNextPage || !endCursor) return out;
    after = endCursor;
  }
}

// ——— The command center's panels: queue, drawers, KPIs, trends, alarms, workers ———

export interface QueueCase extends CaseSummary {
  overdue: boolean;
  remainingMinutes: number | null;
  currentDueAt: string | null;
  grid: { name: string } | null;
}

const QUEUE_FIELDS =
  'id code status priority location { lon lat } category { code name nameEn } reportedAt overdue remainingMinutes currentDueAt grid { name }';

export interface QueueFilter {
  status?: CaseStatus[];
  categoryCodes?: string[];
  overdue?: boolean;
}

/** One page of cases for the queue (the server orders newest first; the queue re-sorts by time left). */
export async function queueCases(request: Request, filter: QueueFilter, first: number): Promise<QueueCase[]> {
  const data = await request<{ cases: { edges: { node: QueueCase }[] } }>(
    `query Queue($filter: CaseFilter, $first: Int!) { cases(filter: $filter, first: $first) { edges { node { ${QUEUE_FIELDS} } } } }`,
    { filter, first },
  );
  return data.cases.edges.map((e) => e.node);
}

export interface CaseDetail extends QueueCase {
  version: number;
  description: string;
  address: string | null;
  source: string;
  reworkCount: number;
  department: { id: string; name: string; nameEn: string } | null;
  assignee: { id: string; displayName: string } | null;
  events: {
    seq: number;
    action: string;
    fromStatus: CaseStatus | null;
    toStatus: CaseStatus;
    note: string | null;
    at: string;
    payload: Record<string, unknown>;
    actor: { displayName: string } | null;
  }[];
  possibleDuplicates: { id: string; code: string; status: CaseStatus; reportedAt: string }[];
}

const DETAIL_FIELDS = `${QUEUE_FIELDS} version description address source reworkCount
  department { id name nameEn } assignee { id displayName }
  events { seq action fromStatus toStatus note at payload actor { displayName } }
  possibleDuplicates { id code status reportedAt }`;

export async function caseDetail(request: Request, id: string): Promise<CaseDetail> {
  const data = await request<{ case: CaseDetail }>(
    `query CaseDetail($id: ID!) { case(id: $id) { ${DETAIL_FIELDS} } }`,
    {
      id,
    },
  );
  return data.case;
}

export interface Suggestion {
  kind: 'WORKER' | 'DEPARTMENT';
  worker: { id: string; displayName: string } | null;
  department: { id: string; name: string; nameEn: string } | null;
  distanceMeters: number | null;
  openCases: number;
  score: number;
  explanation: string;
}

export async function dispatchSuggestions(request: Request, caseId: string): Promise<Suggestion[]> {
  const data = await request<{ dispatchSuggestions: Suggestion[] }>(
    `query Suggest($caseId: ID!, $limit: Int) { dispatchSuggestions(caseId: $caseId, limit: $limit) {
      kind worker { id displayName } department { id name nameEn } distanceMeters openCases score explanation } }`,
    { caseId, limit: 5 },
  );
  return data.dispatchSuggestions;
}

export type CaseAction = 'file' | 'reject' | 'dispatch';

export async function fileCase(request: Request, id: string, expectedVersion: number): Promise<void> {
  await request(
    'mutation File($id: ID!, $v: Int!) { fileCase(id: $id, expectedVersion: $v) { id version status } }',
    { id, v: expectedVersion },
  );
}

export async function rejectCase(
  request: Request,
  id: string,
  expectedVersion: number,
  reason: 'INVALID' | 'DUPLICATE' | 'OUT_OF_SCOPE',
  duplicateOfId?: string,
): Promise<void> {
  await request(
    `mutation Reject($id: ID!, $v: Int!, $reason: RejectReason!, $dup: ID) {
      rejectCase(id: $id, expectedVersion: $v, reason: $reason, duplicateOfId: $dup) { id version status } }`,
    { id, v: expectedVersion, reason, dup: duplicateOfId ?? null },
  );
}

export async function dispatchCase(
  request: Request,
  id: string,
  expectedVersion: number,
  to: { assigneeId?: string; departmentId?: string },
): Promise<void> {
  await request(
    `mutation Dispatch($id: ID!, $v: Int!, $a: ID, $d: ID) {
      dispatchCase(id: $id, expectedVersion: $v, assigneeId: $a, departmentId: $d) { id version status } }`,
    { id, v: expectedVersion, a: to.assigneeId ?? null, d: to.departmentId ?? null },
  );
}

export interface AlarmItem {
  id: string;
  severity: 'INFO' | 'WARNING' | 'CRITICAL';
  status: 'ACTIVE' | 'ACKNOWLEDGED' | 'CLEARED';
  kind: string;
  metric: string | null;
  startedAt: string;
  peakValue: number | null;
  sensor: {
    id: string;
    deviceId: string;
    name: string;
    kind: string;
    location: { lon: number; lat: number };
  };
  case: { id: string; code: string } | null;
}

export const ALARM_FIELDS =
  'id severity status kind metric startedAt peakValue sensor { id deviceId name kind location { lon lat } } case { id code }';

export async function openAlarms(request: Request, first: number): Promise<AlarmItem[]> {
  const data = await request<{ alarms: { edges: { node: AlarmItem }[] } }>(
    `query Alarms($first: Int!, $filter: AlarmFilter) { alarms(first: $first, filter: $filter) { edges { node { ${ALARM_FIELDS} } } } }`,
    { first, filter: { status: ['ACTIVE', 'ACKNOWLEDGED'] } },
  );
  return data.alarms.edges.map((e) => e.node);
}

export async function acknowledgeAlarm(request: Request, id: string): Promise<void> {
  await request('mutation Ack($id: ID!) { acknowledgeAlarm(id: $id) { id status } }', { id });
}

export interface SensorDetail {
  id: string;
  deviceId: string;
  kind: string;
  name: string;
  status: string;
  unit: string | null;
  lastSeenAt: string | null;
  latest: Record<string, { value: number; at: string }>;
  location: { lon: number; lat: number };
}

export async function sensorDetail(request: Request, id: string): Promise<SensorDetail> {
  const data = await request<{ sensor: SensorDetail }>(
    'query Sensor($id: ID!) { sensor(id: $id) { id deviceId kind name status unit lastSeenAt latest location { lon lat } } }',
    { id },
  );
  return data.sensor;
}

export interface ReadingBucket {
  at: string;
  min: number;
  max: number;
  avg: number;
}

export async function sensorReadings(
  request: Request,
  sensorId: string,
  metric: string,
  from: Date,
  to: Date,
): Promise<ReadingBucket[]> {
  const data = await request<{ sensorReadings: ReadingBucket[] }>(
    `query Readings($id: ID!, $metric: String!, $from: DateTime!, $to: DateTime!, $bucket: Int) {
      sensorReadings(sensorId: $id, metric: $metric, from: $from, to: $to, bucketSeconds: $bucket) { at min max avg } }`,
    { id: sensorId, metric, from: from.toISOString(), to: to.toISOString(), bucket: 600 },
  );
  return data.sensorReadings;
}

export interface WorkerPoint {
  workerId: string;
  location: { lon: number; lat: number };
  onDuty: boolean;
  at: string;
  worker?: { displayName: string } | null;
}

export async function workerPositions(request: Request): Promise<WorkerPoint[]> {
  const data = await request<{ workerPositions: WorkerPoint[] }>(
    'query Workers { workerPositions(onDutyOnly: false) { workerId location { lon lat } onDuty at worker { displayName } } }',
  );
  return data.workerPositions;
}

export interface DayTotals {
  reported: number;
  filed: number;
  closed: number;
  closedOnTime: number;
  due: number;
}

/** Closed-loop totals over [from, to), summed over districts. */
export async function totals(request: Request, from: Date, to: Date): Promise<DayTotals> {
  const data = await request<{ evaluation: DayTotals[] }>(
    `query Totals($from: DateTime!, $to: DateTime!) { evaluation(from: $from, to: $to, groupBy: DISTRICT) {
      reported filed closed closedOnTime due } }`,
    { from: from.toISOString(), to: to.toISOString() },
  );
  const sum: DayTotals = { reported: 0, filed: 0, closed: 0, closedOnTime: 0, due: 0 };
  for (const row of data.evaluation) {
    sum.reported += row.reported;
    sum.filed += row.filed;
    sum.closed += row.closed;
    sum.closedOnTime += row.closedOnTime;
    sum.due += row.due;
  }
  return sum;
}

export interface CategoryItem {
  code: string;
  name: string;
  nameEn: string;
}

export async function categoryList(request: Request): Promise<CategoryItem[]> {
  const data = await request<{ categories: CategoryItem[] }>(
    'query Categories { categories { code name nameEn } }',
  );
  return data.categories;
}
