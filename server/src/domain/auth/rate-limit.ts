/**
 * Failed-login limiter: at most `maxFailures` per key (username + client address) within a
 * window. In memory per instance — enough to stop online guessing against one server; several
 * instances each allow their own share.
 */
export class LoginRateLimiter {
  private readonly failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until the key may try again, or 0 if it may try now. */
  retryAfterSeconds(key: string): number {
    const entry = this.failures.get(key);
    if (!entry) return 0;
    const t = this.now();
    if (entry.resetAt <= t) {
      this.failures.delete(key);
      return 0;
    }
    return entry.count >= this.maxFailures ? Math.ceil((entry.resetAt - t) / 1000) : 0;
  }

  recordFailure(key: string): void {
    const t = this.now();
    const entry = this.failures.get(key);
    if (!entry || entry.resetAt <= t) this.failures.set(key, { count: 1, resetAt: t + this.windowMs });
    else entry.count += 1;
    if (this.failures.size > 100_000) this.prune(t);
  }

  recordSuccess(key: string): void {
    this.failures.delete(key);
  }

  private prune(t: number) {
    for (const [key, entry] of this.failures) if (entry.resetAt <= t) this.failures.delete(key);
  }
}
