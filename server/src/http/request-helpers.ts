/** Small pieces the HTTP routes (tiles, exports, uploads) share: the signed-in actor and list params. */
import type { Request } from 'express';
import type { Actor } from '../domain/auth/actor';
import { actorFromAuthorization, type TokenIssuer } from '../domain/auth/tokens';
import { Unauthenticated } from '../domain/errors';

/** The request's actor; a route that needs one refuses a request without a token. */
export async function requireActor(req: Request, tokens: TokenIssuer): Promise<Actor> {
  const actor = await actorFromAuthorization(req.headers.authorization, tokens);
  if (!actor) throw new Unauthenticated('sign in first: send Authorization: Bearer <token>');
  return actor;
}

/** A query parameter given as `a,b` or repeated, as a list of non-empty strings (or undefined). */
export function listParam(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
  const cleaned = items.map((s) => s.trim()).filter((s) => s.length > 0);
  return cleaned.length > 0 ? cleaned : undefined;
}
