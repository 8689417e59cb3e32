/**
 * Alarm rules against the database, through the same batch writer the ingester uses: raise after
 * the hold, hysteresis clear, one open alarm per sensor and rule with repeats counted, reading
 * time not arrival time, per-sensor overrides, NOTIFY on raise and clear, and presence alarms.
 */
import {
  ALARM_CHANNEL,
  type AlarmNotice,
  type BatchDeps,
  createBatchStore,
  DeviceDirectory,
  databaseSql,
  type InboundMessage,
  RuleBook,
  SEEN_EVERY_MS,
  SeenMarks,
  statusTopic,
  sweepOffline,
  telemetryMessage,
  telemetryTopic,
  writeBatch,
} from '@citygrid/iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { eventually, makeRule, makeSensor, type TestSensor } from './fixtures';

const database = await testDatabase();
const sql = databaseSql(database);
const deps: BatchDeps = {
  store: createBatchStore(database),
  devices: new DeviceDirectory(sql),
  rules: new RuleBook(sql, 0),
};
const notices: AlarmNotice[] = [];
let unlisten: () => Promise<void>;
beforeAll(async () => {
  unlisten = await database.listen(ALARM_CHANNEL, (p) => notices.push(JSON.parse(p) as AlarmNotice));
});
afterAll(() => unlisten());

const base = Date.now() - 3600_000;
/** Sends readings [secondsAfterBase, value][] of one metric, one message per reading, in one batch. */
async function send(sensor: TestSensor, metric: string, points: [number, number][], arrivedAt = Date.now()) {
  const messages: InboundMessage[] = points.map(([sec, value]) =>
    telemetryMessage(
      telemetryTopic(sensor.deviceId),
      sensor.deviceId,
      Buffer.from(JSON.stringify({ ts: base + sec * 1000, values: { [metric]: value } })),
      arrivedAt,
    ),
  );
  return writeBatch(deps, messages);
}

async function alarmsOf(sensorId: number) {
  return sql.query<{
    id: number;
    status: string;
    count: number;
    peak: number;
    kind: string;
    cleared: boolean;
  }>(
    `SELECT id::float8 AS id, status::text AS status, count, peak_value AS peak, kind::text AS kind,
            cleared_at IS NOT NULL AS cleared
     FROM alarms WHERE sensor_id = $1 ORDER BY id`,
    [sensorId],
  );
}

async function eventsOf(alarmId: number) {
  const rows = await sql.query<{ action: string }>(
    'SELECT action FROM alarm_events WHERE alarm_id = $1 ORDER BY id',
    [alarmId],
  );
  return rows.map((r) => r.action);
}

const wlRule = async (over: Record<string, unknown> = {}) =>
  makeRule(database, {
    sensorKind: 'wl_test',
    metric: 'level',
    condition: 'ABOVE',
    threshold: 0.3,
    clearThreshold: 0.2,
    holdSeconds: 60,
    severity: 'CRITICAL',
    ...over,
  });

describe('threshold alarms', () => {
  it('raises only after the condition held for the hold time, counted on reading time', async () => {
    await wlRule();
    const sensor = await makeSensor(database, { kind: 'wl_test' });
    // All arrive at once (a backlog): what counts is the readings' own time.
    await send(sensor, 'level', [
      [0, 0.35],
      [30, 0.4],
    ]);
    expect(await alarmsOf(sensor.id)).toEqual([]);
    await send(sensor, 'level', [[59, 0.5]]);
    expect(await alarmsOf(sensor.id)).toEqual([]);
    await send(sensor, 'level', [[60, 0.45]]);
    const [alarm] = await alarmsOf(sensor.id);
    expect(alarm).toMatchObject({ status: 'ACTIVE', count: 1, peak: 0.45, kind: 'THRESHOLD' });
    expect(await eventsOf(alarm!.id)).toEqual(['RAISED']);
    await eventually(async () => (notices.some((n) => n.id === alarm!.id) ? true : undefined));
    expect(notices.filter((n) => n.id === alarm!.id).map((n) => n.action)).toEqual(['RAISED']);
  });

  it('a dip below the threshold restarts the hold', async () => {
    await wlRule({ sensorKind: 'wl_dip' });
    const sensor = await makeSensor(database, { kind: 'wl_dip' });
    await send(sensor, 'level', [
      [0, 0.4],
      [40, 0.25],
      [70, 0.4],
      [120, 0.4],
    ]);
    expect(await alarmsOf(sensor.id)).toEqual([]);
    await send(sensor, 'level', [[130, 0.4]]);
    expect(await alarmsOf(sensor.id)).toHaveLength(1);
  });

  it('keeps one open alarm, counts repeats and the peak, clears only below the clear threshold', async () => {
    await wlRule({ sensorKind: 'wl_hyst', holdSeconds: 0 });
    const sensor = await makeSensor(database, { kind: 'wl_hyst' });
    await send(sensor, 'level', [[0, 0.31]]);
    await send(sensor, 'level', [
      [10, 0.6],
      [20, 0.25], // in the hysteresis band: still open
      [30, 0.4], // breaching again: a repeat, not a new alarm
    ]);
    let alarms = await alarmsOf(sensor.id);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({ status: 'ACTIVE', count: 3, peak: 0.6, cleared: false });
    await send(sensor, 'level', [[40, 0.2]]); // exactly the clear threshold: not past it
    expect((await alarmsOf(sensor.id))[0]!.status).toBe('ACTIVE');
    await send(sensor, 'level', [[50, 0.19]]);
    alarms = await alarmsOf(sensor.id);
    expect(alarms[0]).toMatchObject({ status: 'CLEARED', cleared: true });
    expect(await eventsOf(alarms[0]!.id)).toEqual(['RAISED', 'CLEARED']);
    // A new breach after the clear is a new alarm.
    await send(sensor, 'level', [[60, 0.5]]);
    alarms = await alarmsOf(sensor.id);
    expect(alarms.map((a) => a.status)).toEqual(['CLEARED', 'ACTIVE']);
    await eventually(async () =>
      notices.filter((n) => n.sensorId === sensor.id).length >= 3 ? true : undefined,
    );
    expect(notices.filter((n) => n.sensorId === sensor.id).map((n) => n.action)).toEqual([
      'RAISED',
      'CLEARED',
      'RAISED',
    ]);
  });

  it('evaluates a duplicate delivery once', async () => {
    await wlRule({ sensorKind: 'wl_dup', holdSeconds: 0 });
    const sensor = await makeSensor(database, { kind: 'wl_dup' });
    await send(sensor, 'level', [[0, 0.5]]);
    await send(sensor, 'level', [
      [0, 0.5],
      [0, 0.5],
    ]);
    expect(await alarmsOf(sensor.id)).toMatchObject([{ count: 1 }]);
  });

  it('a per-sensor override replaces the kind rule for that sensor', async () => {
    await wlRule({ sensorKind: 'wl_over', holdSeconds: 0 });
    const plain = await makeSensor(database, { kind: 'wl_over' });
    const special = await makeSensor(database, { kind: 'wl_over' });
    await wlRule({
      sensorKind: 'wl_over',
      sensorId: special.id,
      threshold: 0.8,
      clearThreshold: 0.7,
      holdSeconds: 0,
    });
    await deps.rules.refresh(true);
    await send(plain, 'level', [[0, 0.5]]);
    await send(special, 'level', [[0, 0.5]]);
    expect(await alarmsOf(plain.id)).toHaveLength(1);
    expect(await alarmsOf(special.id)).toHaveLength(0);
    await send(special, 'level', [[10, 0.9]]);
    expect(await alarmsOf(special.id)).toHaveLength(1);
  });
});

describe('presence alarms', () => {
  it('a silent sensor goes offline with an alarm; hearing from it again clears it', async () => {
    const sensor = await makeSensor(database, { kind: 'smoke' });
    const longAgo = Date.now() - 3600_000;
    await send(sensor, 'smoke', [[0, 0]], longAgo);
    await sql.query(`UPDATE sensors SET last_seen_at = to_timestamp($2::float8 / 1000) WHERE id = $1`, [
      sensor.id,
      longAgo,
    ]);
    const offline = await sweepOffline(sql, Date.now());
    expect(offline).toContain(sensor.id);
    const [s] = await sql.query<{ status: string }>(
      'SELECT status::text AS status FROM sensors WHERE id = $1',
      [sensor.id],
    );
    expect(s!.status).toBe('OFFLINE');
    expect(await alarmsOf(sensor.id)).toMatchObject([{ kind: 'OFFLINE', status: 'ACTIVE' }]);
    // A second sweep raises nothing new.
    expect(await sweepOffline(sql, Date.now())).not.toContain(sensor.id);
    await send(sensor, 'smoke', [[3500, 0]]);
    expect(await alarmsOf(sensor.id)).toMatchObject([{ kind: 'OFFLINE', status: 'CLEARED' }]);
    const [back] = await sql.query<{ status: string }>(
      'SELECT status::text AS status FROM sensors WHERE id = $1',
      [sensor.id],
    );
    expect(back!.status).toBe('ONLINE');
  });

  it('a worker that marked a sensor seen a moment ago still brings it back online after its last will', async () => {
    const sensor = await makeSensor(database, { kind: 'smoke' });
    // The ingester's deps: sensors it marked seen lately are left out of the next batches' marks.
    const worker: BatchDeps = { ...deps, seen: new SeenMarks() };
    const t0 = Date.now() - 60_000;
    const reading = (at: number) =>
      writeBatch(worker, [
        telemetryMessage(
          telemetryTopic(sensor.deviceId),
          sensor.deviceId,
          Buffer.from(JSON.stringify({ ts: at, values: { smoke: 0 } })),
          at,
        ),
      ]);
    const state = async () =>
      (
        await sql.query<{ status: string; seen: number }>(
          `SELECT status::text AS status, (extract(epoch FROM last_seen_at) * 1000)::float8 AS seen
           FROM sensors WHERE id = $1`,
          [sensor.id],
        )
      )[0]!;
    await reading(t0);
    expect(await state()).toEqual({ status: 'ONLINE', seen: t0 });
    // Its last will, 1 s later, through the same worker.
    await writeBatch(worker, [
      {
        type: 'status',
        topic: statusTopic(sensor.deviceId),
        deviceId: sensor.deviceId,
        arrivedAt: t0 + 1000,
        online: false,
      },
    ]);
    expect((await state()).status).toBe('OFFLINE');
    expect(await alarmsOf(sensor.id)).toMatchObject([{ kind: 'OFFLINE', status: 'ACTIVE' }]);
    // Back 1 s later, inside the window in which a busy sensor is not marked again.
    await reading(t0 + 2000);
    expect(await state()).toEqual({ status: 'ONLINE', seen: t0 + 2000 });
    expect(await alarmsOf(sensor.id)).toMatchObject([{ kind: 'OFFLINE', status: 'CLEARED' }]);
    // Busy: not marked again until SEEN_EVERY_MS has passed.
    await reading(t0 + 3000);
    expect((await state()).seen).toBe(t0 + 2000);
    await reading(t0 + 2000 + SEEN_EVERY_MS);
    expect((await state()).seen).toBe(t0 + 2000 + SEEN_EVERY_MS);
  });
});
