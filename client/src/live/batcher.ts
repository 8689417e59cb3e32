/**
 * Applies live events in small batches: events queue up and are handed over a few times a second,
 * at most `maxPerFlush` at a time, keyed so that only the latest event per key survives (a worker
 * that moved ten times in a second is drawn once). A burst of thousands never freezes the map.
 */
export class LiveBatcher<T> {
  private readonly pending = new Map<string, T>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly keyOf: (event: T) => string,
    private readonly apply: (batch: T[]) => void,
    private readonly options: { intervalMs: number; maxPerFlush: number },
  ) {
    this.timer = setInterval(() => this.flush(), options.intervalMs);
  }

  push(event: T): void {
    const key = this.keyOf(event);
    // Re-insert so the newest event of a key moves to the back of the queue.
    this.pending.delete(key);
    this.pending.set(key, event);
  }

  get size(): number {
    return this.pending.size;
  }

  flush(): void {
    if (this.pending.size === 0) return;
    const batch: T[] = [];
    for (const [key, event] of this.pending) {
      batch.push(event);
      this.pending.delete(key);
      if (batch.length >= this.options.maxPerFlush) break;
    }
    this.apply(batch);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}
