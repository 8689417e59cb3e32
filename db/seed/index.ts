/** The demo city seed (to be written). */
import type { Db } from '../src/client';

export interface SeedSummary {
  regions: number;
  gridCells: number;
  cases: number;
  sensors: number;
}

export async function seedDemoCity(_db: Db, _options: { seed?: number; now?: Date } = {}): Promise<SeedSummary> {
  throw new Error('seedDemoCity: not written yet');
}
