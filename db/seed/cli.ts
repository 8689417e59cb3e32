/**
 * `pnpm seed`: migrates DATABASE_URL (or the embedded database under DATA_DIR) and seeds the demo
 * city if the database has no places yet. `--force` wipes every table first and seeds again;
 * `--seed <n>` and `--now <ISO time>` pick another city or another end of the case history.
 */
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { type Executor, openDatabase, rows } from '../src/client';
import { loadDbConfig } from '../src/config';
import { migrate } from '../src/migrate';
import { DEFAULT_SEED, seedDemoCity } from './index';

const { values } = parseArgs({
  options: {
    force: { type: 'boolean', default: false },
    seed: { type: 'string' },
    now: { type: 'string' },
  },
});
const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
const now = values.now === undefined ? new Date() : new Date(values.now);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
if (Number.isNaN(now.getTime())) throw new Error(`--now must be an ISO-8601 time, got ${values.now}`);

const config = loadDbConfig();
const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
try {
  await migrate(database);
  const [places] = await rows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM regions`);
  if ((places?.n ?? 0) > 0 && !values.force) {
    console.log(
      `the database already has ${places?.n} regions; not seeding (--force wipes it and seeds again)`,
    );
  } else {
    if (values.force) await wipe(database.db);
    const started = performance.now();
    const summary = await seedDemoCity(database.db, {
      seed,
      now,
      onPhase: (phase, ms) => console.log(`  ${phase.padEnd(9)} ${Math.round(ms)} ms`),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`demo city seeded (${database.kind}) in ${seconds} s:`, summary);
  }
} finally {
  await database.close();
}

/** Empties every table of ours. The event log refuses TRUNCATE, so its guard is lifted for this one transaction. */
async function wipe(db: Executor) {
  await db.transaction(async (tx) => {
    const tables = await rows<{ name: string }>(
      tx,
      sql`SELECT quote_ident(c.relname) AS name
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            AND c.relname <> 'spatial_ref_sys'
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
          ORDER BY c.relname`,
    );
    await tx.execute(sql`ALTER TABLE case_events DISABLE TRIGGER case_events_no_truncate`);
    await tx.execute(sql.raw(`TRUNCATE ${tables.map((t) => t.name).join(', ')} RESTART IDENTITY CASCADE`));
    await tx.execute(sql`ALTER TABLE case_events ENABLE TRIGGER case_events_no_truncate`);
    await tx.execute(sql`ALTER SEQUENCE case_code_seq RESTART`);
  });
}
