/** Who is acting: the signed-in user as the domain sees it, and the region scope they act within. */
import type { UserRole } from '@citygrid/db/schema';

export interface Actor {
  id: number;
  role: UserRole;
  /** The user's scope region: a CITY, DISTRICT or STREET region. */
  regionId: number;
}

export const ROLES = [
  'ADMIN',
  'COMMANDER',
  'DEPARTMENT',
  'WORKER',
  'SUPERVISOR',
] as const satisfies readonly UserRole[];
