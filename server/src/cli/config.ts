/** The admin CLI's environment: where the database is, parsed once with every bad key named. */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

const envSchema = z.object({
  DATABASE_URL: z.preprocess((v) => (v === '' ? undefined : v), z.url().optional()),
  DATA_DIR: z.string().min(1).default('./data'),
  /** pnpm sets it to the directory the command was typed in; relative paths start there. */
  INIT_CWD: z.string().optional(),
});

export interface CliConfig {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Where relative file arguments are resolved from. */
  cwd: string;
}

export function loadCliConfig(env: Record<string, string | undefined> = process.env): CliConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const cwd = parsed.data.INIT_CWD ?? process.cwd();
  const dataDir = isAbsolute(parsed.data.DATA_DIR)
    ? parsed.data.DATA_DIR
    : resolve(cwd, parsed.data.DATA_DIR);
  return { databaseUrl: parsed.data.DATABASE_URL, dataDir, cwd };
}
