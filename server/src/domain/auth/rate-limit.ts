/**
 * Sign-in limiter: at most `maxAttempts` sign-ins per key (username + client address) within a
 * window, counted in `login_attempts` so every server instance counts against the same limit.
 * An attempt is counted before its password is checked, in one statement, so parallel guesses
 * cannot all pass the check while the first are still being verified; a success clears its key.
 * Times are the database's, the one clock all instances share.
 */
import { type Executor, rows } from '@citygrid/db';
import { sql } from 'drizzle-orm';

/** Every so many counted attempts, an instance removes the rows whose window has passed. */
const PRUNE_EVERY = 1000;

export class LoginRateLimiter {
  private sincePrune = 0;

  constructor(
    private readonly db: Executor,
    private readonly maxAttempts: number,
    private readonly windowSeconds: number,
  ) {}

  /**
   * Counts an attempt for `key`: 0 when it may go ahead, else the seconds until the window ends
   * (the attempt is refused, and counted all the same).
   */
  async attempt(key: string): Promise<number> {
    const [row] = await rows<{ attempts: number; wait: number }>(
      this.db,
      sql`INSERT INTO login_attempts AS a (key, attempts, reset_at)
          VALUES (${key}, 1, now() + make_interval(secs => ${this.windowSeconds}))
          ON CONFLICT (key) DO UPDATE SET
            attempts = CASE WHEN a.reset_at <= now() THEN 1 ELSE a.attempts + 1 END,
            reset_at = CASE WHEN a.reset_at <= now() THEN excluded.reset_at ELSE a.reset_at END
          RETURNING attempts, ceil(extract(epoch FROM reset_at - now()))::int AS wait`,
    );
    if (++this.sincePrune >= PRUNE_EVERY) {
      this.sincePrune = 0;
      await rows(this.db, sql`DELETE FROM login_attempts WHERE reset_at <= now()`);
    }
    return row && row.attempts > this.maxAttempts ? Math.max(1, row.wait) : 0;
  }

  /** A successful sign-in: the key starts afresh. */
  async succeeded(key: string): Promise<void> {
    await rows(this.db, sql`DELETE FROM login_attempts WHERE key = ${key}`);
  }
}
