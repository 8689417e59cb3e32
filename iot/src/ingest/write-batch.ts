/**
 * Writes one batch of telemetry and status messages in one transaction: readings (deduplicated on
 * sensor+metric+ts), latest values (only newer ones win; or handed after commit to a
 * `LatestValues` that writes them coalesced, see ./latest.ts), presence, refused messages with
 * their reasons, and the alarm rules over the readings that were new. Independent of MQTT, so it can be
 * driven directly by tests and the benchmark.
 *
 * Two ways in for readings. Most messages cannot be redeliveries: no MQTT DUP flag, and newer than
 * anything stored for their sensor (`StoredWatermarks`). Their readings are copied straight into
 * `readings`, which costs about half of staging them and inserting with ON CONFLICT. The rest
 * (redeliveries, re-sent or late points) take the staged, deduplicating way in the same
 * transaction. Should a direct reading be stored already after all, the primary key fails the
 * COPY; the transaction is rolled back and the whole batch written again the staged way, so a
 * reading is never stored twice and the batch is never lost.
 */
import type { IotMetrics } from '../metrics';
import { applyStatus, markSeen, type SeenMarks } from '../presence';
import { applyRules, type RuleBook, type RuleOutcome, type RuleReading } from '../rules/apply';
import { checkAgainstKind, parseTelemetry, type RejectCode, Rejection, type TelemetryPoint } from '../topics';
import type { DeviceDirectory } from './devices';
import { type LatestValues, newestPerKey, upsertLatest } from './latest';
import type { BatchStore, BatchTx, StagedReading } from './store';
import type { StoredWatermarks } from './watermarks';

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
      /** The broker marked it a redelivery (MQTT DUP flag): it may be stored already. */
      redelivered?: boolean;
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
  /** How the readings went in: `direct` (some or all copied straight in), `staged` (all deduplicated),
   * or `fallback` (a direct copy met a stored key, and the batch was written again staged). */
  path: BatchPath;
}

export type BatchPath = 'direct' | 'staged' | 'fallback';

export interface BatchDeps {
  store: BatchStore;
  devices: DeviceDirectory;
  rules: RuleBook;
  /** What this worker knows to be stored; without it every non-redelivered message is tried direct. */
  watermarks?: StoredWatermarks;
  /**
   * Takes the latest values of each committed batch and writes them later, coalesced (what the
   * ingester does); without it they are written in the batch's own transaction.
   */
  latest?: LatestValues;
  /** The sensors this worker marked seen lately (left out of markSeen); without it, all are sent. */
  seen?: SeenMarks;
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
  redelivered = false,
): InboundMessage {
  return {
    type: 'telemetry',
    topic,
    deviceId,
    arrivedAt,
    parsed: parseTelemetry(payload, { arrivedAt }),
    payload,
    redelivered,
  };
}

export async function writeBatch(deps: BatchDeps, messages: readonly InboundMessage[]): Promise<BatchResult> {
  const { store, devices, rules, watermarks, latest, seen: seenMarks, metrics } = deps;
  await devices.resolve(messages.filter((m) => m.type === 'telemetry').map((m) => m.deviceId));
  await rules.refresh();

  const readings: StagedReading[] = [];
  /** Readings that cannot be stored yet (see the module comment); the rest are `suspect`. */
  const direct: StagedReading[] = [];
  const suspect: StagedReading[] = [];
  /** Per sensor, the newest time stored or seen earlier in this batch. */
  const newest = new Map<number, number>();
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
    const sensorId = device.sensorId;
    let mark = newest.get(sensorId) ?? watermarks?.get(sensorId) ?? Number.NEGATIVE_INFINITY;
    // Strictly newer, point after point: a time repeated within the batch is a re-send too.
    let fresh = m.redelivered !== true;
    for (const p of m.parsed) {
      if (p.ts <= mark) fresh = false;
      else mark = p.ts;
    }
    newest.set(sensorId, mark);
    const into = fresh ? direct : suspect;
    for (const p of m.parsed) {
      for (const metric in p.values) {
        const r: StagedReading = { sensorId, metric, ts: p.ts, value: p.values[metric]!, seq: p.seq };
        readings.push(r);
        into.push(r);
      }
    }
  }

  // A device connecting or leaving may change what markSeen must do for any sensor: mark them all.
  if (statuses.length > 0) seenMarks?.clear();
  const toMark = seenMarks ? seenMarks.due([...new Set(seen)], now) : seen;
  await store.ensurePartitions(utcDays(readings));
  // Without a buffer for them, the latest values are written in the batch's transaction.
  const inBatch = latest ? undefined : newestPerKey(readings);
  const started = performance.now();
  const write = (useDirect: boolean) =>
    store.transaction(async (tx) => {
      const fresh: RuleReading[] = [];
      let inserted = 0;
      // The direct COPY goes first: if it meets a stored key, nothing else has been done yet.
      if (useDirect && direct.length > 0) {
        await tx.insert(direct);
        inserted += direct.length;
        for (const r of direct) {
          if (rules.watches(r.metric)) {
            const kind = kindOf.get(r.sensorId) ?? '';
            fresh.push({ sensorId: r.sensorId, kind, metric: r.metric, ts: r.ts, value: r.value });
          }
        }
      }
      inserted += await insertDeduplicated(tx, useDirect ? suspect : readings, rules, kindOf, fresh);
      // Only a newer reading replaces the latest value: a late backlog never overwrites it. A
      // duplicate is no newer than what its first delivery already put there, so it changes nothing.
      if (inBatch) await upsertLatest(tx.sql, inBatch);
      await markSeen(tx.sql, toMark, now);
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
  let path: BatchPath = direct.length > 0 ? 'direct' : 'staged';
  let result: { inserted: number; rules: RuleOutcome };
  try {
    result = await write(path === 'direct');
  } catch (err) {
    if (path !== 'direct' || !isUniqueViolation(err)) throw err;
    path = 'fallback';
    result = await write(false);
  }
  if (watermarks) for (const [sensorId, ts] of newest) watermarks.raise(sensorId, ts);
  seenMarks?.record(toMark, now);
  // Committed: from here on they may be written whenever the buffer flushes.
  latest?.add(readings);
  if (metrics) {
    metrics.batchSeconds.observe((performance.now() - started) / 1000);
    metrics.batches.inc({ path });
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
    path,
  };
}

/**
 * Stages readings that may be stored already and inserts the new ones; returns how many were new
 * and appends those the rules watch to `fresh`.
 */
async function insertDeduplicated(
  tx: BatchTx,
  readings: readonly StagedReading[],
  rules: RuleBook,
  kindOf: ReadonlyMap<number, string>,
  fresh: RuleReading[],
): Promise<number> {
  if (readings.length === 0) return 0;
  await tx.stage(readings);
  const watched = JSON.stringify([...new Set(readings.map((r) => r.metric))].filter((m) => rules.watches(m)));
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
  for (const [sensorId, metric, ts, value] of row?.fresh ?? []) {
    fresh.push({ sensorId, kind: kindOf.get(sensorId) ?? '', metric, ts: Math.round(ts), value });
  }
  return row?.inserted ?? 0;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

function utcDays(readings: readonly StagedReading[]): string[] {
  const days = new Set<number>();
  for (const r of readings) days.add(Math.floor(r.ts / 86_400_000));
  return [...days].map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10));
}
