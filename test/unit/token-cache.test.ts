import { describe, expect, it } from 'vitest';
import { withVerifiedTokenCache } from '../../server/src/domain/auth/token-cache';
import { tokenIssuer } from '../../server/src/domain/auth/tokens';
import { Unauthenticated } from '../../server/src/domain/errors';

const SECRET = 'token-cache-test-secret-0123456789abcdef0123456789';
const actor = { id: 7, role: 'WORKER' as const, regionId: 3 };

describe('withVerifiedTokenCache', () => {
  it('answers a remembered token with the same actor, and a copy the caller may change', async () => {
    const tokens = withVerifiedTokenCache(tokenIssuer(SECRET, 3600));
    const token = await tokens.issue(actor);
    const first = await tokens.verify(token);
    first.regionId = 999;
    expect(await tokens.verify(token)).toEqual(actor);
  });

  it('refuses a remembered token once its exp has passed', async () => {
    const tokens = withVerifiedTokenCache(tokenIssuer(SECRET, 1));
    const token = await tokens.issue(actor);
    expect(await tokens.verify(token)).toEqual(actor);
    // Wait out the token's own exp (at most a second away), then it must be refused, not remembered.
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
    await expect(tokens.verify(token)).rejects.toThrow(/expired/);
  });

  it('never remembers a bad token', async () => {
    const tokens = withVerifiedTokenCache(tokenIssuer(SECRET, 3600));
    const token = await tokens.issue(actor);
    const tampered = `${token.slice(0, -2)}xx`;
    await expect(tokens.verify(tampered)).rejects.toThrow(Unauthenticated);
    await expect(tokens.verify(tampered)).rejects.toThrow(Unauthenticated);
    const other = withVerifiedTokenCache(tokenIssuer(`${SECRET}-other`, 3600));
    await expect(other.verify(token)).rejects.toThrow(Unauthenticated);
  });
});
