/** A fresh, empty, migrated database of the kind under test (not a template clone), and its disposal. */
import { randomBytes } from 'node:crypto';
import { type Database, migrate, openDatabase } from '@citygrid/db';
import pg from 'pg';
import { testEnv } from '../helpers/env';
import { withDatabase } from '../helpers/global-setup';

export interface FreshDatabase {
  database: Database;
  dispose(): Promise<void>;
}

/** Real PostgreSQL when DATABASE_URL is set (a new database), else an in-memory PGlite. */
export async function freshDatabase(
  kind: 'postgres' | 'embedded' = testEnv.databaseUrl ? 'postgres' : 'embedded',
) {
  if (kind === 'embedded') {
    const database = await openDatabase({});
    await migrate(database);
    return { database, dispose: () => database.close() };
  }
  const adminUrl = testEnv.databaseUrl;
  if (!adminUrl) throw new Error('freshDatabase: postgres needs DATABASE_URL');
  const name = `citygrid_f_${randomBytes(5).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const database = await openDatabase({ url: withDatabase(adminUrl, name), poolSize: 2 });
  await migrate(database);
  return {
    database,
    dispose: async () => {
      await database.close();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(url: string, statement: string) {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}
