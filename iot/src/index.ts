/** The telemetry pipeline: topics and payloads, ingestion, alarm rules, presence, broker glue. */
export * from './broker/dynsec';
export * from './broker/embedded';
export * from './config';
export * from './ingest/devices';
export * from './ingest/ingester';
export * from './ingest/store';
export * from './ingest/write-batch';
export * from './kinds';
export * from './metrics';
export * from './presence';
export * from './rules/alarm-store';
export * from './rules/apply';
export * from './rules/evaluate';
export * from './sql';
export * from './topics';
