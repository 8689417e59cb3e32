/**
 * The admin audit log (`admin_audit`): one row per administrative action — API keys issued and
 * revoked, places imported, users created, sensors registered — whether it came through GraphQL
 * or the CLI. Written inside the action's own transaction where there is one, so a rolled-back
 * action leaves no entry.
 */
import { type Executor, rows } from '@citygrid/db';
import { adminAudit } from '@citygrid/db/schema';
import { desc, sql } from 'drizzle-orm';

export interface AdminAction {
  /** The signed-in admin, or null for the CLI (which runs with the database's own rights). */
  actorId: number | null;
  /** Verb-noun, e.g. `issueApiKey`, `importPlaces`. */
  action: string;
  /** What it acted on, e.g. `api_key:12` or a file name. */
  target?: string | null;
  /** Facts worth keeping; never secrets. */
  detail?: Record<string, unknown>;
}

export async function recordAdminAction(db: Executor, entry: AdminAction): Promise<void> {
  await db.insert(adminAudit).values({
    actorId: entry.actorId,
    action: entry.action,
    target: entry.target ?? null,
    detail: entry.detail ?? {},
  });
}

export interface AuditEntry {
  id: number;
  actorId: number | null;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
  at: Date;
}

/** The newest entries first. */
export async function recentAdminActions(db: Executor, limit = 100): Promise<AuditEntry[]> {
  const found = await db
    .select()
    .from(adminAudit)
    .orderBy(desc(adminAudit.at), desc(adminAudit.id))
    .limit(Math.min(Math.max(limit, 1), 1000));
  return found;
}

/** How many entries an action has (for tests and the CLI's summary). */
export async function countAdminActions(db: Executor, action: string): Promise<number> {
  const [row] = await rows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM admin_audit WHERE action = ${action}`,
  );
  return row?.n ?? 0;
}
