/**
 * `pnpm citygrid <command>`: the admin command line as a process (commands.ts holds the commands
 * and their usage). Opens the database of DATABASE_URL, or the embedded one under DATA_DIR (stop
 * the server first: the embedded database has one user at a time), migrates it, runs, exits with
 * the command's status.
 */
import { type Database, migrate, openDatabase } from '@citygrid/db';
import { runCli } from './commands';
import { loadCliConfig } from './config';

let database: Database | undefined;
runCli(process.argv.slice(2), async () => {
  const config = loadCliConfig();
  database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 2,
    applicationName: 'citygrid-cli',
  });
  await migrate(database);
  return { database, cwd: config.cwd };
})
  .then(async (code) => {
    await database?.close();
    process.exit(code);
  })
  .catch(async (error) => {
    console.error(error);
    await database?.close().catch(() => {});
    process.exit(1);
  });
