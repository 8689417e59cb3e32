/**
 * `pnpm citygrid <command>`: the admin command line. Each command is a thin shell over a domain
 * function in domain/admin; every change it makes is audited (actor: none, via the CLI).
 *
 *   import-places <file.geojson> [--repair]     place hierarchy and grid cells, all or nothing
 *   split-grid --community <code> --area <m²>   cut a community into grid cells
 *   create-user --username <u> --role <ROLE> --region <code> [--department <code>] [--name <n>] [--password <p>]
 *   register-sensors <file.csv> [--as <admin>] [--out <secrets.csv>]
 *   issue-api-key --name <who it is for>
 *   revoke-api-key --id <id>
 *   list-api-keys
 *
 * Exit status: 0 done, 1 refused (the report says why), 2 bad usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Database, migrate, openDatabase } from '@citygrid/db';
import { SingleBar } from 'cli-progress';
import { issueApiKey, listApiKeys, revokeApiKey } from '../domain/admin/api-keys';
import { importPlaces } from '../domain/admin/import-places';
import { adminActor, readSensorCsv, registerSensors } from '../domain/admin/register-sensors';
import { splitCommunity } from '../domain/admin/split-grid';
import { createUser } from '../domain/admin/users';
import { DomainError } from '../domain/errors';
import { loadCliConfig } from './config';

const USAGE = `usage: pnpm citygrid <command> [options]

  import-places <file.geojson> [--repair]
  split-grid --community <code> --area <m²>
  create-user --username <u> --role <ADMIN|COMMANDER|DEPARTMENT|WORKER|SUPERVISOR> --region <code>
              [--department <code>] [--name <display name>] [--password <p>]
  register-sensors <file.csv> [--as <admin username>] [--out <secrets.csv>]
  issue-api-key --name <who it is for>
  revoke-api-key --id <id>
  list-api-keys

DATABASE_URL selects the database (unset: the embedded one under DATA_DIR; stop the server first).`;

class UsageError extends Error {}

const COMMANDS = [
  'import-places',
  'split-grid',
  'create-user',
  'register-sensors',
  'issue-api-key',
  'revoke-api-key',
  'list-api-keys',
];

const options = {
  repair: { type: 'boolean' },
  community: { type: 'string' },
  area: { type: 'string' },
  username: { type: 'string' },
  role: { type: 'string' },
  region: { type: 'string' },
  department: { type: 'string' },
  name: { type: 'string' },
  password: { type: 'string' },
  as: { type: 'string' },
  out: { type: 'string' },
  id: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function required(values: Values, key: keyof Values): string {
  const v = values[key];
  if (typeof v !== 'string' || !v.trim()) throw new UsageError(`--${key} is required`);
  return v;
}

/** A progress bar on a terminal; plain lines otherwise (logs, CI). */
function progressBar(label: string) {
  if (!process.stderr.isTTY) {
    return {
      start: (_total: number) => {},
      update: (done: number, total: number, step?: string) =>
        process.stderr.write(`${label}: ${done}/${total}${step ? ` (${step})` : ''}\n`),
      stop: () => {},
    };
  }
  const bar = new SingleBar({
    format: `${label} [{bar}] {value}/{total} {step}`,
    stream: process.stderr,
    hideCursor: true,
  });
  return {
    start: (total: number) => bar.start(total, 0, { step: '' }),
    update: (done: number, _total: number, step?: string) => bar.update(done, { step: step ?? '' }),
    stop: () => bar.stop(),
  };
}

async function run(command: string, files: string[], values: Values, database: Database, cwd: string) {
  const db = database.db;
  switch (command) {
    case 'import-places': {
      const file = files[0];
      if (!file) throw new UsageError('import-places needs a GeoJSON file');
      const path = resolve(cwd, file);
      const geojson = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      const bar = progressBar('import');
      bar.start(6);
      const report = await importPlaces(db, geojson, {
        repair: values.repair ?? false,
        source: file,
        onProgress: (step, done, total) => bar.update(done, total, step),
      });
      bar.stop();
      const counts = Object.entries(report.counts)
        .filter(([, n]) => n > 0)
        .map(([level, n]) => `${n} ${level}`)
        .join(', ');
      for (const r of report.repaired) console.log(`repaired "${r.code}": ${r.reason}`);
      if (report.imported) {
        console.log(`imported ${counts || 'nothing'} from ${file}`);
        return 0;
      }
      console.error(`refused: nothing was imported from ${file} (${report.problems.length} problems)`);
      for (const p of report.problems) console.error(`  [${p.kind}] ${p.message}`);
      return 1;
    }
    case 'split-grid': {
      const area = Number(required(values, 'area'));
      const result = await splitCommunity(db, { communityCode: required(values, 'community'), areaM2: area });
      console.log(
        `community ${result.communityCode}: ${result.cells} grid cells (target ${result.targetAreaM2} m²; ` +
          `smallest ${result.minAreaM2}, mean ${result.meanAreaM2}, largest ${result.maxAreaM2} m²)`,
      );
      return 0;
    }
    case 'create-user': {
      const created = await createUser(db, {
        username: required(values, 'username'),
        role: required(values, 'role').toUpperCase() as 'ADMIN',
        regionCode: required(values, 'region'),
        departmentCode: values.department,
        displayName: values.name,
        password: values.password,
      });
      console.log(`user ${created.username} (id ${created.id}) created`);
      if (created.generated) console.log(`password (shown once): ${created.password}`);
      return 0;
    }
    case 'register-sensors': {
      const file = files[0];
      if (!file) throw new UsageError('register-sensors needs a CSV file');
      const { rows, problems } = readSensorCsv(readFileSync(resolve(cwd, file), 'utf8'));
      if (problems.length) {
        console.error(`refused: ${file} has ${problems.length} problems; nothing was registered`);
        for (const p of problems) console.error(`  line ${p.line}: ${p.message}`);
        return 1;
      }
      const actor = await adminActor(db, values.as);
      const bar = progressBar('register');
      bar.start(rows.length);
      const result = await registerSensors(db, actor, rows, (done, total) => bar.update(done, total));
      bar.stop();
      if (result.problems.length) {
        console.error(
          `refused: ${result.problems.length} of ${rows.length} rows failed; nothing was registered`,
        );
        for (const p of result.problems) console.error(`  line ${p.line}: ${p.message}`);
        return 1;
      }
      const csv = `device_id,secret\n${result.registered.map((r) => `${r.deviceId},${r.secret}`).join('\n')}\n`;
      if (values.out) {
        writeFileSync(resolve(cwd, values.out), csv, { mode: 0o600 });
        console.log(
          `registered ${result.registered.length} sensors; their secrets are in ${values.out} (keep it safe)`,
        );
      } else {
        console.log(`registered ${result.registered.length} sensors; secrets (shown once):`);
        process.stdout.write(csv);
      }
      return 0;
    }
    case 'issue-api-key': {
      const { apiKey, key } = await issueApiKey(db, { kind: 'cli' }, { name: required(values, 'name') });
      console.log(`API key ${apiKey.id} for "${apiKey.name}" (shown once):\n${key}`);
      return 0;
    }
    case 'revoke-api-key': {
      const key = await revokeApiKey(db, { kind: 'cli' }, Number(required(values, 'id')));
      console.log(`API key ${key.id} ("${key.name}") revoked at ${key.revokedAt?.toISOString()}`);
      return 0;
    }
    case 'list-api-keys': {
      for (const k of await listApiKeys(db, { kind: 'cli' })) {
        console.log(
          `${k.id}\t${k.name}\t${k.createdAt.toISOString()}\t${k.revokedAt ? 'revoked' : 'active'}`,
        );
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...files] = parsed.positionals;
  if (!command || parsed.values.help) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (!COMMANDS.includes(command)) {
    console.error(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const config = loadCliConfig();
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 2,
    applicationName: 'citygrid-cli',
  });
  try {
    await migrate(database);
    return await run(command, files, parsed.values, database, config.cwd);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof DomainError) {
      console.error(`refused: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
