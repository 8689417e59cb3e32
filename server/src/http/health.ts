/** `/healthz` (the process answers) and `/readyz` (everything it depends on answers). */
import type { Database } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { Router } from 'express';

/** A dependency probe: resolves when reachable, throws (or rejects) when not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 3000;

export function databaseCheck(database: Database): ReadinessCheck {
  return {
    name: 'database',
    check: async () => {
      await database.db.execute(sql`select 1`);
    },
  };
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function healthRouter(checks: readonly ReadinessCheck[]): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      checks.map(async (c) => {
        try {
          await withTimeout(c.check(), CHECK_TIMEOUT_MS);
          return [c.name, 'ok'] as const;
        } catch (error) {
          return [c.name, `failed: ${error instanceof Error ? error.message : String(error)}`] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r === 'ok');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ok' : 'unavailable', checks: Object.fromEntries(results) });
  });
  return router;
}
