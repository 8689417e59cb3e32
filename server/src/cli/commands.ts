/**
 * The admin command line's commands, as a function of argv, a database opener and where output
 * goes — so the whole CLI runs in-process in tests; `main.ts` is the process around it. Each
 * command is a thin shell over a domain function in domain/admin; every change is audited.
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
import type { Database } from '@citygrid/db';
import { SingleBar } from 'cli-progress';
import { issueApiKey, listApiKeys, revokeApiKey } from '../domain/admin/api-keys';
import { importPlaces } from '../domain/admin/import-places';
import { adminActor, readSensorCsv, registerSensors } from '../domain/admin/register-sensors';
import { splitCommunity } from '../domain/admin/split-grid';
import { createUser } from '../domain/admin/users';
import { DomainError } from '../domain/errors';

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

/** Where a command writes: lines to stdout and stderr; `tty` shows progress bars instead of lines. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  tty: boolean;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  tty: !!process.stderr.isTTY,
};

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
function progressBar(label: string, io: CliIo) {
  if (!io.tty) {
    return {
      start: (_total: number) => {},
      update: (done: number, total: number, step?: string) =>
        io.err(`${label}: ${done}/${total}${step ? ` (${step})` : ''}`),
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

async function run(
  command: string,
  files: string[],
  values: Values,
  database: Database,
  cwd: string,
  io: CliIo,
) {
  const db = database.db;
  switch (command) {
    case 'import-places': {
      const file = files[0];
      if (!file) throw new UsageError('import-places needs a GeoJSON file');
      const path = resolve(cwd, file);
      const geojson = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      const bar = progressBar('import', io);
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
      for (const r of report.repaired) io.out(`repaired "${r.code}": ${r.reason}`);
      if (report.imported) {
        io.out(`imported ${counts || 'nothing'} from ${file}`);
        return 0;
      }
      io.err(`refused: nothing was imported from ${file} (${report.problems.length} problems)`);
      for (const p of report.problems) io.err(`  [${p.kind}] ${p.message}`);
      return 1;
    }
    case 'split-grid': {
      const area = Number(required(values, 'area'));
      const result = await splitCommunity(db, { communityCode: required(values, 'community'), areaM2: area });
      io.out(
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
      io.out(`user ${created.username} (id ${created.id}) created`);
      if (created.generated) io.out(`password (shown once): ${created.password}`);
      return 0;
    }
    case 'register-sensors': {
      const file = files[0];
      if (!file) throw new UsageError('register-sensors needs a CSV file');
      const { rows, problems } = readSensorCsv(readFileSync(resolve(cwd, file), 'utf8'));
      if (problems.length) {
        io.err(`refused: ${file} has ${problems.length} problems; nothing was registered`);
        for (const p of problems) io.err(`  line ${p.line}: ${p.message}`);
        return 1;
      }
      const actor = await adminActor(db, values.as);
      const bar = progressBar('register', io);
      bar.start(rows.length);
      const result = await registerSensors(db, actor, rows, (done, total) => bar.update(done, total));
      bar.stop();
      if (result.problems.length) {
        io.err(`refused: ${result.problems.length} of ${rows.length} rows failed; nothing was registered`);
        for (const p of result.problems) io.err(`  line ${p.line}: ${p.message}`);
        return 1;
      }
      const csv = `device_id,secret\n${result.registered.map((r) => `${r.deviceId},${r.secret}`).join('\n')}\n`;
      if (values.out) {
        writeFileSync(resolve(cwd, values.out), csv, { mode: 0o600 });
        io.out(
          `registered ${result.registered.length} sensors; their secrets are in ${values.out} (keep it safe)`,
        );
      } else {
        io.out(`registered ${result.registered.length} sensors; secrets (shown once):`);
        io.out(csv.trimEnd());
      }
      return 0;
    }
    case 'issue-api-key': {
      const { apiKey, key } = await issueApiKey(db, { kind: 'cli' }, { name: required(values, 'name') });
      io.out(`API key ${apiKey.id} for "${apiKey.name}" (shown once):\n${key}`);
      return 0;
    }
    case 'revoke-api-key': {
      const key = await revokeApiKey(db, { kind: 'cli' }, Number(required(values, 'id')));
      io.out(`API key ${key.id} ("${key.name}") revoked at ${key.revokedAt?.toISOString()}`);
      return 0;
    }
    case 'list-api-keys': {
      for (const k of await listApiKeys(db, { kind: 'cli' })) {
        io.out(`${k.id}\t${k.name}\t${k.createdAt.toISOString()}\t${k.revokedAt ? 'revoked' : 'active'}`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/**
 * Runs one command line. The database is opened (and migrated) by `open` only for a known
 * command, and closed by the caller. Answers the exit status: 0 done, 1 refused, 2 bad usage.
 */
export async function runCli(
  argv: string[],
  open: () => Promise<{ database: Database; cwd: string }>,
  io: CliIo = processIo,
): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...files] = parsed.positionals;
  if (!command || parsed.values.help) {
    io.out(USAGE);
    return parsed.values.help ? 0 : 2;
  }
  if (!COMMANDS.includes(command)) {
    io.err(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const { database, cwd } = await open();
  try {
    return await run(command, files, parsed.values, database, cwd, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof DomainError) {
      io.err(`refused: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
