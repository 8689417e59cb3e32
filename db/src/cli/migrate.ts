/** `pnpm migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
import { openDatabase } from '../client';
import { loadDbConfig } from '../config';
import { migrate } from '../migrate';

const config = loadDbConfig();
const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
try {
  await migrate(database);
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
