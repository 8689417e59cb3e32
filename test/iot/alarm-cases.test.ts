/**
 * Alarms become cases: one alarm opens exactly one case (source SENSOR, at the sensor, in the
 * rule's category), also when the reactor was down while it was raised and catches up later.
 */
import {
  createBatchStore,
  DeviceDirectory,
  databaseSql,
  RuleBook,
  telemetryMessage,
  telemetryTopic,
  writeBatch,
} from '@citygrid/iot';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openCaseForAlarm, startAlarmReactor } from '../../server/src/domain/alarms/reactor';
import { testDatabase } from '../helpers/db';
import { eventually, makeSensor, type TestSensor } from './fixtures';

const database = await testDatabase();
const sql = databaseSql(database);
const deps = {
  store: createBatchStore(database),
  devices: new DeviceDirectory(sql),
  rules: new RuleBook(sql, 0),
};
const logger = pino({ level: 'silent' });

/** Raises the seeded waterlogging alarm (level above 0.30 m held 60 s) for the sensor. */
async function raiseWaterlogging(sensor: TestSensor) {
  const t0 = Date.now() - 600_000;
  const messages = [0, 30, 60, 90].map((s) =>
    telemetryMessage(
      telemetryTopic(sensor.deviceId),
      sensor.deviceId,
      Buffer.from(JSON.stringify({ ts: t0 + s * 1000, values: { level: 0.45 } })),
      Date.now(),
    ),
  );
  const result = await writeBatch(deps, messages);
  expect(result.rules.raised).toHaveLength(1);
  return result.rules.raised[0]!;
}

async function casesOfAlarm(alarmId: number) {
  return sql.query<{ id: number; source: string; category: string; dist: number; status: string }>(
    `SELECT c.id::float8 AS id, c.source::text AS source, k.code AS category, c.status::text AS status,
            ST_Distance(c.location::geography, s.location::geography) AS dist
     FROM cases c JOIN categories k ON k.id = c.category_id
     JOIN alarms a ON a.id = c.alarm_id JOIN sensors s ON s.id = a.sensor_id
     WHERE c.alarm_id = $1`,
    [alarmId],
  );
}

const linkedCase = async (alarmId: number) => {
  const [row] = await sql.query<{ case_id: number | null }>(
    'SELECT case_id::float8 AS case_id FROM alarms WHERE id = $1',
    [alarmId],
  );
  return row?.case_id ?? null;
};

describe('alarm → case reactor', () => {
  const reactors: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const r of reactors) await r.close();
  });

  it('catches up on an alarm raised while it was down, opening exactly one case', async () => {
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const alarmId = await raiseWaterlogging(sensor);
    expect(await casesOfAlarm(alarmId)).toEqual([]);
    const reactor = await startAlarmReactor({ database, logger });
    reactors.push(reactor);
    const cases = await casesOfAlarm(alarmId);
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ source: 'SENSOR', category: '15-05', status: 'REPORTED' });
    expect(cases[0]!.dist).toBeLessThan(0.01);
    expect(await linkedCase(alarmId)).toBe(cases[0]!.id);
    // Catching up again, or a second reactor starting, changes nothing.
    expect(await reactor.catchUp()).toBe(0);
    const second = await startAlarmReactor({ database, logger });
    reactors.push(second);
    expect(await casesOfAlarm(alarmId)).toHaveLength(1);
  });

  it('reacts to a newly raised alarm, once however often it is triggered', async () => {
    const reactor = await startAlarmReactor({ database, logger });
    reactors.push(reactor);
    const sensor = await makeSensor(database, { kind: 'water_level' });
    const alarmId = await raiseWaterlogging(sensor);
    const caseId = await eventually(async () => (await linkedCase(alarmId)) ?? undefined, 15_000, 'the case');
    // Racing reports of the same alarm all land on the one case.
    const again = await Promise.all([1, 2, 3].map(() => openCaseForAlarm(database.db, alarmId)));
    expect(again).toEqual([caseId, caseId, caseId]);
    await sql.query('UPDATE alarms SET case_id = NULL WHERE id = $1', [alarmId]);
    expect(await openCaseForAlarm(database.db, alarmId)).toBe(caseId);
    expect(await casesOfAlarm(alarmId)).toHaveLength(1);
  });

  it('opens no case for an alarm whose rule does not ask for one', async () => {
    const sensor = await makeSensor(database, { kind: 'air_quality' });
    const t0 = Date.now() - 1200_000;
    const messages = [0, 150, 300, 310].map((s) =>
      telemetryMessage(
        telemetryTopic(sensor.deviceId),
        sensor.deviceId,
        Buffer.from(JSON.stringify({ ts: t0 + s * 1000, values: { pm25: 120, pm10: 150 } })),
        Date.now(),
      ),
    );
    const result = await writeBatch(deps, messages);
    expect(result.rules.raised).toHaveLength(1);
    expect(await openCaseForAlarm(database.db, result.rules.raised[0]!)).toBeUndefined();
    expect(await casesOfAlarm(result.rules.raised[0]!)).toEqual([]);
  });
});
