/**
 * A small Open311 GeoReport v2 client written from the specification alone
 * (https://wiki.open311.org/GeoReport_v2): it knows nothing of the server behind the endpoint and
 * imports none of its code. JSON and XML; form-encoded or JSON POSTs.
 *
 *   const client = new GeoReportClient('https://city.example/open311/v2', { apiKey });
 *   const services = await client.services();
 *   const [created] = await client.postRequest({ service_code, lat, long, description, media_url });
 *   const [request] = await client.request(created.service_request_id);
 */
import { XMLParser } from 'fast-xml-parser';

export type Format = 'json' | 'xml';

export interface Service {
  service_code: string;
  service_name: string;
  description?: string | null;
  metadata: boolean;
  type: 'realtime' | 'batch' | 'blackbox';
  keywords?: string | null;
  group?: string | null;
}

export interface ServiceDefinition {
  service_code: string;
  attributes: unknown[];
}

export interface ServiceRequest {
  service_request_id: string;
  status: 'open' | 'closed';
  status_notes?: string | null;
  service_name?: string | null;
  service_code: string;
  description?: string | null;
  agency_responsible?: string | null;
  service_notice?: string | null;
  requested_datetime: string;
  updated_datetime?: string | null;
  expected_datetime?: string | null;
  address?: string | null;
  address_id?: string | null;
  zipcode?: string | null;
  lat: number;
  long: number;
  media_url?: string | null;
}

export interface PostedRequest {
  service_request_id?: string | null;
  token?: string | null;
  service_notice?: string | null;
  account_id?: string | null;
}

export interface GeoReportErrorItem {
  code: number;
  description: string;
}

/** An error answer: the HTTP status and the specification's error list. */
export class GeoReportError extends Error {
  constructor(
    readonly status: number,
    readonly errors: GeoReportErrorItem[],
  ) {
    super(`HTTP ${status}: ${errors.map((e) => `${e.code} ${e.description}`).join('; ')}`);
  }
}

export interface RequestsQuery {
  service_request_id?: string;
  service_code?: string;
  start_date?: string;
  end_date?: string;
  status?: 'open' | 'closed' | 'open,closed';
}

export type PostFields = Record<string, string | number | undefined>;

const xml = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  // Lists in the specification's XML: always arrays, even with one item.
  isArray: (name, jpath) => {
    const path = String(jpath);
    return (
      ['services.service', 'service_requests.request', 'errors.error'].includes(path) ||
      (name === 'attribute' && path.endsWith('attributes.attribute'))
    );
  },
});

const NUMBER_FIELDS = new Set(['lat', 'long', 'code']);
const BOOLEAN_FIELDS = new Set(['metadata']);

/** XML gives text; turn it into the JSON shapes (numbers, booleans, null for empty). */
function normalise(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    if (v === '' || v === undefined) out[k] = null;
    else if (NUMBER_FIELDS.has(k)) out[k] = Number(v);
    else if (BOOLEAN_FIELDS.has(k)) out[k] = v === 'true';
    else out[k] = v;
  }
  return out;
}

export class GeoReportClient {
  constructor(
    /** The endpoint, e.g. `https://city.example/open311/v2` (no trailing slash). */
    readonly endpoint: string,
    readonly options: { apiKey?: string; jurisdictionId?: string; headers?: Record<string, string> } = {},
  ) {}

  services(format: Format = 'json'): Promise<Service[]> {
    return this.get('services', format, {}, 'services', 'service') as Promise<Service[]>;
  }

  async serviceDefinition(code: string, format: Format = 'json'): Promise<ServiceDefinition> {
    const body = await this.fetchBody(`services/${encodeURIComponent(code)}`, format, {});
    if (format === 'json') return body as ServiceDefinition;
    const doc = body as {
      service_definition: { service_code: string; attributes?: { attribute?: unknown[] } };
    };
    return {
      service_code: doc.service_definition.service_code,
      attributes: doc.service_definition.attributes?.attribute ?? [],
    };
  }

  requests(query: RequestsQuery = {}, format: Format = 'json'): Promise<ServiceRequest[]> {
    return this.get(
      'requests',
      format,
      query as Record<string, string>,
      'service_requests',
      'request',
    ) as Promise<ServiceRequest[]>;
  }

  request(id: string, format: Format = 'json'): Promise<ServiceRequest[]> {
    return this.get(
      `requests/${encodeURIComponent(id)}`,
      format,
      {},
      'service_requests',
      'request',
    ) as Promise<ServiceRequest[]>;
  }

  /** POST requests: `encoding` form (what the specification describes) or json. */
  async postRequest(
    fields: PostFields,
    options: { format?: Format; encoding?: 'form' | 'json'; apiKey?: string | null } = {},
  ): Promise<PostedRequest[]> {
    const format = options.format ?? 'json';
    const apiKey = options.apiKey === undefined ? this.options.apiKey : (options.apiKey ?? undefined);
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries({
      ...fields,
      api_key: apiKey,
      jurisdiction_id: this.options.jurisdictionId,
    })) {
      if (v !== undefined) all[k] = String(v);
    }
    const json = options.encoding === 'json';
    const response = await fetch(`${this.endpoint}/requests.${format}`, {
      method: 'POST',
      headers: {
        'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
        ...this.options.headers,
      },
      body: json ? JSON.stringify(all) : new URLSearchParams(all).toString(),
    });
    const body = await this.read(response, format);
    if (format === 'json') return body as PostedRequest[];
    return this.list(body, 'service_requests', 'request') as PostedRequest[];
  }

  private async get(
    path: string,
    format: Format,
    query: Record<string, string>,
    root: string,
    item: string,
  ): Promise<unknown[]> {
    const body = await this.fetchBody(path, format, query);
    return format === 'json' ? (body as unknown[]) : this.list(body, root, item);
  }

  private async fetchBody(path: string, format: Format, query: Record<string, string>): Promise<unknown> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    if (this.options.jurisdictionId) params.set('jurisdiction_id', this.options.jurisdictionId);
    const qs = params.toString();
    const response = await fetch(`${this.endpoint}/${path}.${format}${qs ? `?${qs}` : ''}`, {
      headers: this.options.headers,
    });
    return this.read(response, format);
  }

  private list(body: unknown, root: string, item: string): Record<string, unknown>[] {
    const doc = body as Record<string, Record<string, unknown> | string>;
    const container = doc[root];
    // An empty list comes as `<root/>`, which parses to an empty string.
    if (!container || typeof container === 'string') return [];
    return ((container[item] as Record<string, unknown>[] | undefined) ?? []).map(normalise);
  }

  private async read(response: Response, format: Format): Promise<unknown> {
    const text = await response.text();
    const body = format === 'json' ? (text ? JSON.parse(text) : null) : xml.parse(text);
    if (response.ok) return body;
    const errors =
      format === 'json'
        ? ((body as GeoReportErrorItem[] | null) ?? [])
        : (this.list(body, 'errors', 'error') as unknown as GeoReportErrorItem[]);
    throw new GeoReportError(response.status, errors);
  }
}
