/** A fresh database for one test file, cloned from the seeded template. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Database, openDatabase } from '@citygrid/db';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { fileDatabasePrefix, withDatabase } from './global-setup';

export interface TestDatabase extends Database {
  /** The connection URL, for real Postgres (e.g. to start a second server on the same data). */
  url?: string;
}

/**
 * Creates the database and drops it after the file's tests. Call at the top of a test file:
 * `const database = await testDatabase();`
 */
export async function testDatabase(): Promise<TestDatabase> {
  const template = inject('template');
  if (template.kind === 'embedded') {
    const dump = new Blob([readFileSync(template.dumpFile)]);
    const database = await openDatabase({ loadDataDir: dump });
    afterAll(() => database.close());
    return database;
  }
  // Named after the run's template, so the run's teardown drops what a file left behind: an
  // afterAll registered from inside a hook (beforeAll) does not run.
  const name = `${fileDatabasePrefix(template.name)}${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: template.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template.name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(template.adminUrl, name);
  const database: TestDatabase = Object.assign(await openDatabase({ url, poolSize: 5 }), { url });
  afterAll(async () => {
    await database.close();
    const cleanup = new pg.Client({ connectionString: template.adminUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  });
  return database;
}
