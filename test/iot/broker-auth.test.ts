/**
 * The broker enforces device identity: with Mosquitto through the dynamic-security plugin kept in
 * step by DynsecSync, and with the embedded aedes through its auth hooks. A device signs in with
 * its own secret and may publish only under its own id; the ingester stores what it may send.
 */
import { DynsecSync, databaseSql, Ingester, startEmbeddedBroker, telemetryTopic } from '@citygrid/iot';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { sensorHooks } from '../../server/src/domain/sensors/sensors';
import { testDatabase } from '../helpers/db';
import { connectClient, DYNSEC_ADMIN, SERVICE, startMosquitto, type TestBroker } from '../helpers/mqtt';
import { startTestServer } from '../helpers/server';
import { count, devicePublisher, eventually, makeSensor } from './fixtures';

const database = await testDatabase();
const sql = databaseSql(database);
const silent = pino({ level: 'silent' });

async function mosquittoWithDynsec(): Promise<{ broker: TestBroker; sync: DynsecSync }> {
  const broker = await startMosquitto({ dynsec: true });
  const sync = await DynsecSync.connect({ url: broker.url, ...DYNSEC_ADMIN, logger: silent });
  await sync.ensureService(SERVICE.username, SERVICE.password);
  return { broker, sync };
}

async function aedes(): Promise<{ broker: TestBroker; sync: undefined }> {
  const b = await startEmbeddedBroker({
    database,
    port: 0,
    host: '127.0.0.1',
    logger: silent,
    service: SERVICE,
  });
  return {
    broker: {
      kind: 'aedes',
      url: b.url,
      port: b.port,
      protocolVersion: 4,
      shared: false,
      auth: true,
      close: b.close,
    },
    sync: undefined,
  };
}

describe.each([
  ['mosquitto (dynamic security)', mosquittoWithDynsec],
  ['aedes (embedded)', aedes],
])('%s', (_name, start) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('admits devices by secret, and refuses a publish under another id while storing the rest', async () => {
    const { broker, sync } = await start();
    cleanup.push(() => broker.close());
    if (sync) cleanup.push(() => sync.close());
    const a = await makeSensor(database);
    const b = await makeSensor(database);
    if (sync) {
      await sync.addDevice(a.deviceId, a.secret);
      await sync.addDevice(b.deviceId, b.secret);
      await sync.addDevice(a.deviceId, a.secret); // idempotent
    }
    const ingester = new Ingester({
      database,
      url: broker.url,
      username: SERVICE.username,
      password: SERVICE.password,
      shared: broker.shared,
      protocolVersion: broker.protocolVersion,
      batchSize: 100,
      batchWindowMs: 30,
      maxUnacked: 1000,
      logger: silent,
    });
    await ingester.start();
    cleanup.push(() => ingester.close());

    // Wrong secret, unknown device: refused at sign-in.
    await expect(
      connectClient(broker.url, {
        clientId: a.deviceId,
        username: a.deviceId,
        password: 'not-the-secret',
        protocolVersion: broker.protocolVersion,
      }),
    ).rejects.toThrow();
    await expect(
      connectClient(broker.url, {
        clientId: 'zz-nobody',
        username: 'zz-nobody',
        password: 'whatever',
        protocolVersion: broker.protocolVersion,
      }),
    ).rejects.toThrow();

    const t0 = Date.now() - 60_000;
    const deviceA = await devicePublisher(broker, a, { reconnectPeriod: 0 });
    await deviceA.publishAsync(
      telemetryTopic(a.deviceId),
      JSON.stringify({ ts: t0, values: { level: 0.1 } }),
      { qos: 1 },
    );
    // Under B's id: Mosquitto answers with a refusing PUBACK (MQTT 5); aedes drops the connection.
    const spoof = deviceA
      .publishAsync(telemetryTopic(b.deviceId), JSON.stringify({ ts: t0 + 1, values: { level: 0.2 } }), {
        qos: 1,
      })
      .then(
        () => 'accepted',
        () => 'refused',
      );
    const outcome = await Promise.race([
      spoof,
      new Promise((r) => deviceA.once('close', () => r('disconnected'))),
    ]);
    expect(['refused', 'disconnected']).toContain(outcome);
    deviceA.end(true);

    const deviceB = await devicePublisher(broker, b, { reconnectPeriod: 0 });
    await deviceB.publishAsync(
      telemetryTopic(b.deviceId),
      JSON.stringify({ ts: t0 + 2, values: { level: 0.3 } }),
      {
        qos: 1,
      },
    );
    await deviceB.endAsync();

    await eventually(async () =>
      (await count(sql, 'SELECT count(*) FROM readings WHERE sensor_id = $1', [b.id])) === 1
        ? true
        : undefined,
    );
    await eventually(async () =>
      (await count(sql, 'SELECT count(*) FROM readings WHERE sensor_id = $1', [a.id])) === 1
        ? true
        : undefined,
    );
    await new Promise((r) => setTimeout(r, 300));
    const values = await sql.query<{ value: number }>('SELECT value FROM readings WHERE sensor_id = $1', [
      b.id,
    ]);
    expect(values).toEqual([{ value: 0.3 }]);
  });
});

describe('registerSensor keeps Mosquitto in step', () => {
  it('a device registered over GraphQL signs in with the secret it was issued and its readings land', async () => {
    const { broker, sync } = await mosquittoWithDynsec();
    const server = await startTestServer(database);
    sensorHooks.credentials = sync;
    const ingester = new Ingester({
      database,
      url: broker.url,
      username: SERVICE.username,
      password: SERVICE.password,
      shared: true,
      protocolVersion: 5,
      batchSize: 100,
      batchWindowMs: 30,
      maxUnacked: 1000,
      logger: silent,
    });
    try {
      await ingester.start();
      const admin = await server.login('admin');
      const { data, errors } = await server.graphql<{
        registerSensor: { secret: string; sensor: { id: string } };
      }>(
        `mutation R($input: RegisterSensorInput!) { registerSensor(input: $input) { secret sensor { id } } }`,
        {
          input: {
            deviceId: 'sl-dynsec-1',
            kind: 'streetlight',
            name: 'lamp',
            location: { lon: 109.2, lat: 27.73 },
          },
        },
        admin,
      );
      expect(errors).toBeUndefined();
      const { secret, sensor } = data!.registerSensor;
      const device = await devicePublisher(broker, { deviceId: 'sl-dynsec-1', secret });
      await device.publishAsync(telemetryTopic('sl-dynsec-1'), JSON.stringify({ values: { power: 120 } }), {
        qos: 1,
      });
      await device.endAsync();
      await eventually(async () =>
        (await count(sql, 'SELECT count(*) FROM readings WHERE sensor_id = $1', [Number(sensor.id)])) === 1
          ? true
          : undefined,
      );
      await expect(
        connectClient(broker.url, {
          clientId: 'sl-dynsec-1',
          username: 'sl-dynsec-1',
          password: 'guess',
          reconnectPeriod: 0,
        }),
      ).rejects.toThrow();
    } finally {
      sensorHooks.credentials = undefined;
      await ingester.close();
      await server.close();
      await sync.close();
      await broker.close();
    }
  });
});
