/**
 * The sensor and alarm API over GraphQL: registering a device (ADMIN; the secret works once at
 * the broker), sensors with latest values, bucketed readings, the alarm list and acknowledging.
 */
import { hashSecret } from '@citygrid/db';
import {
  createBatchStore,
  DeviceDirectory,
  databaseSql,
  RuleBook,
  telemetryMessage,
  telemetryTopic,
  writeBatch,
} from '@citygrid/iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';
import { subscribeSse } from '../helpers/sse';

const database = await testDatabase();
const sql = databaseSql(database);
const deps = {
  store: createBatchStore(database),
  devices: new DeviceDirectory(sql),
  rules: new RuleBook(sql, 0),
};
let server: TestServer;
let admin: string;
let commander: string;
let worker: string;
beforeAll(async () => {
  server = await startTestServer(database);
  [admin, commander, worker] = await Promise.all([
    server.login('admin'),
    server.login('commander'),
    server.login('worker1'),
  ]);
});
afterAll(() => server.close());

const REGISTER = `mutation R($input: RegisterSensorInput!) {
  registerSensor(input: $input) { secret sensor { id deviceId kind status grid { code } location { lon lat } } } }`;

async function register(deviceId: string, kind = 'manhole') {
  return server.graphql<{
    registerSensor: {
      secret: string;
      sensor: { id: string; deviceId: string; kind: string; status: string; grid: { code: string } | null };
    };
  }>(
    REGISTER,
    { input: { deviceId, kind, name: `test ${deviceId}`, location: { lon: 109.191, lat: 27.721 } } },
    admin,
  );
}

async function send(deviceId: string, points: [number, Record<string, number>][]) {
  const messages = points.map(([ts, values]) =>
    telemetryMessage(
      telemetryTopic(deviceId),
      deviceId,
      Buffer.from(JSON.stringify({ ts, values })),
      Date.now(),
    ),
  );
  return writeBatch(deps, messages);
}

describe('registerSensor', () => {
  it('lets an ADMIN register a device and returns its secret once', async () => {
    const { data, errors } = await register('mh-gql-1');
    expect(errors).toBeUndefined();
    const payload = data!.registerSensor;
    expect(payload.sensor).toMatchObject({ deviceId: 'mh-gql-1', kind: 'manhole', status: 'UNKNOWN' });
    expect(payload.sensor.grid?.code).toBeTruthy();
    const [row] = await sql.query<{ secret_hash: string }>(
      'SELECT secret_hash FROM sensors WHERE device_id = $1',
      ['mh-gql-1'],
    );
    expect(row!.secret_hash).toBe(hashSecret(payload.secret));
    expect(row!.secret_hash).not.toContain(payload.secret);
  });

  it('refuses others, duplicates, unknown kinds and points outside the city', async () => {
    const asCommander = await server.graphql(
      REGISTER,
      {
        input: { deviceId: 'mh-gql-2', kind: 'manhole', name: 'x', location: { lon: 109.19, lat: 27.72 } },
      },
      commander,
    );
    expect(asCommander.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await register('mh-gql-1')).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await register('xx-gql-3', 'teapot')).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const outside = await server.graphql(
      REGISTER,
      {
        input: { deviceId: 'mh-gql-4', kind: 'manhole', name: 'x', location: { lon: 100, lat: 20 } },
      },
      admin,
    );
    expect(outside.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('sensors and readings', () => {
  it('shows the latest value per metric and time buckets of history', async () => {
    const { data } = await register('mh-gql-5');
    const id = data!.registerSensor.sensor.id;
    const t0 = Math.floor((Date.now() - 3600_000) / 600_000) * 600_000;
    await send('mh-gql-5', [
      [t0, { tilt: 1, open: 0 }],
      [t0 + 60_000, { tilt: 3, open: 0 }],
      [t0 + 600_000, { tilt: 2, open: 0 }],
    ]);
    const q = await server.graphql<{ sensor: { status: string; latest: Record<string, { value: number }> } }>(
      'query S($id: ID!) { sensor(id: $id) { status latest } }',
      { id },
      worker,
    );
    expect(q.errors).toBeUndefined();
    expect(q.data!.sensor.status).toBe('ONLINE');
    expect(q.data!.sensor.latest.tilt!.value).toBe(2);
    const r = await server.graphql<{
      sensorReadings: { at: string; min: number; max: number; avg: number; count: number }[];
    }>(
      `query R($id: ID!, $from: DateTime!, $to: DateTime!) {
         sensorReadings(sensorId: $id, metric: "tilt", from: $from, to: $to, bucketSeconds: 600) { at min max avg count } }`,
      { id, from: new Date(t0).toISOString(), to: new Date(t0 + 1200_000).toISOString() },
      worker,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.sensorReadings).toEqual([
      { at: new Date(t0).toISOString(), min: 1, max: 3, avg: 2, count: 2 },
      { at: new Date(t0 + 600_000).toISOString(), min: 2, max: 2, avg: 2, count: 1 },
    ]);
    const list = await server.graphql<{
      sensors: { edges: { node: { deviceId: string } }[]; pageInfo: { hasNextPage: boolean } };
    }>(
      '{ sensors(filter: { kinds: ["manhole"] }, first: 200) { edges { node { deviceId } } pageInfo { hasNextPage } } }',
      {},
      commander,
    );
    expect(list.errors).toBeUndefined();
    const ids = list.data!.sensors.edges.map((e) => e.node.deviceId);
    expect(ids).toContain('mh-gql-5');
    expect(ids.filter((d) => d.startsWith('mh-')).length).toBeGreaterThanOrEqual(50);
  });
});

describe('alarms', () => {
  it('lists a raised alarm with its rule and case link, and lets a commander acknowledge it', async () => {
    await register('mh-gql-6');
    const result = await send('mh-gql-6', [[Date.now() - 5000, { tilt: 30, open: 1 }]]);
    expect(result.rules.raised).toHaveLength(1);
    const alarmId = String(result.rules.raised[0]);
    const list = await server.graphql<{
      alarms: {
        edges: {
          node: {
            id: string;
            status: string;
            severity: string;
            peakValue: number;
            rule: { name: string; opensCase: boolean };
          };
        }[];
      };
    }>(
      '{ alarms(filter: { status: [ACTIVE] }) { edges { node { id status severity peakValue rule { name opensCase } } } } }',
      {},
      commander,
    );
    expect(list.errors).toBeUndefined();
    const mine = list.data!.alarms.edges.find((e) => e.node.id === alarmId)!.node;
    expect(mine).toMatchObject({
      status: 'ACTIVE',
      severity: 'CRITICAL',
      peakValue: 30,
      rule: { opensCase: true },
    });

    const ACK = 'mutation A($id: ID!) { acknowledgeAlarm(id: $id) { id status } }';
    expect((await server.graphql(ACK, { id: alarmId }, worker)).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    const ack = await server.graphql<{ acknowledgeAlarm: { status: string } }>(
      ACK,
      { id: alarmId },
      commander,
    );
    expect(ack.errors).toBeUndefined();
    expect(ack.data!.acknowledgeAlarm.status).toBe('ACKNOWLEDGED');
    const again = await server.graphql<{ acknowledgeAlarm: { status: string } }>(
      ACK,
      { id: alarmId },
      commander,
    );
    expect(again.data!.acknowledgeAlarm.status).toBe('ACKNOWLEDGED');
    const events = await sql.query<{ action: string }>(
      'SELECT action FROM alarm_events WHERE alarm_id = $1 ORDER BY id',
      [Number(alarmId)],
    );
    expect(events.map((e) => e.action)).toEqual(['RAISED', 'ACKNOWLEDGED']);
    // Acknowledged alarms still clear (tilt back below 5°).
    await send('mh-gql-6', [[Date.now() - 1000, { tilt: 2, open: 0 }]]);
    const cleared = await server.graphql<{ alarms: { edges: { node: { id: string; status: string } }[] } }>(
      '{ alarms(filter: { status: [CLEARED] }) { edges { node { id status } } } }',
      {},
      commander,
    );
    expect(cleared.data!.alarms.edges.map((e) => e.node.id)).toContain(alarmId);
  });
});

describe('alarmChanged', () => {
  it('streams an alarm in scope when it is raised', async () => {
    await register('mh-gql-7');
    const sub = await subscribeSse<{ id: string; status: string; sensor: { deviceId: string } }>(
      server.url,
      commander,
      'subscription { alarmChanged { id status severity sensor { deviceId } } }',
      {},
      'alarmChanged',
    );
    const events = sub.data;
    const result = await send('mh-gql-7', [[Date.now() - 2000, { tilt: 40, open: 1 }]]);
    const alarmId = String(result.rules.raised[0]);
    const deadline = Date.now() + 10_000;
    while (!events.some((e) => e.id === alarmId) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await sub.close();
    expect(events.find((e) => e.id === alarmId)).toMatchObject({
      status: 'ACTIVE',
      sensor: { deviceId: 'mh-gql-7' },
    });
  });

  it('reads each change once for all the subscribers of an instance', async () => {
    const liveReads = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/^citygrid_live_alarm_reads_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
    };
    await register('mh-gql-8');
    const subs = await Promise.all(
      [commander, commander, admin].map((token) =>
        subscribeSse<{ id: string; status: string }>(
          server.url,
          token,
          'subscription { alarmChanged { id status } }',
          {},
          'alarmChanged',
        ),
      ),
    );
    try {
      const before = await liveReads();
      const result = await send('mh-gql-8', [[Date.now() - 2000, { tilt: 40, open: 1 }]]);
      const alarmId = String(result.rules.raised[0]);
      const acked = await server.graphql<{ acknowledgeAlarm: { id: string } }>(
        'mutation A($id: ID!) { acknowledgeAlarm(id: $id) { id } }',
        { id: alarmId },
        commander,
      );
      expect(acked.errors).toBeUndefined();
      // Every subscriber sees both changes of the alarm, in order.
      for (const sub of subs) {
        const deadline = Date.now() + 10_000;
        const mine = () => sub.data.filter((e) => e.id === alarmId).map((e) => e.status);
        while (mine().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(mine()).toEqual(['ACTIVE', 'ACKNOWLEDGED']);
      }
      await new Promise((r) => setTimeout(r, 300));
      // Each notice the subscribers were sent was read once, not once per subscriber.
      const sent = subs[0]!.data.length;
      for (const sub of subs) expect(sub.data.length).toBe(sent);
      expect(await liveReads()).toBe(before + sent);
    } finally {
      await Promise.all(subs.map((sub) => sub.close()));
    }
  });
});
