/**
 * Writes one batch of telemetry and status messages in one transaction: readings (deduplicated on
 * sensor+metric+ts), latest values (only newer ones win), presence, refused messages with their
 * reasons, and the alarm rules over the readings that were new. Independent of MQTT, so it can be
 * driven directly by tests and the benchmark.
 */
import type { IotMetrics } from '../metrics';
import { applyStatus, markSeen } from '../presence';
import { applyRules, type RuleBook, type RuleOutcome, type RuleReading } from '../rules/apply';
import { checkAgainstKind, parseTelemetry, type RejectCode, Rejection, type TelemetryPoint } from '../topics';
import type { DeviceDirectory } from './devices';
import type { BatchStore, StagedReading } from './store';

/** One MQTT message as the read loop hands it over (already parsed, or refused). */
export type InboundMessage =
  | {
      type: 'telemetry';
      topic: string;
      deviceId: string;
      arrivedAt: number;
      /** The parsed points, or why the payload was refused before knowing the device. */
      parsed: TelemetryPoint[] | Rejection;
      payload: Uint8Array;
    }
  | { type: 'status'; topic: string; deviceId: string; arrivedAt: number; online: boolean }
  | {
      type: 'rejected';
      topic: string;
      deviceId: string | null;
      arrivedAt: number;
      rejection: Rejection;
      payload: Uint8Array;
    };

export interface BatchResult {
  messages: number;
  readings: number;
  inserted: number;
  rejected: number;
  rules: RuleOutcome;
}

export interface BatchDeps {
  store: BatchStore;
  devices: DeviceDirectory;
  rules: RuleBook;
  metrics?: IotMetrics;
}

/** Bytes of a refused payload kept for diagnosis. */
const KEPT_PAYLOAD_BYTES = 1024;

/** Parses a telemetry message as the read loop does (exported for tests and the benchmark). */
export function telemetryMessage(
  topic: string,
  deviceId: string,
  payload: Uint8Array,
  arrivedAt: number,
): InboundMessage {
  return {
    type: 'telemetry',
    topic,
    deviceId,
    arrivedAt,
    parsed: parseTelemetry(payload, { arrivedAt }),
    payload,
  };
}

export async function writeBatch(deps: BatchDeps, messages: readonly InboundMessage[]): Promise<BatchResult> {
  const { store, devices, rules, metrics } = deps;
  await devices.resolve(messages.filter((m) => m.type === 'telemetry').map((m) => m.deviceId));
  await rules.refresh();

  const readings: StagedReading[] = [];
  const kindOf = new Map<number, string>();
  const rejects: {
    topic: string;
    device_id: string | null;
    reason: RejectCode;
    detail: string;
    payload: string;
  }[] = [];
  const statuses: { deviceId: string; online: boolean; at: number }[] = [];
  const seen: number[] = [];
  let now = 0;
  const reject = (m: { topic: string; payload: Uint8Array }, deviceId: string | null, r: Rejection) => {
    rejects.push({
      topic: m.topic,
      device_id: deviceId,
      reason: r.code,
      detail: r.detail,
      payload: Buffer.from(m.payload.subarray(0, KEPT_PAYLOAD_BYTES)).toString('base64'),
    });
    metrics?.rejected.inc({ reason: r.code });
  };
  for (const m of messages) {
    now = Math.max(now, m.arrivedAt);
    if (m.type === 'status') {
      statuses.push({ deviceId: m.deviceId, online: m.online, at: m.arrivedAt });
      continue;
    }
    if (m.type === 'rejected') {
      reject(m, m.deviceId, m.rejection);
      continue;
    }
    if (m.parsed instanceof Rejection) {
      reject(m, m.deviceId, m.parsed);
      continue;
    }
    const device = devices.get(m.deviceId);
    if (!device) {
      reject(m, m.deviceId, new Rejection('UNKNOWN_DEVICE', `no sensor with device id ${m.deviceId}`));
      continue;
    }
    const bad = checkAgainstKind(device.kind, m.parsed);
    if (bad) {
      reject(m, m.deviceId, bad);
      continue;
    }
    kindOf.set(device.sensorId, device.kind);
    seen.push(device.sensorId);
    for (const p of m.parsed) {
      for (const metric in p.values) {
        readings.push({ sensorId: device.sensorId, metric, ts: p.ts, value: p.values[metric]!, seq: p.seq });
      }
    }
  }

  await store.ensurePartitions(utcDays(readings));
  const started = performance.now();
  const result = await store.transaction(async (tx) => {
    let inserted = 0;
    const fresh: RuleReading[] = [];
    if (readings.length > 0) {
      await tx.stage(readings);
      const watched = JSON.stringify(
        [...new Set(readings.map((r) => r.metric))].filter((m) => rules.watches(m)),
      );
      const [row] = await tx.sql.query<{
        inserted: number;
        fresh: [number, string, number, number][] | null;
      }>(
        `WITH ins AS (
           INSERT INTO readings (sensor_id, metric, ts, value, seq, received_at)
           SELECT sensor_id, metric, ts, value, seq, statement_timestamp() FROM readings_stage
           ON CONFLICT DO NOTHING
           RETURNING sensor_id, metric, ts, value)
         SELECT (SELECT count(*) FROM ins)::int AS inserted,
                (SELECT json_agg(json_build_array(sensor_id::float8, metric,
                                                  (extract(epoch FROM ts) * 1000)::float8, value))
                 FROM ins WHERE metric IN (SELECT json_array_elements_text($1::json))) AS fresh`,
        [watched],
      );
      inserted = row?.inserted ?? 0;
      for (const [sensorId, metric, ts, value] of row?.fresh ?? []) {
        fresh.push({ sensorId, kind: kindOf.get(sensorId) ?? '', metric, ts: Math.round(ts), value });
      }
      // Only a newer reading replaces the latest value: a late backlog never overwrites it.
      await tx.sql.query(
        `INSERT INTO sensor_latest (sensor_id, metric, value, ts)
         SELECT DISTINCT ON (sensor_id, metric) sensor_id, metric, value, ts FROM readings_stage
         ORDER BY sensor_id, metric, ts DESC
         ON CONFLICT (sensor_id, metric) DO UPDATE SET value = excluded.value, ts = excluded.ts
         WHERE sensor_latest.ts < excluded.ts`,
      );
    }
    await markSeen(tx.sql, seen, now);
    for (const s of statuses) await applyStatus(tx.sql, s.deviceId, s.online, s.at);
    if (rejects.length > 0) {
      await tx.sql.query(
        `INSERT INTO rejected_messages (topic, device_id, reason, detail, payload)
         SELECT topic, device_id, reason, detail, decode(payload, 'base64')
         FROM json_to_recordset($1::json) AS r(topic text, device_id text, reason text, detail text, payload text)`,
        [JSON.stringify(rejects)],
      );
    }
    const ruleOutcome = await applyRules(tx.sql, rules, fresh);
    return { inserted, rules: ruleOutcome };
  });
  if (metrics) {
    metrics.batchSeconds.observe((performance.now() - started) / 1000);
    metrics.batches.inc({ path: store.kind });
    metrics.readings.inc({ outcome: 'inserted' }, result.inserted);
    metrics.readings.inc({ outcome: 'duplicate' }, readings.length - result.inserted);
    metrics.messages.inc({ result: 'rejected' }, rejects.length);
    metrics.messages.inc({ result: 'stored' }, messages.length - rejects.length);
    metrics.alarms.inc({ transition: 'raised' }, result.rules.raised.length);
    metrics.alarms.inc({ transition: 'cleared' }, result.rules.cleared.length);
    metrics.alarms.inc({ transition: 'repeated' }, result.rules.repeats);
  }
  return {
    messages: messages.length,
    readings: readings.length,
    inserted: result.inserted,
    rejected: rejects.length,
    rules: result.rules,
  };
}

function utcDays(readings: readonly StagedReading[]): string[] {
  const days = new Set<number>();
  for (const r of readings) days.add(Math.floor(r.ts / 86_400_000));
  return [...days].map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10));
}
