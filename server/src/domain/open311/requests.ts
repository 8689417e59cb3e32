/**
 * Open311 GeoReport v2 service requests over our cases.
 *
 * A POSTed request enters the same workflow as every report (`submitReport`, source OPEN311,
 * no reporter user): the API key, not a person, vouches for it, and a key is city-wide, so no
 * region scope applies beyond "inside a grid cell of the city". `media_url` and the citizen's
 * contact details are kept in the REPORT event's payload under `open311`.
 *
 * Reading is public, as the specification intends: every case is a service request, its
 * `service_request_id` is the case code, and `status` is `closed` once the case is CLOSED or
 * REJECTED, `open` before.
 */
import { randomUUID } from 'node:crypto';
import { type Db, type Executor, rows } from '@citygrid/db';
import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { findActiveApiKey } from '../admin/api-keys';
import { submitReport } from '../cases/report';
import { BadUserInput, Forbidden, NotFound } from '../errors';
import { activeCategoryByCode } from '../reference/categories';
import type { Open311Lang } from './services';

/** Without start_date/end_date, requests of the last 90 days; never more than 1000 at once. */
export const DEFAULT_WINDOW_DAYS = 90;
export const MAX_REQUESTS = 1000;

export interface Open311Request {
  service_request_id: string;
  status: 'open' | 'closed';
  status_notes: string | null;
  service_name: string;
  service_code: string;
  description: string | null;
  agency_responsible: string | null;
  service_notice: string | null;
  requested_datetime: string;
  updated_datetime: string;
  expected_datetime: string | null;
  address: string | null;
  address_id: string | null;
  zipcode: string | null;
  lat: number;
  long: number;
  media_url: string | null;
}

export interface Open311PostResult {
  service_request_id: string;
  service_notice: string | null;
  account_id: string | null;
}

/** The POST's fields as the specification names them (form-encoded or JSON). */
export type Open311PostFields = Record<string, unknown>;

const number = (field: string) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
    z.number({ error: `${field} must be a number` }).finite(),
  );

const optionalText = (max: number) =>
  z.preprocess((v) => (v === '' || v === null ? undefined : v), z.string().trim().max(max).optional());

const postSchema = z.object({
  service_code: z.string({ error: 'service_code is required' }).trim().min(1, 'service_code is required'),
  lat: number('lat').pipe(z.number().min(-90).max(90)).optional(),
  long: number('long').pipe(z.number().min(-180).max(180)).optional(),
  address_string: optionalText(500),
  address_id: optionalText(200),
  description: optionalText(4000),
  media_url: optionalText(2000).pipe(
    z
      .string()
      .refine((v) => /^https?:\/\/\S+$/i.test(v), 'media_url must be an http(s) URL')
      .optional(),
  ),
  email: optionalText(320),
  device_id: optionalText(200),
  account_id: optionalText(200),
  first_name: optionalText(200),
  last_name: optionalText(200),
  phone: optionalText(50),
});

function fieldProblem(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.message.startsWith(String(i.path[0])) ? i.message : `${i.path.join('.')}: ${i.message}`))
    .join('; ');
}

/**
 * POST requests: checks the key (403), the fields (400) and the service (404), then reports the
 * case. The location must be given as `lat` and `long`: this server does not geocode addresses.
 */
export async function createServiceRequest(
  db: Db,
  fields: Open311PostFields,
  now: Date = new Date(),
): Promise<Open311PostResult> {
  const apiKey = typeof fields.api_key === 'string' ? fields.api_key.trim() : '';
  if (!apiKey) throw new Forbidden('api_key was not provided');
  const key = await findActiveApiKey(db, apiKey);
  if (!key) throw new Forbidden('api_key is invalid or revoked');

  const parsed = postSchema.safeParse(fields);
  if (!parsed.success) throw new BadUserInput(fieldProblem(parsed.error));
  const input = parsed.data;
  if (input.lat === undefined || input.long === undefined) {
    throw new BadUserInput(
      input.address_string || input.address_id
        ? 'lat and long are required: this server does not geocode address_string or address_id'
        : 'a location is required: give lat and long',
    );
  }
  const category = await activeCategoryByCode(db, input.service_code);
  if (!category) throw new NotFound(`service_code "${input.service_code}" not found`);

  const contact = Object.fromEntries(
    (['email', 'first_name', 'last_name', 'phone', 'device_id', 'account_id'] as const)
      .filter((k) => input[k] !== undefined)
      .map((k) => [k, input[k]]),
  );
  const { caseId } = await submitReport(
    db,
    {
      source: 'OPEN311',
      reporterId: null,
      payload: {
        open311: { apiKeyId: key.id, mediaUrl: input.media_url ?? null, ...contact },
      },
    },
    {
      // Open311 has no idempotency key; every POST is a new request.
      idempotencyKey: `open311:${key.id}:${randomUUID()}`,
      categoryCode: category.code,
      description: input.description ?? category.name,
      location: { lon: input.long, lat: input.lat, crs: 'WGS84' },
      address: input.address_string ?? null,
    },
    now,
  );
  const [row] = await rows<{ code: string }>(db, sql`SELECT code FROM cases WHERE id = ${caseId}`);
  return { service_request_id: row!.code, service_notice: null, account_id: input.account_id ?? null };
}

export interface RequestQuery {
  service_request_id?: string;
  service_code?: string;
  start_date?: string;
  end_date?: string;
  status?: string;
}

const W3C_DATETIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

function parseDate(value: string | undefined, field: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const at = new Date(value);
  if (!W3C_DATETIME.test(value) || Number.isNaN(at.getTime())) {
    throw new BadUserInput(`${field} must be a W3C date-time such as 2026-11-27T08:00:00+08:00`);
  }
  return at;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/**
 * GET requests. `service_request_id` (comma-separated) wins over every other filter, as the
 * specification says; otherwise `service_code`, `status` (open, closed) and a date window on the
 * request time — the last 90 days unless start_date/end_date are given. Newest first, ≤ 1000.
 */
export async function findServiceRequests(
  db: Executor,
  query: RequestQuery,
  lang: Open311Lang = 'zh',
  now: Date = new Date(),
): Promise<Open311Request[]> {
  const ids = list(query.service_request_id);
  const conditions: SQL[] = [];
  if (ids.length) {
    if (ids.length > MAX_REQUESTS)
      throw new BadUserInput(`at most ${MAX_REQUESTS} service_request_id values`);
    // The values came from a comma split, so they hold no commas.
    conditions.push(sql`c.code = ANY(string_to_array(${ids.join(',')}, ','))`);
  } else {
    const codes = list(query.service_code);
    if (codes.length) conditions.push(sql`cat.code = ANY(string_to_array(${codes.join(',')}, ','))`);
    const statuses = list(query.status).map((s) => s.toLowerCase());
    for (const s of statuses) {
      if (s !== 'open' && s !== 'closed') throw new BadUserInput(`status must be open or closed, not "${s}"`);
    }
    if (statuses.length === 1) {
      conditions.push(
        statuses[0] === 'closed'
          ? sql`c.status IN ('CLOSED', 'REJECTED')`
          : sql`c.status NOT IN ('CLOSED', 'REJECTED')`,
      );
    }
    const start = parseDate(query.start_date, 'start_date');
    const end = parseDate(query.end_date, 'end_date');
    if (start && end && start > end) throw new BadUserInput('start_date is after end_date');
    const windowMs = DEFAULT_WINDOW_DAYS * 86_400_000;
    const from = start ?? new Date((end ?? now).getTime() - windowMs);
    // Index: cases_reported_at_idx answers the window.
    conditions.push(sql`c.reported_at >= ${from.toISOString()}::timestamptz`);
    if (end) conditions.push(sql`c.reported_at <= ${end.toISOString()}::timestamptz`);
  }
  return selectRequests(db, sql.join(conditions, sql` AND `), lang);
}

/** GET requests/{id}: the one request (as a one-element list, like the specification's answer). */
export async function getServiceRequest(
  db: Executor,
  id: string,
  lang: Open311Lang = 'zh',
): Promise<Open311Request[]> {
  const found = await selectRequests(db, sql`c.code = ${id}`, lang);
  if (!found.length) throw new NotFound(`service_request_id "${id}" not found`);
  return found;
}

interface RequestRow {
  code: string;
  status: string;
  reject_reason: string | null;
  duplicate_of: string | null;
  description: string;
  category_code: string;
  category_name: string;
  category_name_en: string;
  department_name: string | null;
  department_name_en: string | null;
  reported_at: string;
  updated_at: string;
  expected_at: string | null;
  address: string | null;
  lon: number;
  lat: number;
  media_url: string | null;
}

async function selectRequests(db: Executor, where: SQL, lang: Open311Lang): Promise<Open311Request[]> {
  const found = await rows<RequestRow>(
    db,
    sql`SELECT c.code, c.status::text AS status, c.reject_reason::text AS reject_reason, dup.code AS duplicate_of,
               c.description, cat.code AS category_code, cat.name AS category_name, cat.name_en AS category_name_en,
               d.name AS department_name, d.name_en AS department_name_en,
               to_json(c.reported_at) #>> '{}' AS reported_at, to_json(c.updated_at) #>> '{}' AS updated_at,
               to_json(coalesce(c.handle_due_at, c.dispatch_due_at, c.file_due_at)) #>> '{}' AS expected_at,
               c.address, ST_X(c.location)::float8 AS lon, ST_Y(c.location)::float8 AS lat,
               ev.payload #>> '{open311,mediaUrl}' AS media_url
        FROM cases c
        JOIN categories cat ON cat.id = c.category_id
        LEFT JOIN departments d ON d.id = c.department_id
        LEFT JOIN cases dup ON dup.id = c.duplicate_of_id
        LEFT JOIN case_events ev ON ev.case_id = c.id AND ev.seq = 1
        WHERE ${where}
        ORDER BY c.reported_at DESC, c.id DESC
        LIMIT ${MAX_REQUESTS}`,
  );
  return found.map((r) => {
    const closed = r.status === 'CLOSED' || r.status === 'REJECTED';
    const agency = (lang === 'en' ? r.department_name_en : r.department_name) ?? null;
    return {
      service_request_id: r.code,
      status: closed ? 'closed' : 'open',
      status_notes: statusNotes(r, agency),
      service_name: lang === 'en' ? r.category_name_en : r.category_name,
      service_code: r.category_code,
      description: r.description,
      agency_responsible: agency,
      service_notice: null,
      requested_datetime: w3c(r.reported_at),
      updated_datetime: w3c(r.updated_at),
      expected_datetime: closed || !r.expected_at ? null : w3c(r.expected_at),
      address: r.address,
      address_id: null,
      zipcode: null,
      lat: Number(r.lat),
      long: Number(r.lon),
      media_url: r.media_url,
    };
  });
}

/** W3C date-time in UTC with whole seconds, e.g. `2026-11-27T08:15:30Z`. */
function w3c(at: string): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Citizen-facing words for where the case stands; internal notes never leave the building. */
function statusNotes(r: RequestRow, agency: string | null): string {
  switch (r.status) {
    case 'REPORTED':
      return 'Received; waiting to be reviewed by the command center.';
    case 'FILED':
      return 'Accepted as a case; waiting to be dispatched.';
    case 'DISPATCHED':
      return agency ? `Dispatched to ${agency}.` : 'Dispatched for handling.';
    case 'IN_PROGRESS':
      return agency ? `Being handled by ${agency}.` : 'Being handled.';
    case 'RESOLVED':
      return 'Handled; waiting for an on-site check.';
    case 'CLOSED':
      return 'Closed: the fix was checked on site.';
    case 'REJECTED':
      return r.reject_reason === 'DUPLICATE'
        ? `Closed as a duplicate${r.duplicate_of ? ` of ${r.duplicate_of}` : ''}.`
        : r.reject_reason === 'OUT_OF_SCOPE'
          ? 'Closed: not something the city handles here.'
          : 'Closed without action: the report could not be confirmed.';
    default:
      return r.status;
  }
}
