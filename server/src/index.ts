/** The server package's public surface: the app factory, config and the domain entry points. */
export { type App, type BuildAppOptions, buildApp } from './app';
export { type CliIo, runCli } from './cli/commands';
export { type Config, ConfigError, loadConfig } from './config';
export { issueApiKey, revokeApiKey } from './domain/admin/api-keys';
export { recentAdminActions, recordAdminAction } from './domain/admin/audit';
export { type ImportReport, importPlaces } from './domain/admin/import-places';
export { adminActor, readSensorCsv, registerSensors } from './domain/admin/register-sensors';
export { splitCommunity } from './domain/admin/split-grid';
export { createUser } from './domain/admin/users';
export type { Actor } from './domain/auth/actor';
/** For the test that the likely-duplicate query uses its geography index. */
export { explainPossibleDuplicates } from './domain/cases/duplicates';
export * from './domain/errors';
export {
  bd09ToWgs84,
  type Crs,
  fromWgs84,
  gcj02ToWgs84,
  toWgs84,
  wgs84ToBd09,
  wgs84ToGcj02,
} from './domain/geo/crs';
/** Vector tiles, for the tile tests and benchmark (both encoders on one database). */
export {
  boxTouchesTile,
  parseTileNotice,
  startTileCaching,
  TileCache,
  type TileCaching,
} from './domain/tiles/cache';
export { cellStatsBody } from './domain/tiles/cell-stats';
export {
  CASE_POINTS_MAX_PER_TILE,
  CASE_POINTS_MIN_ZOOM,
  renderTile,
  TILE_LAYERS,
  type TileFilter,
} from './domain/tiles/tiles';
export { printedSchema } from './graphql/print';
export type { ReadinessCheck } from './http/health';
export { createLogger, type Logger } from './logger';
