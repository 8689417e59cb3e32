/** The data layer: schema, connections, migrations and spatial helpers. */
export * from './client';
export * from './migrate';
export * from './prepared';
export * as schema from './schema';
export * from './secrets';
export * from './spatial';
