/** Applies the alarm rules to a committed-to-be batch of readings, inside the batch's transaction. */
import type { Sql } from '../sql';
import { clearAlarm, openAlarmId, type Repeat, raiseAlarm, recordRepeats } from './alarm-store';
import { evaluateRule, type Reading, type Rule, type RuleState, rulesFor, worse } from './evaluate';

export interface RuleReading {
  sensorId: number;
  kind: string;
  metric: string;
  ts: number;
  value: number;
}

export interface RuleOutcome {
  raised: number[];
  cleared: number[];
  repeats: number;
}

interface RuleRow {
  id: number;
  name: string;
  sensor_kind: string;
  sensor_id: number | null;
  metric: string;
  condition: Rule['condition'];
  threshold: number;
  threshold_high: number | null;
  clear_threshold: number | null;
  clear_threshold_high: number | null;
  hold_seconds: number;
  severity: Rule['severity'];
  active_from: string | null;
  active_to: string | null;
  opens_case: boolean;
  case_category_id: number | null;
}

/** The enabled rules, reloaded at most every `ttlMs` so edits take effect without a restart. */
export class RuleBook {
  private rules: Rule[] = [];
  private metrics = new Set<string>();
  private loadedAt = 0;

  constructor(
    private readonly sql: Sql,
    private readonly ttlMs = 30_000,
  ) {}

  async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.loadedAt < this.ttlMs) return;
    const rows = await this.sql.query<RuleRow>(
      `SELECT id::float8 AS id, name, sensor_kind, sensor_id::float8 AS sensor_id, metric, condition,
              threshold, threshold_high, clear_threshold, clear_threshold_high, hold_seconds, severity,
              active_from::text AS active_from, active_to::text AS active_to, opens_case,
              case_category_id::float8 AS case_category_id
       FROM alarm_rules WHERE enabled ORDER BY id`,
    );
    this.rules = rows.map((r) => ({
      id: r.id,
      name: r.name,
      sensorKind: r.sensor_kind,
      sensorId: r.sensor_id,
      metric: r.metric,
      condition: r.condition,
      threshold: r.threshold,
      thresholdHigh: r.threshold_high,
      clearThreshold: r.clear_threshold,
      clearThresholdHigh: r.clear_threshold_high,
      holdSeconds: r.hold_seconds,
      severity: r.severity,
      activeFrom: r.active_from,
      activeTo: r.active_to,
      opensCase: r.opens_case,
      caseCategoryId: r.case_category_id,
    }));
    this.metrics = new Set(this.rules.map((r) => r.metric));
    this.loadedAt = Date.now();
  }

  /** Whether any rule watches this metric (cheap filter before grouping). */
  watches(metric: string): boolean {
    return this.metrics.has(metric);
  }

  for(sensorId: number, kind: string, metric: string): Rule[] {
    return rulesFor(this.rules, { id: sensorId, kind }, metric);
  }
}

/** A map keyed by two numbers (sensor, rule). */
class PairMap<V> {
  private readonly outer = new Map<number, Map<number, V>>();

  get(a: number, b: number): V | undefined {
    return this.outer.get(a)?.get(b);
  }

  set(a: number, b: number, value: V): void {
    let inner = this.outer.get(a);
    if (!inner) {
      inner = new Map();
      this.outer.set(a, inner);
    }
    inner.set(b, value);
  }
}

interface Group {
  rule: Rule;
  sensorId: number;
  readings: Reading[];
}

/**
 * Evaluates the rules over the batch's new readings: loads the saved state of every
 * (sensor, rule) pair the batch touches in one query, evaluates in memory, and writes back only
 * what changed. Locks are taken in (sensor, rule) order so concurrent workers cannot deadlock.
 */
export async function applyRules(
  tx: Sql,
  book: RuleBook,
  readings: readonly RuleReading[],
): Promise<RuleOutcome> {
  const outcome: RuleOutcome = { raised: [], cleared: [], repeats: 0 };
  // Keyed by sensor, then rule: no key strings to build per reading.
  const groups = new PairMap<Group>();
  const list: Group[] = [];
  for (const r of readings) {
    if (!book.watches(r.metric)) continue;
    for (const rule of book.for(r.sensorId, r.kind, r.metric)) {
      let g = groups.get(r.sensorId, rule.id);
      if (!g) {
        g = { rule, sensorId: r.sensorId, readings: [] };
        groups.set(r.sensorId, rule.id, g);
        list.push(g);
      }
      g.readings.push({ ts: r.ts, value: r.value });
    }
  }
  if (list.length === 0) return outcome;
  list.sort((a, b) => a.sensorId - b.sensorId || a.rule.id - b.rule.id);
  // Only the pairs with a saved state or an open alarm come back; the others start from nothing
  // (most sensors, most of the time: a row for each would be parsed for nothing).
  const saved = await tx.query<{
    sensor_id: number;
    rule_id: number;
    breach_since: number | null;
    last_ts: number | null;
    alarm_id: number | null;
  }>(
    `SELECT k.sensor_id::float8 AS sensor_id, k.rule_id::float8 AS rule_id,
            (extract(epoch FROM s.breach_since) * 1000)::float8 AS breach_since,
            (extract(epoch FROM s.last_ts) * 1000)::float8 AS last_ts,
            a.id::float8 AS alarm_id
     FROM json_to_recordset($1::json) AS k(sensor_id bigint, rule_id bigint)
     LEFT JOIN alarm_rule_state s ON s.sensor_id = k.sensor_id AND s.rule_id = k.rule_id
     -- Spelled like alarms_one_open_key (sensor_id, coalesce(rule_id, 0), kind) WHERE status <> 'CLEARED',
     -- so the lookup is an index probe however many alarms have accumulated.
     LEFT JOIN alarms a ON a.sensor_id = k.sensor_id AND coalesce(a.rule_id, 0) = k.rule_id
                       AND a.kind = 'THRESHOLD' AND a.status <> 'CLEARED'
     WHERE s.sensor_id IS NOT NULL OR a.id IS NOT NULL`,
    [JSON.stringify(list.map((g) => ({ sensor_id: g.sensorId, rule_id: g.rule.id })))],
  );
  const savedByKey = new PairMap<(typeof saved)[number]>();
  for (const row of saved) savedByKey.set(row.sensor_id, row.rule_id, row);

  const stateWrites: { sensor_id: number; rule_id: number; breach_since: number | null; last_ts: number }[] =
    [];
  const repeats: Repeat[] = [];
  for (const g of list) {
    const s = savedByKey.get(g.sensorId, g.rule.id);
    let alarmId = s?.alarm_id ?? undefined;
    const before: RuleState = {
      breachSince: s?.breach_since ?? null,
      lastTs: s?.last_ts ?? null,
      open: alarmId !== undefined,
    };
    const { state, transitions } = evaluateRule(g.rule, before, g.readings);
    if (state.lastTs === null) continue;
    if (transitions.length > 0 || state.breachSince !== before.breachSince) {
      stateWrites.push({
        sensor_id: g.sensorId,
        rule_id: g.rule.id,
        breach_since: state.breachSince,
        last_ts: state.lastTs,
      });
    }
    let repeat: Repeat | undefined;
    const flushRepeat = () => {
      if (repeat) repeats.push(repeat);
      repeat = undefined;
    };
    for (const t of transitions) {
      if (t.type === 'raise') {
        flushRepeat();
        const id = await raiseAlarm(tx, {
          sensorId: g.sensorId,
          ruleId: g.rule.id,
          kind: 'THRESHOLD',
          metric: g.rule.metric,
          severity: g.rule.severity,
          at: t.at,
          value: t.value,
          opensCase: g.rule.opensCase,
          caseCategoryId: g.rule.caseCategoryId,
        });
        if (id !== undefined) {
          alarmId = id;
          outcome.raised.push(id);
        } else {
          // Another worker opened it a moment ago: this raise is a repeat of that alarm.
          alarmId = await openAlarmId(tx, g.sensorId, g.rule.id, 'THRESHOLD');
          if (alarmId !== undefined) repeat = newRepeat(g.rule, alarmId, t.value);
        }
      } else if (t.type === 'repeat' && alarmId !== undefined) {
        outcome.repeats++;
        if (!repeat) repeat = newRepeat(g.rule, alarmId, t.value);
        else {
          repeat.count++;
          repeat.peak = worse(g.rule, repeat.peak, t.value);
          repeat.last = t.value;
        }
      } else if (t.type === 'clear' && alarmId !== undefined) {
        flushRepeat();
        if (await clearAlarm(tx, alarmId, t.at, t.value)) outcome.cleared.push(alarmId);
        alarmId = undefined;
      }
    }
    flushRepeat();
  }
  await recordRepeats(tx, repeats);
  if (stateWrites.length > 0) {
    await tx.query(
      `INSERT INTO alarm_rule_state (sensor_id, rule_id, breach_since, last_ts)
       SELECT sensor_id, rule_id,
              to_timestamp(0) + breach_since * interval '1 millisecond',
              to_timestamp(0) + last_ts * interval '1 millisecond'
       FROM json_to_recordset($1::json) AS k(sensor_id bigint, rule_id bigint, breach_since float8, last_ts float8)
       ORDER BY sensor_id, rule_id
       ON CONFLICT (sensor_id, rule_id) DO UPDATE
         SET breach_since = excluded.breach_since, last_ts = excluded.last_ts`,
      [JSON.stringify(stateWrites)],
    );
  }
  return outcome;
}

function newRepeat(rule: Rule, alarmId: number, value: number): Repeat {
  return {
    alarmId,
    count: 1,
    peak: value,
    last: value,
    direction: rule.condition === 'ABOVE' ? 'max' : rule.condition === 'BELOW' ? 'min' : 'abs',
  };
}
