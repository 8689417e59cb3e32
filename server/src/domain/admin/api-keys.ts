/**
 * Open311 API keys: issued by an admin (GraphQL or CLI), shown once, stored as their sha256
 * (`hashSecret`), revoked by setting `revoked_at`. Every issue and revoke is audited.
 */
import { type Db, type Executor, hashSecret, newSecret } from '@citygrid/db';
import { apiKeys } from '@citygrid/db/schema';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../auth/actor';
import { Forbidden, NotFound, parseInput } from '../errors';
import { recordAdminAction } from './audit';

export interface ApiKeyView {
  id: number;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Who runs an admin action: an ADMIN user, or the CLI on the server itself. */
export type AdminCaller = { kind: 'user'; actor: Actor } | { kind: 'cli' };

export function requireAdmin(caller: AdminCaller): number | null {
  if (caller.kind === 'cli') return null;
  if (caller.actor.role !== 'ADMIN') throw new Forbidden('only an ADMIN may do this');
  return caller.actor.id;
}

const issueInput = z.object({ name: z.string().trim().min(1).max(200) });

const viewColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  createdAt: apiKeys.createdAt,
  revokedAt: apiKeys.revokedAt,
};

/** Issues a key; the returned `key` is the only time it is seen in the clear. */
export async function issueApiKey(
  db: Db,
  caller: AdminCaller,
  input: { name: string },
): Promise<{ apiKey: ApiKeyView; key: string }> {
  const actorId = requireAdmin(caller);
  const { name } = parseInput(issueInput, input);
  const key = newSecret();
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiKeys)
      .values({ name, keyHash: hashSecret(key), createdById: actorId })
      .returning(viewColumns);
    await recordAdminAction(tx, {
      actorId,
      action: 'issueApiKey',
      target: `api_key:${row!.id}`,
      detail: { name, via: caller.kind },
    });
    return { apiKey: row!, key };
  });
}

/** Revokes a key by id; revoking a revoked key is a no-op that still answers with the key. */
export async function revokeApiKey(db: Db, caller: AdminCaller, id: number): Promise<ApiKeyView> {
  const actorId = requireAdmin(caller);
  return db.transaction(async (tx) => {
    const [existing] = await tx.select(viewColumns).from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
    if (!existing) throw new NotFound(`no API key with id ${id}`);
    if (existing.revokedAt) return existing;
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(eq(apiKeys.id, id))
      .returning(viewColumns);
    await recordAdminAction(tx, {
      actorId,
      action: 'revokeApiKey',
      target: `api_key:${id}`,
      detail: { name: existing.name, via: caller.kind },
    });
    return row!;
  });
}

export async function listApiKeys(db: Executor, caller: AdminCaller): Promise<ApiKeyView[]> {
  requireAdmin(caller);
  return db.select(viewColumns).from(apiKeys).orderBy(desc(apiKeys.id));
}

/** The key's row if it exists and is not revoked. */
export async function findActiveApiKey(
  db: Executor,
  key: string,
): Promise<{ id: number; name: string } | undefined> {
  const [row] = await db
    .select({ id: apiKeys.id, name: apiKeys.name })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hashSecret(key)), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}
