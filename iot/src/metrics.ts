/** Prometheus metrics of the IoT side, in a registry the server merges into `/metrics`. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface IotMetrics {
  registry: Registry;
  messages: Counter<'result'>;
  rejected: Counter<'reason'>;
  readings: Counter<'outcome'>;
  batches: Counter<'path'>;
  batchSeconds: Histogram;
  unacked: Gauge;
  alarms: Counter<'transition'>;
}

export function createIotMetrics(registry = new Registry()): IotMetrics {
  return {
    registry,
    messages: new Counter({
      name: 'citygrid_ingest_messages_total',
      help: 'Telemetry messages handled, by result (stored or rejected)',
      labelNames: ['result'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'citygrid_ingest_rejected_total',
      help: 'Telemetry messages refused, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    readings: new Counter({
      name: 'citygrid_ingest_readings_total',
      help: 'Readings written, by outcome (inserted, or duplicate and skipped)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    batches: new Counter({
      name: 'citygrid_ingest_batches_total',
      help: 'Batches committed, by path (direct: fresh readings copied straight in; staged: all deduplicated; fallback: a straight copy met a stored reading and the batch was written again staged)',
      labelNames: ['path'],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'citygrid_ingest_batch_seconds',
      help: 'Time to write and commit one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    unacked: new Gauge({
      name: 'citygrid_ingest_unacked_messages',
      help: 'Messages received but not yet acknowledged to the broker',
      registers: [registry],
    }),
    alarms: new Counter({
      name: 'citygrid_alarm_transitions_total',
      help: 'Alarm transitions written (raised, repeated, cleared)',
      labelNames: ['transition'],
      registers: [registry],
    }),
  };
}
