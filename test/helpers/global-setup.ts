/**
 * Builds the template every test file clones: a migrated database holding the demo city.
 * Real Postgres: a template database `citygrid_tpl_<pid>`; embedded: a PGlite data-dir dump file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpEmbedded, migrate, openDatabase } from '@citygrid/db';
import { seedDemoCity } from '@citygrid/db/seed';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { testEnv } from './env';

declare module 'vitest' {
  export interface ProvidedContext {
    template: { kind: 'postgres'; adminUrl: string; name: string } | { kind: 'embedded'; dumpFile: string };
  }
}

export default async function setup(project: TestProject) {
  if (testEnv.databaseUrl) {
    const name = `citygrid_tpl_${process.pid}`;
    const admin = new pg.Client({ connectionString: testEnv.databaseUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    const url = withDatabase(testEnv.databaseUrl, name);
    const database = await openDatabase({ url, poolSize: 4 });
    await migrate(database);
    await seedDemoCity(database.db);
    await database.close();
    await admin.query(`ALTER DATABASE ${name} WITH is_template = true ALLOW_CONNECTIONS = false`);
    project.provide('template', { kind: 'postgres', adminUrl: testEnv.databaseUrl, name });
    return async () => {
      // The files' databases (helpers/db.ts): a file that made its database inside a hook, or whose
      // worker died, left it behind.
      const { rows: left } = await admin.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1',
        [fileDatabasePrefix(name)],
      );
      for (const { datname } of left) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      await admin.query(`ALTER DATABASE ${name} WITH is_template = false`);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'citygrid-tpl-'));
  const database = await openDatabase({});
  await migrate(database);
  await seedDemoCity(database.db);
  const dump = await dumpEmbedded(database);
  await database.close();
  const dumpFile = join(dir, 'template.tar');
  writeFileSync(dumpFile, Buffer.from(await dump.arrayBuffer()));
  project.provide('template', { kind: 'embedded', dumpFile });
  return () => rmSync(dir, { recursive: true, force: true });
}

/** What the names of one run's per-file databases begin with (helpers/db.ts). */
export function fileDatabasePrefix(template: string): string {
  return `${template}_f_`;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
