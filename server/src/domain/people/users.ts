/** Users as other parts of the domain show them (never with their password hash). */
import type { Executor } from '@citygrid/db';
import { type UserRole, users } from '@citygrid/db/schema';
import { inArray } from 'drizzle-orm';

export interface UserView {
  id: number;
  username: string;
  displayName: string;
  role: UserRole;
  regionId: number;
  departmentId: number | null;
  phone: string | null;
  active: boolean;
}

export function usersByIds(db: Executor, ids: readonly number[]): Promise<UserView[]> {
  return db
    .select({
      id: users.id,
      username: users.username,
      displayName: users.displayName,
      role: users.role,
      regionId: users.regionId,
      departmentId: users.departmentId,
      phone: users.phone,
      active: users.active,
    })
    .from(users)
    .where(inArray(users.id, [...ids]));
}
