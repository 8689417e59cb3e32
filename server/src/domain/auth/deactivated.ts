/**
 * Deactivated users lose access at once, not when their tokens run out. Each instance keeps the
 * ids of inactive users in memory (a handful, read from `users`), so checking a request costs a
 * set lookup. `setUserActive` sends a notice on `citygrid_user` from inside its transaction; every
 * instance reloads the set when it arrives, and also every `refreshMs`, which bounds what a missed
 * notice (a dropped listening connection) can cost.
 */
import type { Database, Executor } from '@citygrid/db';
import { rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { Unauthenticated } from '../errors';
import type { TokenIssuer } from './tokens';

export const USER_CHANNEL = 'citygrid_user';

/** Sent inside the transaction that changes a user's `active`, so it is delivered on commit only. */
export async function notifyUserChanged(tx: Executor, userId: number): Promise<void> {
  await tx.execute(sql`SELECT pg_notify(${USER_CHANNEL}, ${JSON.stringify({ userId })})`);
}

export interface DeactivatedUsers {
  has(userId: number): boolean;
  /** Reads the set again; resolves once a read started after this call has finished. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export async function startDeactivatedUsers(
  database: Database,
  logger: Logger,
  refreshMs = 60_000,
): Promise<DeactivatedUsers> {
  let inactive = new Set<number>();
  let running: Promise<void> | undefined;
  let again: Promise<void> | undefined;

  const load = async () => {
    const found = await rows<{ id: number }>(
      database.db,
      sql`SELECT id::int AS id FROM users WHERE NOT active`,
    );
    inactive = new Set(found.map((r) => r.id));
  };
  // A read already under way may have started before the change it is asked for; queue one more
  // behind it (one, however many ask meanwhile).
  const refresh = (): Promise<void> => {
    if (!running) {
      running = load().finally(() => {
        running = undefined;
      });
      return running;
    }
    again ??= running
      .catch(() => {})
      .then(() => {
        again = undefined;
        return refresh();
      });
    return again;
  };
  const refreshLogged = () =>
    void refresh().catch((error: unknown) => logger.warn({ err: error }, 'could not read deactivated users'));

  // Listen first, then read: a change committed in between is seen by one or the other.
  const unlisten = await database.listen(USER_CHANNEL, refreshLogged);
  await refresh();
  const timer = setInterval(refreshLogged, refreshMs);
  timer.unref();

  return {
    has: (userId) => inactive.has(userId),
    refresh,
    async close() {
      clearInterval(timer);
      await unlisten();
      await running?.catch(() => {});
    },
  };
}

/** Tokens of deactivated users stop working, even those verified and remembered before. */
export function refusingDeactivated(
  issuer: TokenIssuer,
  deactivated: Pick<DeactivatedUsers, 'has'>,
): TokenIssuer {
  return {
    issue: (actor) => issuer.issue(actor),
    async verify(token) {
      const actor = await issuer.verify(token);
      if (deactivated.has(actor.id)) throw new Unauthenticated('this account has been deactivated');
      return actor;
    },
  };
}
