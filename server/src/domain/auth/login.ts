/** Password sign-in. Unknown user, inactive user and wrong password look the same to the caller. */
import { type Db, hashPassword, verifyPassword } from '@citygrid/db';
import { users } from '@citygrid/db/schema';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { parseInput, Unauthenticated } from '../errors';
import type { Actor } from './actor';
import type { LoginRateLimiter } from './rate-limit';
import type { TokenIssuer } from './tokens';

const loginInput = z.object({
  username: z.string().trim().min(1).max(100),
  password: z.string().min(1).max(1000),
});

const BAD_CREDENTIALS = 'wrong username or password';

/** Hash checked when the user does not exist, so both failures take the same time. */
let dummyHash: Promise<string> | undefined;

export interface LoginDeps {
  db: Db;
  tokens: TokenIssuer;
  limiter: LoginRateLimiter;
}

export async function login(
  deps: LoginDeps,
  input: { username: string; password: string },
  clientAddress: string,
): Promise<{ token: string; actor: Actor }> {
  const { username, password } = parseInput(loginInput, input);
  const key = `${username.toLowerCase()}|${clientAddress}`;
  // Counted before the password is checked: parallel guesses cannot outrun the limit.
  const wait = await deps.limiter.attempt(key);
  if (wait > 0) {
    throw new Unauthenticated(`too many failed sign-ins; try again in ${wait} s`, {
      retryAfterSeconds: wait,
    });
  }
  const [user] = await deps.db
    .select({
      id: users.id,
      role: users.role,
      regionId: users.regionId,
      hash: users.passwordHash,
      active: users.active,
    })
    .from(users)
    .where(eq(users.username, username))
    .limit(1);
  dummyHash ??= hashPassword('citygrid-timing-equaliser');
  const ok = await verifyPassword(user?.hash ?? (await dummyHash), password);
  if (!user || !ok || !user.active) throw new Unauthenticated(BAD_CREDENTIALS);
  await deps.limiter.succeeded(key);
  const actor: Actor = { id: user.id, role: user.role, regionId: user.regionId };
  return { token: await deps.tokens.issue(actor), actor };
}
