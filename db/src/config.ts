/** Environment of the db package's own commands (migrate, seed). */
import { z } from 'zod';

const schema = z.object({
  DATABASE_URL: z.url().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
});

export type DbConfig = z.infer<typeof schema>;

export function loadDbConfig(env: NodeJS.ProcessEnv = process.env): DbConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${problems}`);
  }
  return parsed.data;
}
