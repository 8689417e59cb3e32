/**
 * Auto-routing: file a reported case and dispatch it in one step, to the target the commander
 * accepted from the suggestions or, when none is named, to the category's default department.
 * Two workflow transitions (FILE, then DISPATCH), each its own transaction: the target is checked
 * before filing, so a case is left FILED only if the dispatch itself is refused (e.g. a race).
 */
import { type Db, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { Actor } from '../auth/actor';
import { getCase } from '../cases/queries';
import type { CaseRow } from '../cases/view';
import { applyTransition } from '../cases/workflow';
import { BadUserInput } from '../errors';

export interface FileAndDispatchArgs {
  id: unknown;
  expectedVersion: number;
  departmentId?: unknown;
  assigneeId?: unknown;
  note?: string | null;
}

export async function fileAndDispatch(
  db: Db,
  actor: Actor,
  args: FileAndDispatchArgs,
  now: Date = new Date(),
): Promise<CaseRow> {
  let { departmentId, assigneeId } = args;
  if (departmentId == null && assigneeId == null) {
    const current = await getCase(db, actor, args.id);
    const [category] = await rows<{ departmentId: number | null }>(
      db,
      sql`SELECT default_department_id::int AS "departmentId" FROM categories WHERE id = ${current.categoryId}`,
    );
    if (category?.departmentId == null) {
      throw new BadUserInput('the category names no default department: choose a department or a worker', {
        field: 'departmentId',
      });
    }
    departmentId = category.departmentId;
  }
  const filed = await applyTransition(
    db,
    actor,
    { caseId: args.id, action: 'FILE', expectedVersion: args.expectedVersion, note: args.note ?? null },
    now,
  );
  const dispatched = await applyTransition(
    db,
    actor,
    {
      caseId: args.id,
      action: 'DISPATCH',
      expectedVersion: filed.case.version,
      departmentId,
      assigneeId,
      note: args.note ?? null,
    },
    now,
  );
  return dispatched.case;
}
