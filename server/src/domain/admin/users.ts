/** Creating users from the admin tools (CLI): role, region scope by code, department by code. */
import { type Db, hashPassword, newSecret, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { ROLES } from '../auth/actor';
import { BadUserInput, Conflict, parseInput } from '../errors';
import { recordAdminAction } from './audit';

const createUserInput = z.object({
  username: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$/, 'letters, digits, . _ - (2 to 64)'),
  displayName: z.string().trim().min(1).max(100).optional(),
  role: z.enum(ROLES),
  regionCode: z.string().trim().min(1),
  departmentCode: z.string().trim().min(1).optional(),
  /** Omitted: a random password is made and returned once. */
  password: z.string().min(8, 'at least 8 characters').max(200).optional(),
});
export type CreateUserInput = z.input<typeof createUserInput>;

export async function createUser(
  db: Db,
  raw: CreateUserInput,
  actorId: number | null = null,
): Promise<{ id: number; username: string; password: string; generated: boolean }> {
  const input = parseInput(createUserInput, raw);
  if (input.role === 'DEPARTMENT' && !input.departmentCode) {
    throw new BadUserInput('a DEPARTMENT user needs --department', { field: 'departmentCode' });
  }
  const password = input.password ?? newSecret().slice(0, 16);
  const hash = await hashPassword(password);
  return db.transaction(async (tx) => {
    const [region] = await rows<{ id: number; level: string }>(
      tx,
      sql`SELECT id::int AS id, level::text AS level FROM regions WHERE code = ${input.regionCode}`,
    );
    if (!region) throw new BadUserInput(`no region with code "${input.regionCode}"`, { field: 'regionCode' });
    if (region.level === 'COMMUNITY') {
      throw new BadUserInput('a user scope is a city, a district or a street', { field: 'regionCode' });
    }
    let departmentId: number | null = null;
    if (input.departmentCode) {
      const [dept] = await rows<{ id: number }>(
        tx,
        sql`SELECT id::int AS id FROM departments WHERE code = ${input.departmentCode}`,
      );
      if (!dept)
        throw new BadUserInput(`no department with code "${input.departmentCode}"`, {
          field: 'departmentCode',
        });
      departmentId = dept.id;
    }
    const inserted = await rows<{ id: number }>(
      tx,
      sql`INSERT INTO users (username, password_hash, display_name, role, region_id, department_id)
          VALUES (${input.username}, ${hash}, ${input.displayName ?? input.username}, ${input.role}::user_role,
                  ${region.id}, ${departmentId})
          ON CONFLICT (username) DO NOTHING
          RETURNING id::int AS id`,
    );
    if (!inserted[0]) throw new Conflict(`a user named "${input.username}" exists`, { field: 'username' });
    await recordAdminAction(tx, {
      actorId,
      action: 'createUser',
      target: `user:${inserted[0].id}`,
      detail: {
        username: input.username,
        role: input.role,
        region: input.regionCode,
        department: input.departmentCode,
      },
    });
    return { id: inserted[0].id, username: input.username, password, generated: !input.password };
  });
}
