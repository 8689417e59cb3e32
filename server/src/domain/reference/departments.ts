/** Handling departments (处置部门): reference data. */
import type { Executor } from '@citygrid/db';
import { departments } from '@citygrid/db/schema';
import { asc, inArray } from 'drizzle-orm';

export interface DepartmentView {
  id: number;
  code: string;
  name: string;
  nameEn: string;
  regionId: number;
  phone: string | null;
}

const columns = {
  id: departments.id,
  code: departments.code,
  name: departments.name,
  nameEn: departments.nameEn,
  regionId: departments.regionId,
  phone: departments.phone,
};

export function listDepartments(db: Executor): Promise<DepartmentView[]> {
  return db.select(columns).from(departments).orderBy(asc(departments.code));
}

export function departmentsByIds(db: Executor, ids: readonly number[]): Promise<DepartmentView[]> {
  return db
    .select(columns)
    .from(departments)
    .where(inArray(departments.id, [...ids]));
}
