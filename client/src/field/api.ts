/**
 * The GraphQL operations and the upload the field app sends. Read queries carry the operation
 * names the service worker keeps for offline use (sw.ts `CACHED_READS`).
 */
import { GraphQLRequestError, type Request } from '../graphql/client';

export type CaseStatus =
  | 'REPORTED'
  | 'FILED'
  | 'DISPATCHED'
  | 'IN_PROGRESS'
  | 'RESOLVED'
  | 'CLOSED'
  | 'REJECTED';

export interface LonLat {
  lon: number;
  lat: number;
}

export interface FieldUser {
  id: string;
  username: string;
  displayName: string;
  role: string;
}

export interface Category {
  code: string;
  name: string;
  nameEn: string;
  keywords: string[];
}

export interface Cell {
  id: string;
  code: string;
  name: string;
  geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon;
}

export interface FieldCase {
  id: string;
  code: string;
  status: CaseStatus;
  version: number;
  description: string;
  location: LonLat;
  address: string | null;
  reportedAt: string;
  reworkCount: number;
  overdue: boolean;
  category: { code: string; name: string; nameEn: string };
  grid: { id: string; code: string; name: string };
}

export interface MyWork {
  assigned: FieldCase[];
  toVerify: FieldCase[];
  reported: FieldCase[];
}

const CASE_FIELDS = `id code status version description location { lon lat } address reportedAt reworkCount overdue
  category { code name nameEn } grid { id code name }`;

export async function fetchMe(request: Request): Promise<FieldUser> {
  const data = await request<{ me: FieldUser }>('query FieldMe { me { id username displayName role } }');
  return data.me;
}

export async function fetchCategories(request: Request): Promise<Category[]> {
  const data = await request<{ categories: Category[] }>(
    'query FieldCategories { categories { code name nameEn keywords } }',
  );
  return data.categories;
}

export async function fetchMyCells(request: Request): Promise<Cell[]> {
  const data = await request<{ myGridCells: Cell[] }>(
    'query FieldMyCells { myGridCells { id code name geometry } }',
  );
  return data.myGridCells;
}

export async function fetchMyWork(request: Request): Promise<MyWork> {
  const data = await request<{ myWork: MyWork }>(
    `query FieldMyWork { myWork { assigned { ${CASE_FIELDS} } toVerify { ${CASE_FIELDS} } reported { ${CASE_FIELDS} } } }`,
  );
  return data.myWork;
}

export async function gridAt(
  request: Request,
  location: LonLat,
): Promise<{ id: string; code: string; name: string } | null> {
  const data = await request<{ gridAt: { id: string; code: string; name: string } | null }>(
    'query FieldGridAt($location: PointInput!) { gridAt(location: $location) { id code name } }',
    { location },
  );
  return data.gridAt;
}

/** Open cases of a category in a small box around the point; the caller keeps those within 50 m. */
export async function openCasesNear(
  request: Request,
  location: LonLat,
  categoryCode: string,
  radiusMeters: number,
): Promise<FieldCase[]> {
  const dLat = radiusMeters / 111_320;
  const dLon = radiusMeters / (111_320 * Math.cos((location.lat * Math.PI) / 180));
  const data = await request<{ cases: { edges: { node: FieldCase }[] } }>(
    `query FieldNearby($filter: CaseFilter) { cases(filter: $filter, first: 20) { edges { node { ${CASE_FIELDS} } } } }`,
    {
      filter: {
        status: ['REPORTED', 'FILED', 'DISPATCHED', 'IN_PROGRESS', 'RESOLVED'],
        categoryCodes: [categoryCode],
        bbox: {
          minLon: location.lon - dLon,
          minLat: location.lat - dLat,
          maxLon: location.lon + dLon,
          maxLat: location.lat + dLat,
        },
      },
    },
  );
  return data.cases.edges.map((e) => e.node);
}

export interface ReportInput {
  idempotencyKey: string;
  categoryCode: string;
  description: string;
  location: LonLat;
  attachmentIds?: string[];
}

export async function reportCase(
  request: Request,
  input: ReportInput,
): Promise<{ id: string; code: string }> {
  const data = await request<{ reportCase: { id: string; code: string } }>(
    'mutation FieldReport($input: ReportCaseInput!) { reportCase(input: $input) { id code } }',
    { input },
  );
  return data.reportCase;
}

type Transition =
  | { kind: 'accept' }
  | { kind: 'return'; note: string }
  | { kind: 'resolve'; note: string; attachmentIds: string[] }
  | { kind: 'verify'; passed: boolean; note: string; attachmentIds: string[] };

/** One workflow step on a case, with the version the worker read. */
export async function transition(request: Request, c: Pick<FieldCase, 'id' | 'version'>, step: Transition) {
  const base = { id: c.id, expectedVersion: c.version };
  switch (step.kind) {
    case 'accept':
      return request(
        'mutation FieldAccept($id: ID!, $expectedVersion: Int!) { acceptCase(id: $id, expectedVersion: $expectedVersion) { id status version } }',
        base,
      );
    case 'return':
      return request(
        'mutation FieldReturn($id: ID!, $expectedVersion: Int!, $note: String!) { returnCase(id: $id, expectedVersion: $expectedVersion, note: $note) { id status version } }',
        { ...base, note: step.note },
      );
    case 'resolve':
      return request(
        'mutation FieldResolve($id: ID!, $expectedVersion: Int!, $note: String!, $attachmentIds: [ID!]) { resolveCase(id: $id, expectedVersion: $expectedVersion, note: $note, attachmentIds: $attachmentIds) { id status version } }',
        { ...base, note: step.note, attachmentIds: step.attachmentIds },
      );
    case 'verify':
      return request(
        'mutation FieldVerify($id: ID!, $expectedVersion: Int!, $passed: Boolean!, $note: String, $attachmentIds: [ID!]) { verifyCase(id: $id, expectedVersion: $expectedVersion, passed: $passed, note: $note, attachmentIds: $attachmentIds) { id status version } }',
        { ...base, passed: step.passed, note: step.note, attachmentIds: step.attachmentIds },
      );
  }
}

export async function updateMyPosition(
  request: Request,
  location: LonLat,
  accuracyMeters: number | null,
  onDuty: boolean,
): Promise<void> {
  await request(
    'mutation FieldPosition($location: PointInput!, $accuracyMeters: Float, $onDuty: Boolean!) { updateMyPosition(location: $location, accuracyMeters: $accuracyMeters, onDuty: $onDuty) { at } }',
    { location, accuracyMeters, onDuty },
  );
}

export async function login(request: Request, username: string, password: string) {
  const data = await request<{ login: { token: string; user: FieldUser } }>(
    'mutation FieldLogin($u: String!, $p: String!) { login(username: $u, password: $p) { token user { id username displayName role } } }',
    { u: username, p: password },
  );
  return data.login;
}

/** A failure the server gave for this request itself, so sending it again cannot help. */
export function isPermanent(error: unknown): boolean {
  if (error instanceof UploadError)
    return (
      error.status >= 400 &&
      error.status < 500 &&
      error.status !== 408 &&
      error.status !== 429 &&
      error.status !== 401
    );
  return (
    error instanceof GraphQLRequestError &&
    ['BAD_USER_INPUT', 'FORBIDDEN', 'NOT_FOUND', 'INVALID_TRANSITION'].includes(error.code)
  );
}

export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

/** `POST /uploads` (multipart, field `file`) → the attachment id. Status 0: the network failed. */
export async function uploadPhoto(token: string | null, photo: Blob): Promise<string> {
  const form = new FormData();
  form.append('file', photo, 'photo.jpg');
  let response: Response;
  try {
    response = await fetch('/uploads', {
      method: 'POST',
      body: form,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  } catch (error) {
    throw new UploadError(`upload: ${(error as Error).message}`, 0);
  }
  const body = (await response.json().catch(() => null)) as {
    id?: string | number;
    error?: { message?: string };
  } | null;
  if (!response.ok || body?.id === undefined) {
    throw new UploadError(body?.error?.message ?? `upload answered ${response.status}`, response.status);
  }
  return String(body.id);
}
