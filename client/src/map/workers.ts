/** MapLibre's worker pool: where its script lives, how many, and starting it before the first map. */
import * as maplibregl from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';

let started = false;

/**
 * Points MapLibre at the bundled worker (without it the map fails with "Worker failed to load") and
 * starts the pool while the user is still signing in, so the map is not waiting for it afterwards.
 */
export function startMapWorkers(): void {
  if (started) return;
  started = true;
  maplibregl.setWorkerUrl(workerUrl);
  // MapLibre takes half the cores; on a two-core machine that is one worker for four sources.
  if ((navigator.hardwareConcurrency || 2) <= 4) maplibregl.setWorkerCount(2);
  maplibregl.prewarm();
}
