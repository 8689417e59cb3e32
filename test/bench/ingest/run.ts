/**
 * Ingest benchmark: `pnpm --filter @citygrid/test bench:ingest` (needs DATABASE_URL; starts its
 * own Mosquitto and a database `citygrid_bench_<pid>` it drops at the end).
 *
 * A fixed-rate ramp (QoS 1 to Mosquitto → ingest worker(s) on the shared subscription → PostGIS,
 * dedup and rules on), each step BENCH_STEP_SECONDS long (default 20 here; the runs use
 * ≥ 60), then in the same run: the broker alone (same publisher, a subscriber that discards), a
 * raw COPY of the same rows, and a naive one-INSERT-per-message ingester. Prints one table.
 *
 * Latency is publish → stored: `readings.received_at` (the start of the transaction that copied
 * it straight in, or of the deduplicating insert; a few ms before COMMIT) minus the point's `ts`
 * (its publish time; same clock). Each step also notes the CPU (in cores) the workers, this
 * database's backends, the broker and the publisher used: on two cores they share, that says who
 * the ceiling is.
 *
 * Knobs: BENCH_RATES (msg/s, comma-separated), BENCH_STEP_SECONDS, BENCH_DEVICES, BENCH_WORKERS,
 * BENCH_WRITERS (batches in flight per worker, default 2), BENCH_BATCH (max messages per batch),
 * BENCH_CPU_PROF=<dir> (V8 profiles of the workers), BENCH_WORKER_NODE_ARGS, and
 * BENCH_INGEST_LOG_LEVEL=debug (each batch's size, path and time on stderr). The workers inherit
 * the environment, so INGEST_LATEST_FLUSH_MS=0 measures latest values written in every batch.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { migrate, openDatabase } from '@citygrid/db';
import mqtt from 'mqtt';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startMosquitto } from '../../helpers/mqtt';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('bench:ingest needs DATABASE_URL (a real PostgreSQL + PostGIS)');
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 20);
const RATES = (process.env.BENCH_RATES ?? '5000,10000,20000,30000,40000').split(',').map(Number); // messages/s
const DEVICES = Number(process.env.BENCH_DEVICES ?? 2000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 1);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 2);
const VALUES = 3;

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const name = `citygrid_bench_${process.pid}`;
const dbUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
})();

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${name}`);
await admin.query(`CREATE DATABASE ${name}`);
const database = await openDatabase({ url: dbUrl, poolSize: 2 });
await migrate(database);
const pool = database.pool!;
await pool.query(
  `INSERT INTO sensors (device_id, kind, name, location, secret_hash)
   SELECT 'bq-' || lpad(g::text, 5, '0'), 'air_quality', 'bench ' || g,
          ST_SetSRID(ST_MakePoint(109.19 + (g % 100) * 0.0005, 27.72 + (g / 100) * 0.0005), 4326), 'x'
   FROM generate_series(0, $1::int - 1) g`,
  [DEVICES],
);
// Rules on: the seeded PM2.5 rule (values stay below it, so every reading is evaluated, none raise).
await pool.query(
  `INSERT INTO alarm_rules (name, sensor_kind, metric, condition, threshold, clear_threshold, hold_seconds, severity)
   VALUES ('PM2.5 high', 'air_quality', 'pm25', 'ABOVE', 75, 60, 300, 'WARNING')`,
);

const broker = await startMosquitto();
const children: ChildProcess[] = [];
let cleaned = false;
const cleanup = async () => {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await broker.close();
  await database.close().catch(() => {});
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void cleanup().finally(() => process.exit(130)));
}

function spawnTs(file: string, args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', file, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    // With BENCH_INGEST_LOG_LEVEL the workers' log lines pass through to stderr.
    if (process.env.BENCH_INGEST_LOG_LEVEL) process.stderr.write(d);
  });
  return { child, output: () => out };
}

async function publish(rate: number, seconds: number, prefix = 'bq') {
  const p = spawnTs(here('./publisher.ts'), [
    broker.url,
    String(DEVICES),
    String(rate),
    String(seconds),
    '4',
    prefix,
  ]);
  await new Promise((r) => p.child.once('exit', r));
  const line = p.output().trim().split('\n').at(-1)!;
  return JSON.parse(line) as { sent: number; acked: number; errors: number; seconds: number; cpu: number };
}

/** CPU seconds a process has used so far (Linux /proc; clock ticks of 1/100 s). */
function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Samples the CPU time of the ingest workers, the broker and this database's server processes
 * every half second while a step runs, summing per process, so that a connection opened or
 * closed mid-step is counted for the time it lived.
 */
function cpuSampler(workerPids: (number | undefined)[]) {
  const last = new Map<number, number>();
  const used = { ingest: 0, broker: 0, postgres: 0 };
  const sample = async () => {
    const { rows } = await pool.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1',
      [name],
    );
    const groups: [keyof typeof used, (number | undefined)[]][] = [
      ['ingest', workerPids],
      ['broker', [broker.process.pid]],
      ['postgres', rows.map((r) => r.pid)],
    ];
    for (const [group, pids] of groups) {
      for (const pid of pids) {
        if (pid === undefined) continue;
        const now = cpuOf(pid);
        if (now === 0) continue;
        used[group] += now - (last.get(pid) ?? now);
        last.set(pid, now);
      }
    }
  };
  let running = sample();
  const timer = setInterval(() => {
    running = running.then(sample);
  }, 500);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await sample();
      return used;
    },
  };
}

async function waitReady(p: { output(): string; child: ChildProcess }) {
  for (let i = 0; i < 600; i++) {
    if (p.output().includes('READY')) return;
    if (p.child.exitCode !== null) throw new Error('ingest worker exited');
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('ingest worker not ready');
}

const countIn = async (from: number, to: number) => {
  const { rows } = await pool.query<{ n: number; p50: number | null; p99: number | null; dup: number }>(
    `SELECT count(*)::int AS n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - ts)) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - ts)) AS p99,
            (count(*) - count(DISTINCT (sensor_id, metric, ts)))::int AS dup
     FROM readings WHERE ts >= to_timestamp($1::float8 / 1000) AND ts < to_timestamp($2::float8 / 1000)`,
    [from, to],
  );
  return rows[0]!;
};

interface Row {
  what: string;
  rate: string;
  p99: string;
  lost: string;
  dup: string;
  note: string;
}
const table: Row[] = [];

/** Where the step's CPU went, in cores busy on average: who competes for the machine's two. */
function cpuNote(
  pub: { cpu: number; seconds: number },
  used: { ingest: number; broker: number; postgres: number },
) {
  const per = (s: number) => (s / pub.seconds).toFixed(2);
  return `ingest ${per(used.ingest)}, postgres ${per(used.postgres)}, broker ${per(used.broker)}, publisher ${per(pub.cpu)}`;
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

try {
  // 1. The ramp through the real pipeline.
  const workers = Array.from({ length: WORKERS }, (_, i) =>
    spawnTs(
      here('../../../iot/src/main.ts'),
      [],
      {
        DATABASE_URL: dbUrl,
        MQTT_URL: broker.url,
        INGEST_SHARED: '1',
        INGEST_CLIENT_ID: `bench-ingest-${i}`,
        INGEST_BATCH_SIZE: process.env.BENCH_BATCH ?? '5000',
        INGEST_BATCH_WINDOW_MS: '100',
        INGEST_MAX_UNACKED: '20000',
        INGEST_WRITERS: String(WRITERS),
        // A connection per writer, and one for the latest values, presence and rules.
        INGEST_DB_POOL: String(WRITERS + 1),
        LOG_LEVEL: process.env.BENCH_INGEST_LOG_LEVEL ?? 'warn',
      },
      // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each worker (open it in Chrome's DevTools).
      [
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
        ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ],
    ),
  );
  for (const w of workers) await waitReady(w);
  let best: { rate: number; p99: number } | undefined;
  const workerPids = workers.map((w) => w.child.pid);
  for (const rate of RATES) {
    const sampler = cpuSampler(workerPids);
    const from = Date.now();
    const pub = await publish(rate, STEP_SECONDS);
    const to = Date.now();
    const cpu = await sampler.stop();
    // Give the tail up to 5 s to land, then count.
    let stats = await countIn(from, to);
    for (let i = 0; i < 50 && stats.n < pub.acked * VALUES; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await countIn(from, to);
    }
    const expected = pub.acked * VALUES;
    const lost = Math.max(0, expected - stats.n);
    const achieved = pub.acked / pub.seconds;
    const held = lost === 0 && (stats.p99 ?? 99) < 1 && achieved >= rate * 0.97;
    if (held) best = { rate: achieved * VALUES, p99: stats.p99 ?? 0 };
    table.push({
      what: `pipeline @ ${fmt(rate)} msg/s`,
      rate: `${fmt(achieved * VALUES)} pts/s`,
      p99: `${(stats.p99 ?? Number.NaN).toFixed(3)} s (p50 ${(stats.p50 ?? Number.NaN).toFixed(3)})`,
      lost: String(lost),
      dup: String(stats.dup),
      note: `${held ? 'held' : 'NOT held'}; CPU (cores) ${cpuNote(pub, cpu)}`,
    });
    console.log(table.at(-1));
    if (!held) break;
  }
  for (const w of workers) {
    w.child.kill('SIGTERM');
    await new Promise((r) => w.child.once('exit', r));
  }

  // 2. The broker alone: the same publisher, flat out, to a shared subscriber that discards.
  let received = 0;
  const sink = await mqtt.connectAsync(broker.url, {
    protocolVersion: 5,
    clientId: 'bench-sink',
    reconnectPeriod: 0,
  });
  sink.on('message', () => {
    received++;
  });
  await sink.subscribeAsync('$share/bench-sink/citygrid/v1/+/telemetry', { qos: 1 });
  const alone = await publish(0, Math.min(STEP_SECONDS, 15), 'bq');
  await new Promise((r) => setTimeout(r, 1000));
  await sink.endAsync();
  table.push({
    what: 'broker alone (QoS 1, flat out)',
    rate: `${fmt(alone.acked / alone.seconds)} msg/s = ${fmt((alone.acked / alone.seconds) * VALUES)} pts/s`,
    p99: '-',
    lost: String(alone.acked - received),
    dup: '-',
    note: `subscriber got ${fmt(received)}`,
  });
  console.log(table.at(-1));

  // 3. Raw COPY of the same rows (no broker, no dedup, no rules), into today's partitions.
  const client = await pool.connect();
  const messagesTotal = 200_000;
  const rowsTotal = messagesTotal * VALUES;
  const chunk = 10_000; // messages per COPY
  const t0 = Date.now() + 3_600_000; // an hour ahead: no overlap with the ramp's keys
  const copyStart = performance.now();
  for (let off = 0; off < messagesTotal; off += chunk) {
    const lines: string[] = [];
    for (let m = off; m < off + chunk; m++) {
      const sensorId = (m % DEVICES) + 1;
      const ts = new Date(t0 + Math.floor(m / DEVICES)).toISOString();
      lines.push(`${sensorId}\tpm25\t${ts}\t20\n${sensorId}\tpm10\t${ts}\t40\n${sensorId}\tno2\t${ts}\t10\n`);
    }
    const stream = client.query(copyFrom('COPY readings (sensor_id, metric, ts, value) FROM STDIN'));
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', () => resolve());
      stream.end(lines.join(''));
    });
  }
  const copySeconds = (performance.now() - copyStart) / 1000;
  client.release();
  table.push({
    what: 'raw COPY into readings',
    rate: `${fmt(rowsTotal / copySeconds)} rows/s`,
    p99: '-',
    lost: '-',
    dup: '-',
    note: `${fmt(rowsTotal)} rows in ${copySeconds.toFixed(1)} s`,
  });
  console.log(table.at(-1));

  // 4. A naive ingester: one INSERT per message (autocommit), mqtt.js acking as usual.
  const naiveDb = new pg.Client({ connectionString: dbUrl });
  await naiveDb.connect();
  let stored = 0;
  let queue = Promise.resolve();
  const ids = new Map<string, number>();
  for (const r of (
    await pool.query<{ id: number; device_id: string }>('SELECT id::int AS id, device_id FROM sensors')
  ).rows) {
    ids.set(r.device_id, r.id);
  }
  const naive = await mqtt.connectAsync(broker.url, {
    protocolVersion: 5,
    clientId: 'bench-naive',
    reconnectPeriod: 0,
  });
  let naiveStopped = false;
  naive.on('message', (topic, payload) => {
    queue = queue
      .then(async () => {
        if (naiveStopped) return;
        const id = ids.get(topic.split('/')[2]!);
        const m = JSON.parse(payload.toString()) as { ts: number; values: Record<string, number> };
        const at = new Date(m.ts + 7_200_000).toISOString(); // shifted: no clash with earlier rows
        await naiveDb.query(
          `INSERT INTO readings (sensor_id, metric, ts, value) VALUES ($1, 'pm25', $2, $3), ($1, 'pm10', $2, $4), ($1, 'no2', $2, $5)
         ON CONFLICT DO NOTHING`,
          [id, at, m.values.pm25, m.values.pm10, m.values.no2],
        );
        stored += VALUES;
      })
      .catch(() => {});
  });
  await naive.subscribeAsync('$share/bench-naive/citygrid/v1/+/telemetry', { qos: 1 });
  const naiveSeconds = Math.min(STEP_SECONDS, 15);
  const naiveFrom = performance.now();
  const storedBefore = stored;
  const naivePub = await publish(15_000, naiveSeconds, 'bq');
  const naiveStored = stored - storedBefore;
  const naiveElapsed = (performance.now() - naiveFrom) / 1000;
  naiveStopped = true;
  await naive.endAsync(true);
  await queue;
  await naiveDb.end().catch(() => {});
  table.push({
    what: 'naive: one INSERT per message',
    rate: `${fmt(naiveStored / naiveElapsed)} pts/s`,
    p99: '-',
    lost: '-',
    dup: '-',
    note: `offered ${fmt((naivePub.acked / naivePub.seconds) * VALUES)} pts/s; backlog ${fmt(naivePub.acked * VALUES - naiveStored)} pts when the publisher stopped`,
  });
  console.log(table.at(-1));

  console.log(
    `\nIngest benchmark — ${DEVICES} devices, ${VALUES} values/message, steps of ${STEP_SECONDS} s, ${WORKERS} worker(s)`,
  );
  console.table(table);
  if (best)
    console.log(
      `highest rate held (p99 < 1 s, none lost): ${fmt(best.rate)} points/s, p99 ${best.p99.toFixed(3)} s`,
    );
  else console.log('no step was held');
} finally {
  await cleanup();
}
process.exit(0);
