/**
 * Alarm-rule evaluation as pure functions: a rule, its saved state and a sensor's readings in,
 * the new state and the alarm transitions out. Time is the readings' own time, never arrival.
 */

export type Condition = 'ABOVE' | 'BELOW' | 'OUTSIDE';
export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';

export interface Rule {
  id: number;
  name: string;
  sensorKind: string;
  /** Set for a per-sensor override, which replaces the kind's rules for that sensor and metric. */
  sensorId: number | null;
  metric: string;
  condition: Condition;
  /** ABOVE/BELOW: the threshold; OUTSIDE: the band's low edge. */
  threshold: number;
  /** OUTSIDE: the band's high edge. */
  thresholdHigh: number | null;
  /** Hysteresis: clear only past these; null means the raise thresholds. */
  clearThreshold: number | null;
  clearThresholdHigh: number | null;
  holdSeconds: number;
  severity: Severity;
  /** `HH:MM[:SS]` local (Asia/Shanghai) time; both null means always active. */
  activeFrom: string | null;
  activeTo: string | null;
  opensCase: boolean;
  caseCategoryId: number | null;
}

export interface Reading {
  /** Epoch ms. */
  ts: number;
  value: number;
}

export interface RuleState {
  /** Epoch ms since when the raise condition has held without a break, or null. */
  breachSince: number | null;
  /** The newest reading time this state has seen; older (late) readings do not move it. */
  lastTs: number | null;
  /** Whether an alarm of this rule is open (ACTIVE or ACKNOWLEDGED) for the sensor. */
  open: boolean;
}

export type Transition =
  | { type: 'raise'; at: number; value: number }
  | { type: 'repeat'; at: number; value: number }
  | { type: 'clear'; at: number; value: number };

/** China has kept UTC+8 all year since 1991, so Asia/Shanghai is a fixed offset. */
const SHANGHAI_OFFSET_MINUTES = 8 * 60;

/** Minutes since local midnight in Asia/Shanghai. */
export function shanghaiMinuteOfDay(ts: number): number {
  const minutes = Math.floor(ts / 60_000) + SHANGHAI_OFFSET_MINUTES;
  return ((minutes % 1440) + 1440) % 1440;
}

function parseClock(value: string): number {
  const [h = '0', m = '0'] = value.split(':');
  return Number(h) * 60 + Number(m);
}

/** Whether the rule applies at this time: [from, to) in local time, wrapping past midnight. */
export function isActiveAt(rule: Pick<Rule, 'activeFrom' | 'activeTo'>, ts: number): boolean {
  if (!rule.activeFrom || !rule.activeTo) return true;
  const from = parseClock(rule.activeFrom);
  const to = parseClock(rule.activeTo);
  const m = shanghaiMinuteOfDay(ts);
  if (from === to) return true;
  return from < to ? m >= from && m < to : m >= from || m < to;
}

/** The raise condition. */
export function breaches(rule: Rule, v: number): boolean {
  switch (rule.condition) {
    case 'ABOVE':
      return v > rule.threshold;
    case 'BELOW':
      return v < rule.threshold;
    case 'OUTSIDE':
      return v < rule.threshold || v > (rule.thresholdHigh ?? Number.POSITIVE_INFINITY);
  }
}

/** The clear condition (hysteresis): strictly back past the clear thresholds. */
export function clears(rule: Rule, v: number): boolean {
  switch (rule.condition) {
    case 'ABOVE':
      return v < (rule.clearThreshold ?? rule.threshold);
    case 'BELOW':
      return v > (rule.clearThreshold ?? rule.threshold);
    case 'OUTSIDE': {
      const low = rule.clearThreshold ?? rule.threshold;
      const high = rule.clearThresholdHigh ?? rule.thresholdHigh ?? Number.POSITIVE_INFINITY;
      return v > low && v < high;
    }
  }
}

/** The worse of two values for the rule's peak: the one farther into the alarm. */
export function worse(rule: Rule, a: number | null, b: number): number {
  if (a === null) return b;
  switch (rule.condition) {
    case 'ABOVE':
      return Math.max(a, b);
    case 'BELOW':
      return Math.min(a, b);
    case 'OUTSIDE': {
      const dev = (v: number) =>
        v < rule.threshold ? rule.threshold - v : v - (rule.thresholdHigh ?? Number.POSITIVE_INFINITY);
      return dev(b) > dev(a) ? b : a;
    }
  }
}

/**
 * Walks one sensor's readings for one rule in time order. A reading not newer than the state's
 * `lastTs` is a late one and is skipped, so replaying a batch changes nothing.
 *
 * - closed: a breaching reading starts (or continues) the hold; once it has lasted `holdSeconds`
 *   of reading time, the alarm is raised. Any non-breaching reading breaks the hold.
 * - open: a breaching reading is a repeat (count, peak); a reading past the clear threshold, or
 *   outside the rule's active hours, clears it; readings in between (the hysteresis band) keep it.
 */
export function evaluateRule(
  rule: Rule,
  state: RuleState,
  readings: readonly Reading[],
): { state: RuleState; transitions: Transition[] } {
  const sorted = [...readings].sort((a, b) => a.ts - b.ts);
  let { breachSince, lastTs, open } = state;
  const transitions: Transition[] = [];
  for (const r of sorted) {
    if (lastTs !== null && r.ts <= lastTs) continue;
    lastTs = r.ts;
    const active = isActiveAt(rule, r.ts);
    const breach = active && breaches(rule, r.value);
    breachSince = breach ? (breachSince ?? r.ts) : null;
    if (open) {
      if (breach) transitions.push({ type: 'repeat', at: r.ts, value: r.value });
      else if (!active || clears(rule, r.value)) {
        transitions.push({ type: 'clear', at: r.ts, value: r.value });
        open = false;
      }
    } else if (breach && breachSince !== null && r.ts - breachSince >= rule.holdSeconds * 1000) {
      transitions.push({ type: 'raise', at: r.ts, value: r.value });
      open = true;
    }
  }
  return { state: { breachSince, lastTs, open }, transitions };
}

/**
 * Picks the rules that apply to one sensor's metric: its own overrides if it has any for that
 * metric, else the kind's rules.
 */
export function rulesFor(
  rules: readonly Rule[],
  sensor: { id: number; kind: string },
  metric: string,
): Rule[] {
  const overrides = rules.filter((r) => r.sensorId === sensor.id && r.metric === metric);
  if (overrides.length > 0) return overrides;
  return rules.filter((r) => r.sensorId === null && r.sensorKind === sensor.kind && r.metric === metric);
}
