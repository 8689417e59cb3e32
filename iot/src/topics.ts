/**
 * MQTT topics and telemetry payloads as CONTRACT.md defines them, parsed without trusting the
 * sender: every refusal carries a reason the reject table and `/metrics` can count.
 */
import { z } from 'zod';
import { kindSpec } from './kinds';

export const TOPIC_ROOT = 'citygrid/v1';
export const SHARED_GROUP = 'citygrid-ingest';
/** The telemetry filter every ingest worker subscribes to (shared when the broker can). */
export const TELEMETRY_FILTER = `${TOPIC_ROOT}/+/telemetry`;
export const SHARED_TELEMETRY_FILTER = `$share/${SHARED_GROUP}/${TELEMETRY_FILTER}`;
export const STATUS_FILTER = `${TOPIC_ROOT}/+/status`;

/** Payloads above this are refused before parsing (a 1 MB message must not stall a batch). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** At most this many points in one backlog array. */
export const MAX_POINTS_PER_MESSAGE = 2000;
/** A reading may be at most this far in the future of its arrival (device clocks drift). */
export const MAX_FUTURE_MS = 5 * 60_000;
/** Readings older than this are refused: their partitions may already be dropped. */
export const DEFAULT_MAX_AGE_MS = 30 * 24 * 3600_000;

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const telemetryTopic = (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/telemetry`;
export const statusTopic = (deviceId: string) => `${TOPIC_ROOT}/${deviceId}/status`;

export type TopicKind = 'telemetry' | 'status';

/** `citygrid/v1/{deviceId}/{telemetry|status}` → its parts, or undefined for anything else. */
export function parseTopic(topic: string): { deviceId: string; kind: TopicKind } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 4 || parts[0] !== 'citygrid' || parts[1] !== 'v1') return undefined;
  const deviceId = parts[2]!;
  const kind = parts[3];
  if (!DEVICE_ID.test(deviceId)) return undefined;
  if (kind !== 'telemetry' && kind !== 'status') return undefined;
  return { deviceId, kind };
}

export const isValidDeviceId = (id: string) => DEVICE_ID.test(id);

/** Why a message was refused; the values are stored in `rejected_messages.reason`. */
export type RejectCode =
  | 'BAD_TOPIC'
  | 'TOO_LARGE'
  | 'MALFORMED_JSON'
  | 'INVALID_PAYLOAD'
  | 'WRONG_TYPE'
  | 'BAD_TIMESTAMP'
  | 'UNKNOWN_DEVICE'
  | 'UNKNOWN_METRIC'
  | 'OUT_OF_RANGE';

export const REJECT_CODES: readonly RejectCode[] = [
  'BAD_TOPIC',
  'TOO_LARGE',
  'MALFORMED_JSON',
  'INVALID_PAYLOAD',
  'WRONG_TYPE',
  'BAD_TIMESTAMP',
  'UNKNOWN_DEVICE',
  'UNKNOWN_METRIC',
  'OUT_OF_RANGE',
];

export class Rejection {
  constructor(
    readonly code: RejectCode,
    readonly detail: string,
  ) {}
}

/** One timestamped set of values from one device. */
export interface TelemetryPoint {
  /** Epoch milliseconds (reading time). */
  ts: number;
  seq: number | null;
  values: Record<string, number>;
}

const timestamp = z.union([z.number().finite(), z.iso.datetime({ offset: true, local: false })]);

const point = z.object({
  ts: timestamp.optional(),
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  values: z.record(z.string().min(1).max(64), z.unknown()),
});

export interface ParseOptions {
  /** Arrival time (epoch ms): the time of a point that carries none. */
  arrivedAt: number;
  maxAgeMs?: number;
}

/**
 * Parses a telemetry payload: one point or an array of them (a backlog). Returns the points or
 * the first reason to refuse the whole message; a message is stored whole or not at all.
 */
export function parseTelemetry(payload: Uint8Array, options: ParseOptions): TelemetryPoint[] | Rejection {
  if (payload.byteLength > MAX_PAYLOAD_BYTES) {
    return new Rejection('TOO_LARGE', `${payload.byteLength} bytes > ${MAX_PAYLOAD_BYTES}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (err) {
    return new Rejection('MALFORMED_JSON', (err as Error).message.slice(0, 200));
  }
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0) return new Rejection('INVALID_PAYLOAD', 'empty backlog');
  if (items.length > MAX_POINTS_PER_MESSAGE) {
    return new Rejection('TOO_LARGE', `${items.length} points > ${MAX_POINTS_PER_MESSAGE}`);
  }
  const maxAge = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  // The common case, checked by hand (zod costs tens of µs a message, a core at 30k msg/s);
  // anything unusual takes the zod path below, which also names what is wrong.
  const fast: TelemetryPoint[] = [];
  for (const item of items) {
    const p = fastPoint(item, options.arrivedAt, maxAge);
    if (!p) break;
    fast.push(p);
  }
  if (fast.length === items.length) return fast;
  const points: TelemetryPoint[] = [];
  for (let i = 0; i < items.length; i++) {
    const where = Array.isArray(json) ? `[${i}]` : '';
    const parsed = point.safeParse(items[i]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = issue.path.join('.');
      const code = path.startsWith('ts') || path.startsWith('seq') ? 'WRONG_TYPE' : 'INVALID_PAYLOAD';
      return new Rejection(code, `${where}${path ? `${path}: ` : ''}${issue.message}`);
    }
    const { ts, seq, values } = parsed.data;
    const metrics = Object.keys(values);
    if (metrics.length === 0) return new Rejection('INVALID_PAYLOAD', `${where}values: empty`);
    for (const metric of metrics) {
      const v = values[metric];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        return new Rejection('WRONG_TYPE', `${where}values.${metric}: expected a number, got ${typeName(v)}`);
      }
    }
    const at = ts === undefined ? options.arrivedAt : typeof ts === 'number' ? ts : Date.parse(ts);
    if (!Number.isFinite(at)) return new Rejection('BAD_TIMESTAMP', `${where}ts: not a time`);
    if (at > options.arrivedAt + MAX_FUTURE_MS) {
      return new Rejection('BAD_TIMESTAMP', `${where}ts ${new Date(at).toISOString()} is in the future`);
    }
    if (at < options.arrivedAt - maxAge) {
      return new Rejection('BAD_TIMESTAMP', `${where}ts ${safeIso(at)} is older than the retention`);
    }
    points.push({ ts: Math.round(at), seq: seq ?? null, values: values as Record<string, number> });
  }
  return points;
}

/** A well-formed point with numeric (or no) ts, or undefined to fall back to the full check. */
function fastPoint(item: unknown, arrivedAt: number, maxAge: number): TelemetryPoint | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const o = item as { ts?: unknown; seq?: unknown; values?: unknown };
  const values = o.values;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return undefined;
  let n = 0;
  for (const k in values) {
    const v = (values as Record<string, unknown>)[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || k.length === 0 || k.length > 64) return undefined;
    n++;
  }
  if (n === 0) return undefined;
  const ts = o.ts === undefined ? arrivedAt : o.ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return undefined;
  if (ts > arrivedAt + MAX_FUTURE_MS || ts < arrivedAt - maxAge) return undefined;
  const seq = o.seq;
  if (seq !== undefined && !(typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0))
    return undefined;
  return { ts: Math.round(ts), seq: seq ?? null, values: values as Record<string, number> };
}

/** Checks the points against what the sensor's kind measures; the first offence refuses all. */
export function checkAgainstKind(kind: string, points: TelemetryPoint[]): Rejection | undefined {
  const spec = kindSpec(kind);
  if (!spec) return undefined; // a kind we have no table for: accept what parses
  for (const p of points) {
    for (const [metric, value] of Object.entries(p.values)) {
      const m = spec.metrics[metric];
      if (!m) return new Rejection('UNKNOWN_METRIC', `${kind} has no metric ${JSON.stringify(metric)}`);
      if (value < m.min || value > m.max) {
        return new Rejection(
          'OUT_OF_RANGE',
          `${metric}=${value} outside [${m.min}, ${m.max}] ${m.unit}`.trim(),
        );
      }
    }
  }
  return undefined;
}

/** Parses a retained status payload `{ "online": bool }`; anything else is undefined. */
export function parseStatus(payload: Uint8Array): { online: boolean } | undefined {
  if (payload.byteLength === 0 || payload.byteLength > 4096) return undefined;
  try {
    const json = JSON.parse(Buffer.from(payload).toString('utf8')) as unknown;
    if (json && typeof json === 'object' && typeof (json as { online?: unknown }).online === 'boolean') {
      return { online: (json as { online: boolean }).online };
    }
  } catch {}
  return undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return String(v);
  return typeof v;
}

function safeIso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}
