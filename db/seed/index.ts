/**
 * The demo city: a synthetic Tongren (Guizhou) with its place hierarchy and grid cells,
 * departments and categories, demo users and grid workers, ~2,000 historical cases with full
 * event trails, and a sensor fleet. Deterministic: the same `seed` and `now` give the same rows.
 */
import { sql } from 'drizzle-orm';
import { type Db, rows } from '../src/client';
import { seedCaseHistory } from './cases';
import { seedApiKey, seedCatalog } from './catalog';
import { seedPeople } from './people';
import { loadCityMap, seedPlaces } from './places';
import { createRng, fork } from './random';
import { seedSensors } from './sensors';

export interface SeedOptions {
  /** PRNG seed; the default gives the documented demo city. */
  seed?: number;
  /** The end of the 90-day case history; the server passes the current time. */
  now?: Date;
  /** How many historical cases (default 2,000). */
  cases?: number;
  /** Called after each part with its duration, for the CLI's timing report. */
  onPhase?: (phase: string, ms: number) => void;
}

export interface SeedSummary {
  regions: number;
  gridCells: number;
  cases: number;
  sensors: number;
  events: number;
  users: number;
  categories: number;
  departments: number;
}

export const DEFAULT_SEED = 20_261_127;
/** A fixed reference time (a Friday, 10:00 in Tongren) so tests and docs see the same history. */
export const DEFAULT_NOW = new Date('2026-11-27T02:00:00.000Z');

/** Seeds an empty, migrated database in one transaction. */
export async function seedDemoCity(db: Db, options: SeedOptions = {}): Promise<SeedSummary> {
  const seed = options.seed ?? DEFAULT_SEED;
  const now = options.now ?? DEFAULT_NOW;
  const root = createRng(seed);
  // One stream per part, so that a change in one part leaves the others' rows as they were.
  const rngPlaces = fork(root);
  const rngPeople = fork(root);
  const rngCases = fork(root);
  const rngSensors = fork(root);

  let started = performance.now();
  const phase = <T>(name: string, value: T): T => {
    const ended = performance.now();
    options.onPhase?.(name, ended - started);
    started = ended;
    return value;
  };

  return db.transaction(async (tx) => {
    const places = phase('places', await seedPlaces(tx, rngPlaces));
    const catalog = phase('catalog', await seedCatalog(tx, places.cityId));
    const map = phase('city map', await loadCityMap(tx));
    const people = phase('people', await seedPeople(tx, rngPeople, map, catalog, now));
    await seedApiKey(tx, people.adminId);
    const count = options.cases ?? 2000;
    const history = phase('cases', await seedCaseHistory(tx, rngCases, { map, catalog, people, now, count }));
    const sensors = phase('sensors', await seedSensors(tx, rngSensors));
    const [users] = await rows<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM users`);
    return {
      regions: places.regions,
      gridCells: places.gridCells,
      cases: history.cases,
      events: history.events,
      sensors,
      users: users?.n ?? 0,
      categories: catalog.categories.size,
      departments: catalog.departments.size,
    };
  });
}
