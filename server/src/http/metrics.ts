/**
 * `/metrics` in Prometheus text: HTTP and GraphQL latencies, case reports and transitions, how
 * reports were written (alone or in batches), active alarms, the database pool, process figures,
 * and the IoT side's ingest series (its own registry, merged into the same answer).
 *
 * The domain stays free of prom-client: reports and transitions are counted from the
 * `citygrid_case` notifications the workflow sends on commit. Every instance hears every
 * instance's notifications, so these counters are cluster-wide as seen by one instance — take
 * `max` across instances, not `sum`.
 */
import { type Database, rows } from '@citygrid/db';
import { createIotMetrics } from '@citygrid/iot';
import { sql } from 'drizzle-orm';
import type { Request, RequestHandler, Response } from 'express';
import type { DefinitionNode, DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { CASE_CHANNEL } from '../domain/cases/notify';
import { reportWriteStats } from '../domain/cases/report-batch';
import { alarmReads } from '../realtime/alarm-feed';
import { caseReads } from '../realtime/case-feed';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const KNOWN_ACTIONS = [
  'REPORT',
  'FILE',
  'REJECT',
  'DISPATCH',
  'ACCEPT',
  'RETURN',
  'RESOLVE',
  'VERIFY_PASS',
  'VERIFY_FAIL',
  'REOPEN',
];
/** Operation names are chosen by clients: keep the label set bounded. */
const MAX_OPERATION_NAMES = 500;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface ServerMetricsOptions {
  database: Database;
  logger: Logger;
  /** Registries of other parts of the process (e.g. the in-process ingest workers). */
  registries?: Registry[];
}

export interface ServerMetrics {
  registry: Registry;
  /** Times every HTTP request; mount first. */
  httpMiddleware: RequestHandler;
  /** Times every GraphQL execution by operation. */
  graphqlPlugin: Plugin;
  /** `GET /metrics`. */
  handler: RequestHandler;
  /** Starts counting case notifications; resolves once listening. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createServerMetrics(options: ServerMetricsOptions): ServerMetrics {
  const { database } = options;
  const log = options.logger.child({ module: 'metrics' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'citygrid_' });
  // Without an in-process ingest side, its series still exist (at zero) so dashboards do not break.
  const others = options.registries?.length ? options.registries : [createIotMetrics().registry];

  const http = new Histogram({
    name: 'citygrid_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const graphql = new Histogram({
    name: 'citygrid_graphql_operation_duration_seconds',
    help: 'GraphQL execution latency by operation name, type and outcome (ok or error)',
    labelNames: ['operation', 'type', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const caseEvents = new Counter({
    name: 'citygrid_case_events_total',
    help: 'Case events committed (REPORT and every transition), by action, cluster-wide',
    labelNames: ['action'],
    registers: [registry],
  });
  const reports = new Counter({
    name: 'citygrid_cases_reported_total',
    help: 'Cases reported, cluster-wide',
    registers: [registry],
  });
  for (const action of KNOWN_ACTIONS) caseEvents.labels({ action }).inc(0);

  new Gauge({
    name: 'citygrid_alarms_active',
    help: 'Alarms not yet cleared, by severity and status',
    labelNames: ['severity', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const severity of ['INFO', 'WARNING', 'CRITICAL'])
        for (const status of ['ACTIVE', 'ACKNOWLEDGED']) this.labels({ severity, status }).set(0);
      try {
        // Index: alarms_status_idx (status, started_at).
        const found = await rows<{ severity: string; status: string; n: number }>(
          database.db,
          sql`SELECT severity::text AS severity, status::text AS status, count(*)::int AS n
              FROM alarms WHERE status <> 'CLEARED' GROUP BY 1, 2`,
        );
        for (const r of found) this.labels({ severity: r.severity, status: r.status }).set(r.n);
      } catch (err) {
        log.warn({ err }, 'could not count active alarms');
      }
    },
  });
  new Gauge({
    name: 'citygrid_db_pool_connections',
    help: 'Database connections of this instance by state (total, idle, waiting clients)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const pool = database.pool;
      // The embedded database is one in-process connection.
      this.labels({ state: 'total' }).set(pool ? pool.totalCount : 1);
      this.labels({ state: 'idle' }).set(pool ? pool.idleCount : 0);
      this.labels({ state: 'waiting' }).set(pool ? pool.waitingCount : 0);
    },
  });

  // Group commit of reports (domain/cases/report-batch.ts), read from this instance's writer.
  new Counter({
    name: 'citygrid_report_statements_total',
    help: 'Statements that wrote reports without photos on this instance: single (one report), batch (several), fallback (a batch statement that failed, its reports then written one by one)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const stats = reportWriteStats(database.db);
      this.reset();
      this.labels({ kind: 'single' }).inc(stats.singles);
      this.labels({ kind: 'batch' }).inc(stats.batches);
      this.labels({ kind: 'fallback' }).inc(stats.fallbacks);
    },
  });
  new Counter({
    name: 'citygrid_report_batched_total',
    help: 'Reports written by batch statements on this instance',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(reportWriteStats(database.db).batchedReports);
    },
  });

  new Counter({
    name: 'citygrid_live_case_reads_total',
    help: 'Cases read to send caseChanged events in this process: one per change, shared by its subscribers (department users read their own, not counted here)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(caseReads.count);
    },
  });

  new Counter({
    name: 'citygrid_live_alarm_reads_total',
    help: 'Alarms read to send alarmChanged events in this process: one per change, shared by its subscribers',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(alarmReads.count);
    },
  });

  const operationNames = new Set<string>();
  const operationLabel = (name: string | null | undefined): string => {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'invalid';
    if (operationNames.has(name)) return name;
    if (operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    operationNames.add(name);
    return name;
  };

  const graphqlPlugin: Plugin = {
    onExecute: ({ args }) => {
      const started = process.hrtime.bigint();
      const operation = (args.document as DocumentNode).definitions.find(
        (d: DefinitionNode) =>
          d.kind === 'OperationDefinition' && (!args.operationName || d.name?.value === args.operationName),
      );
      const type = operation?.kind === 'OperationDefinition' ? operation.operation : 'unknown';
      const name = operation?.kind === 'OperationDefinition' ? operation.name?.value : undefined;
      return {
        onExecuteDone: ({ result }) => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const failed = 'errors' in result && !!result.errors?.length;
          graphql
            .labels({
              operation: operationLabel(args.operationName ?? name),
              type,
              outcome: failed ? 'error' : 'ok',
            })
            .observe(seconds);
        },
      };
    },
  };

  const httpMiddleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      http
        .labels({ method: req.method, route: routeOf(req, res), status: String(res.statusCode) })
        .observe(seconds);
    });
    next();
  };

  const handler: RequestHandler = async (_req, res) => {
    try {
      const texts = await Promise.all([registry, ...others].map((r) => r.metrics()));
      res.type(registry.contentType).send(`${texts.map((t) => t.trimEnd()).join('\n\n')}\n`);
    } catch (err) {
      log.error({ err }, 'metrics scrape failed');
      res.status(500).type('text/plain').send('metrics unavailable\n');
    }
  };

  let unlisten: (() => Promise<void>) | undefined;
  return {
    registry,
    httpMiddleware,
    graphqlPlugin,
    handler,
    async start() {
      unlisten = await database.listen(CASE_CHANNEL, (payload) => {
        try {
          const action = String((JSON.parse(payload) as { action?: unknown }).action ?? '');
          if (!/^[A-Z_]{1,32}$/.test(action)) return;
          caseEvents.labels({ action }).inc();
          if (action === 'REPORT') reports.inc();
        } catch {
          // A payload we cannot read is not worth failing over.
        }
      });
    },
    async stop() {
      await unlisten?.();
      unlisten = undefined;
    },
  };
}

/** A bounded route label: the matched route's pattern, the mount point, or a fixed word. */
function routeOf(req: Request, res: Response): string {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof route === 'string') return `${req.baseUrl}${route}`;
  if (req.baseUrl) return req.baseUrl;
  if (req.originalUrl.startsWith('/graphql')) return '/graphql';
  return res.statusCode === 404 ? 'unmatched' : req.method === 'GET' ? 'static' : 'other';
}
