/** Signed, expiring session tokens (HS256): `{ sub, role, regionId }`. */
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { Unauthenticated } from '../errors';
import { type Actor, ROLES } from './actor';

const claimsSchema = z.object({
  sub: z.string().regex(/^\d+$/),
  role: z.enum(ROLES),
  regionId: z.number().int().positive(),
});

export interface TokenIssuer {
  issue(actor: Actor): Promise<string>;
  /** The actor a token names; a bad, tampered or expired token throws Unauthenticated. */
  verify(token: string): Promise<Actor>;
}

export function tokenIssuer(secret: string, ttlSeconds: number): TokenIssuer {
  const key = new TextEncoder().encode(secret);
  return {
    issue: (actor) =>
      new SignJWT({ role: actor.role, regionId: actor.regionId })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(String(actor.id))
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(key),
    async verify(token) {
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'] }));
      } catch (error) {
        const expired = error instanceof joseErrors.JWTExpired;
        throw new Unauthenticated(expired ? 'token expired; sign in again' : 'invalid token');
      }
      const claims = claimsSchema.safeParse(payload);
      if (!claims.success) throw new Unauthenticated('invalid token');
      return { id: Number(claims.data.sub), role: claims.data.role, regionId: claims.data.regionId };
    },
  };
}

/**
 * The actor named by an `Authorization` header: none without a header, `Unauthenticated` for
 * anything but a valid `Bearer <token>`. GraphQL and the HTTP routes share this one rule.
 */
export async function actorFromAuthorization(
  header: string | null | undefined,
  tokens: TokenIssuer,
): Promise<Actor | undefined> {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new Unauthenticated('Authorization must be "Bearer <token>"');
  return tokens.verify(match[1]!);
}
