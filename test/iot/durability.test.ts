/**
 * What the ingester promises under stress: acks are held until the batch commits (stall the
 * database and watch it stop reading at its cap), a worker killed with SIGKILL mid-batch loses no
 * reading the broker acknowledged, and two workers share one subscription without duplicates.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpEmbedded, openDatabase } from '@citygrid/db';
import { databaseSql, Ingester, telemetryTopic } from '@citygrid/iot';
import type { MqttClient } from 'mqtt';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { SERVICE, startMosquitto, type TestBroker, testBroker } from '../helpers/mqtt';
import { count, devicePublisher, eventually, makeSensor, type TestSensor } from './fixtures';

const database = await testDatabase();
const sql = databaseSql(database);
const silent = pino({ level: 'silent' });

const readingsOf = (ids: number[]) =>
  count(
    sql,
    'SELECT count(*) FROM readings WHERE sensor_id IN (SELECT json_array_elements_text($1::json)::bigint)',
    [JSON.stringify(ids)],
  );

function ingester(broker: TestBroker, over: Partial<ConstructorParameters<typeof Ingester>[0]> = {}) {
  return new Ingester({
    database,
    url: broker.url,
    username: SERVICE.username,
    password: SERVICE.password,
    shared: broker.shared,
    protocolVersion: broker.protocolVersion,
    batchSize: 200,
    batchWindowMs: 50,
    // Two batches in flight, as standalone workers run by default.
    writers: 2,
    maxUnacked: 1000,
    logger: silent,
    ...over,
  });
}

/** Publishes `perDevice` messages from each device, one point each; returns what the broker acked. */
async function publishAll(
  devices: { client: MqttClient; sensor: TestSensor }[],
  perDevice: number,
  t0: number,
) {
  let acked = 0;
  await Promise.all(
    devices.map(async ({ client, sensor }) => {
      for (let i = 0; i < perDevice; i++) {
        await client.publishAsync(
          telemetryTopic(sensor.deviceId),
          JSON.stringify({ ts: t0 + i, seq: i, values: { level: 0.05 } }),
          { qos: 1 },
        );
        acked++;
      }
    }),
  );
  return acked;
}

describe('held acknowledgements and backpressure', () => {
  it('stops reading at its unacknowledged cap while the database stalls, then stores everything', async () => {
    const broker = await testBroker(database);
    const worker = ingester(broker, { maxUnacked: 300, batchSize: 100 });
    await worker.start();
    const sensor = await makeSensor(database);
    const device = await devicePublisher(broker, sensor);
    // Stall the write path: a lock the batch transaction must wait for.
    const locker = database.url ? new pg.Client({ connectionString: database.url }) : undefined;
    let release: () => Promise<void>;
    if (locker) {
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE readings IN ACCESS EXCLUSIVE MODE');
      release = async () => {
        await locker.query('COMMIT');
        await locker.end();
      };
    } else {
      // Embedded: one connection, so an open transaction holds every other writer.
      let done!: () => void;
      const held = new Promise<void>((r) => {
        done = r;
      });
      let started!: () => void;
      const inside = new Promise<void>((r) => {
        started = r;
      });
      const tx = database.pglite!.transaction(async () => {
        started();
        await held;
      });
      await inside;
      release = async () => {
        done();
        await tx;
      };
    }
    const total = 900;
    const t0 = Date.now() - 60_000;
    const publishing = (async () => {
      for (let i = 0; i < total; i++) {
        device.publish(
          telemetryTopic(sensor.deviceId),
          JSON.stringify({ ts: t0 + i, values: { level: 0.1 } }),
          {
            qos: 1,
          },
        );
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await publishing;
    await eventually(async () => (worker.stats.messages >= 300 ? true : undefined), 60_000, 'cap reached');
    await new Promise((r) => setTimeout(r, 500));
    // Held: nothing acknowledged, and reading stopped at the cap instead of buffering everything.
    expect(worker.stats.acked).toBe(0);
    expect(worker.stats.messages).toBeLessThanOrEqual(301);
    expect(worker.pending).toBe(worker.stats.messages);
    await release();
    await eventually(
      async () => ((await readingsOf([sensor.id])) === total ? true : undefined),
      30_000,
      'all stored',
    );
    await eventually(async () => (worker.stats.acked === total ? true : undefined), 10_000, 'all acked');
    expect(worker.pending).toBe(0);
    await device.endAsync();
    await worker.close();
    await broker.close();
  }, 180_000);
});

describe('two workers on one shared subscription', () => {
  it('splits the messages between them and stores each once', async () => {
    const broker = await startMosquitto();
    const a = ingester(broker, { shared: true, protocolVersion: 5 });
    const b = ingester(broker, { shared: true, protocolVersion: 5 });
    await a.start();
    await b.start();
    const sensors = await Promise.all([1, 2, 3, 4].map(() => makeSensor(database)));
    const devices = await Promise.all(
      sensors.map(async (sensor) => ({ sensor, client: await devicePublisher(broker, sensor) })),
    );
    const acked = await publishAll(devices, 250, Date.now() - 120_000);
    expect(acked).toBe(1000);
    let stored = 0;
    await eventually(
      async () => {
        stored = await readingsOf(sensors.map((s) => s.id));
        return stored === 1000 ? true : undefined;
      },
      90_000,
      'all 1000 stored',
    ).catch((err: Error) => {
      throw new Error(`${err.message} (stored ${stored}, received ${a.stats.messages}+${b.stats.messages})`);
    });
    await eventually(
      async () => (a.stats.acked + b.stats.acked === 1000 ? true : undefined),
      30_000,
      'all acked',
    );
    expect(a.stats.messages).toBeGreaterThan(0);
    expect(b.stats.messages).toBeGreaterThan(0);
    expect(a.stats.messages + b.stats.messages).toBe(1000);
    for (const d of devices) await d.client.endAsync();
    await a.close();
    await b.close();
    await broker.close();
  }, 180_000);
});

describe('a worker killed mid-batch', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('loses no reading the broker acknowledged (SIGKILL, restart, count)', async () => {
    // Real Postgres: the worker children share the test's database. Embedded: they run on a
    // PGlite data directory cloned from it (one process at a time), counted after they stop.
    const broker = await startMosquitto();
    const sensors = await Promise.all([1, 2, 3, 4, 5].map(() => makeSensor(database)));
    const ids = sensors.map((s) => s.id);
    let dataDir: string | undefined;
    if (!database.url) {
      dataDir = mkdtempSync(join(tmpdir(), 'citygrid-sigkill-'));
      dirs.push(dataDir);
      const clone = await openDatabase({ dataDir, loadDataDir: await dumpEmbedded(database) });
      await clone.close();
    }
    const main = fileURLToPath(new URL('../../iot/src/main.ts', import.meta.url));
    const { DATABASE_URL: _drop, ...inherited } = process.env;
    const env = {
      ...inherited,
      ...(database.url ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir! }),
      MQTT_URL: broker.url,
      MQTT_PROTOCOL: '5',
      INGEST_CLIENT_ID: 'ingest-sigkill-test',
      INGEST_SHARED: '1',
      INGEST_BATCH_SIZE: '300',
      INGEST_BATCH_WINDOW_MS: '200',
      INGEST_MAX_UNACKED: '2000',
      // Two batches in flight at once: acks of either must wait for its own commit.
      INGEST_WRITERS: '2',
      INGEST_DB_POOL: '3',
      INGEST_PRINT_STATS_MS: '200',
      LOG_LEVEL: 'warn',
    };
    type Stats = { messages: number; acked: number; pending: number };
    const startWorker = async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', main], {
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const worker = { child, stats: { messages: 0, acked: 0, pending: 0 } as Stats };
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const lines = out.split('\n');
          out = lines.pop() ?? '';
          for (const line of lines) {
            if (line.startsWith('READY')) resolve();
            if (line.startsWith('STATS ')) worker.stats = JSON.parse(line.slice(6)) as Stats;
          }
        });
        child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
      });
      return worker;
    };
    const devices = await Promise.all(
      sensors.map(async (sensor) => ({ sensor, client: await devicePublisher(broker, sensor) })),
    );
    const first = await startWorker();
    const perDevice = 1200;
    const t0 = Date.now() - 3600_000;
    let acked = 0;
    let atKill: Stats | undefined;
    await Promise.all(
      devices.map(async ({ client, sensor }, d) => {
        for (let i = 0; i < perDevice; i++) {
          await client.publishAsync(
            telemetryTopic(sensor.deviceId),
            JSON.stringify({ ts: t0 + i, seq: i, values: { level: 0.07 } }),
            { qos: 1 },
          );
          acked++;
          if (d === 0 && i === Math.floor(perDevice / 3)) {
            // Mid-stream means after the worker has taken messages; its stats come every 200 ms,
            // which a fast broker can outrun (seen on the embedded one), so wait for that report.
            for (const until = Date.now() + 30_000; first.stats.messages === 0 && Date.now() < until; )
              await new Promise((r) => setTimeout(r, 20));
            atKill = { ...first.stats };
            first.child.kill('SIGKILL');
          }
        }
      }),
    );
    expect(
      first.child.signalCode ?? (await new Promise((r) => first.child.once('exit', (_c, s) => r(s)))),
    ).toBe('SIGKILL');
    expect(acked).toBe(perDevice * devices.length);
    // Killed mid-stream: it had taken messages, and not everything published was through.
    expect(atKill!.messages).toBeGreaterThan(0);
    expect(atKill!.acked).toBeLessThan(acked);

    const second = await startWorker();
    let stored: number;
    if (database.url) {
      stored = await eventually(
        async () => {
          const n = await readingsOf(ids);
          return n === acked ? n : undefined;
        },
        60_000,
        'every acknowledged reading stored',
      );
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
      // The stopped worker wrote its pending latest values: each sensor's newest reading.
      const latest = await sql.query<{ ts: number }>(
        `SELECT (extract(epoch FROM ts) * 1000)::float8 AS ts FROM sensor_latest
         WHERE sensor_id IN (SELECT json_array_elements_text($1::json)::bigint) ORDER BY sensor_id`,
        [JSON.stringify(ids)],
      );
      expect(latest).toEqual(ids.map(() => ({ ts: t0 + perDevice - 1 })));
    } else {
      // Wait until the restarted worker has taken and acknowledged everything it was sent.
      let last = -1;
      await eventually(
        async () => {
          const s = second.stats;
          const quiet = s.messages > 0 && s.pending === 0 && s.messages === last;
          last = s.messages;
          await new Promise((r) => setTimeout(r, 400));
          return quiet ? true : undefined;
        },
        90_000,
        'the restarted worker to drain',
      );
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
      const clone = await openDatabase({ dataDir });
      try {
        stored = await count(
          databaseSql(clone),
          'SELECT count(*) FROM readings WHERE sensor_id IN (SELECT json_array_elements_text($1::json)::bigint)',
          [JSON.stringify(ids)],
        );
      } finally {
        await clone.close();
      }
    }
    expect(stored).toBe(acked);
    for (const d of devices) await d.client.endAsync();
    await broker.close();
  }, 600_000);
});
