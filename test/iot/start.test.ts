/**
 * The all-in-one IoT side on the embedded broker: startIot brings up aedes, the ingester and the
 * demo fleet, whose devices sign in with their own secrets; their readings land, in range, and
 * their retained status marks them online.
 */
import { databaseSql, loadIotConfig, startIot } from '@citygrid/iot';
import pino from 'pino';
import { expect, it } from 'vitest';
import { testDatabase } from '../helpers/db';
import { count, eventually } from './fixtures';

const database = await testDatabase();
const sql = databaseSql(database);

it('runs the embedded broker, the ingester and the demo fleet', async () => {
  const config = loadIotConfig({
    MQTT_PORT: '0',
    SIMULATOR_DEVICES: '24',
    SIMULATOR_INTERVAL_MS: '200',
    INGEST_BATCH_WINDOW_MS: '50',
  });
  const iot = await startIot({ config, database, logger: pino({ level: 'silent' }) });
  try {
    expect(iot.fleet).toBeDefined();
    await Promise.all(iot.readiness.map((r) => r.check()));
    const sensors = await eventually(
      async () => {
        const n = await count(
          sql,
          `SELECT count(DISTINCT r.sensor_id) FROM readings r JOIN sensors s ON s.id = r.sensor_id
           WHERE r.received_at > now() - interval '1 minute'`,
        );
        return n >= 24 ? n : undefined;
      },
      30_000,
      'readings from every simulated device',
    );
    expect(sensors).toBe(24);
    const online = await eventually(async () => {
      const n = await count(sql, `SELECT count(*) FROM sensors WHERE status = 'ONLINE'`);
      return n >= 24 ? n : undefined;
    });
    expect(online).toBeGreaterThanOrEqual(24);
    // The simulator stays inside every metric's plausible range: nothing refused.
    expect(await count(sql, 'SELECT count(*) FROM rejected_messages')).toBe(0);
    const metrics = await iot.metrics.registry.metrics();
    expect(metrics).toMatch(/citygrid_ingest_messages_total\{result="stored"\} [1-9]/);
  } finally {
    await iot.close();
  }
});
