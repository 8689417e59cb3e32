/**
 * Remembers tokens already verified, until they expire. A field app or the command center sends
 * the same token with every request, and checking its HMAC through WebCrypto cost more CPU than
 * the rest of a report's own work. Tokens are immutable and carry their expiry, and nothing
 * revokes one before it (sign-out is the client dropping it), so a verified token stays valid
 * exactly until its `exp` — which the cache keeps to.
 */
import { decodeJwt } from 'jose';
import type { Actor } from './actor';
import type { TokenIssuer } from './tokens';

/** Distinct live tokens remembered per instance; past it the oldest are forgotten first. */
const MAX_TOKENS = 10_000;

export function withVerifiedTokenCache(issuer: TokenIssuer, now: () => number = Date.now): TokenIssuer {
  const verified = new Map<string, { actor: Actor; expiresAtMs: number }>();
  return {
    issue: (actor) => issuer.issue(actor),
    async verify(token) {
      const hit = verified.get(token);
      if (hit) {
        if (now() < hit.expiresAtMs) return { ...hit.actor };
        verified.delete(token);
      }
      // Throws Unauthenticated for a bad or expired token, which is never remembered.
      const actor = await issuer.verify(token);
      const { exp } = decodeJwt(token);
      if (typeof exp === 'number') {
        if (verified.size >= MAX_TOKENS) verified.delete(verified.keys().next().value!);
        verified.set(token, { actor: { ...actor }, expiresAtMs: exp * 1000 });
      }
      return actor;
    },
  };
}
