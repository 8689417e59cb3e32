/** Keeps `worker_tracks` to its retention: a periodic, batched delete of old track points. */
import type { Executor } from '@citygrid/db';
import type { Logger } from 'pino';
import { pruneWorkerTracks } from './positions';

export interface TrackPruner {
  /** Runs one pass now (also used by tests); resolves with the number of points deleted. */
  runOnce(now?: Date): Promise<number>;
  stop(): Promise<void>;
}

export function startTrackPruner(options: {
  db: Executor;
  logger: Logger;
  retentionSeconds: number;
  /** Seconds between passes; null runs none (then only `runOnce`). */
  intervalSeconds: number | null;
}): TrackPruner {
  const log = options.logger.child({ module: 'track-pruner' });
  let running: Promise<number> | undefined;
  const runOnce = (now?: Date) => {
    running ??= pruneWorkerTracks(options.db, options.retentionSeconds, now).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer =
    options.intervalSeconds === null
      ? undefined
      : setInterval(() => {
          runOnce()
            .then((n) => n > 0 && log.info({ deleted: n }, 'pruned old worker track points'))
            .catch((err) => log.warn({ err }, 'could not prune worker tracks'));
        }, options.intervalSeconds * 1000);
  timer?.unref();
  return {
    runOnce,
    async stop() {
      if (timer) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
