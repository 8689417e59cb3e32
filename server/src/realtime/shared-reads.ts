/**
 * Reads made for live notices, shared by the subscribers of an instance: the fan-out hands every
 * subscriber the same notice object, so the first to get to a notice reads (after the change has
 * committed, as every later one would) and the others take that answer. Without it each event cost
 * one read per subscriber — a command center's worth of screens times the change rate.
 */
export interface SharedReads<N extends object> {
  /** What `read` gives for `notice`, read once however many subscribers ask. */
  read<T>(notice: N, read: () => Promise<T>): Promise<T>;
  /** Reads made so far (for /metrics and tests). */
  readonly count: number;
}

export function createSharedReads<N extends object>(): SharedReads<N> {
  const reads = new WeakMap<N, Promise<unknown>>();
  let count = 0;
  return {
    read<T>(notice: N, read: () => Promise<T>): Promise<T> {
      let found = reads.get(notice) as Promise<T> | undefined;
      if (!found) {
        count += 1;
        found = read();
        reads.set(notice, found);
      }
      return found;
    },
    get count() {
      return count;
    },
  };
}
