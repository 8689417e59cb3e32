/**
 * The change notification of a case: `pg_notify` on `citygrid_case`, sent inside the transaction
 * that writes the change, so Postgres delivers it only on COMMIT — a rolled-back change is never
 * announced. Every server instance LISTENs (realtime/case-feed.ts) and feeds its subscriptions.
 */
import type { Executor } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { CaseAction } from './events';

export const CASE_CHANNEL = 'citygrid_case';

/** What a notification carries: enough to filter subscribers by scope before reading the case. */
export interface CaseChangeNotice {
  caseId: number;
  action: CaseAction;
  version: number;
  cityId: number;
  districtId: number;
  streetId: number;
  communityId: number;
  /** The department it is dispatched to, if any (DEPARTMENT subscribers see only theirs). */
  departmentId: number | null;
}

export async function notifyCaseChanged(tx: Executor, notice: CaseChangeNotice): Promise<void> {
  await tx.execute(sql`SELECT pg_notify(${CASE_CHANNEL}, ${JSON.stringify(notice)})`);
}

/** Parses a notification payload; undefined for anything malformed. */
export function parseCaseChangeNotice(payload: string): CaseChangeNotice | undefined {
  try {
    const n = JSON.parse(payload) as Partial<CaseChangeNotice>;
    const ids = [n.caseId, n.version, n.cityId, n.districtId, n.streetId, n.communityId];
    if (!ids.every((v) => Number.isSafeInteger(v)) || typeof n.action !== 'string') return undefined;
    return { ...(n as CaseChangeNotice), departmentId: n.departmentId ?? null };
  } catch {
    return undefined;
  }
}
