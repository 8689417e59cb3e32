/** Pure alarm-rule evaluation, table-driven: raise, hold, hysteresis, active hours, overrides. */
import { evaluateRule, isActiveAt, type Rule, type RuleState, rulesFor } from '@citygrid/iot';
import { describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 10, 27, 4, 0, 0); // 12:00 in Shanghai
const s = (seconds: number) => T0 + seconds * 1000;

const rule = (over: Partial<Rule> = {}): Rule => ({
  id: 1,
  name: 'waterlogging',
  sensorKind: 'water_level',
  sensorId: null,
  metric: 'level',
  condition: 'ABOVE',
  threshold: 0.3,
  thresholdHigh: null,
  clearThreshold: 0.2,
  clearThresholdHigh: null,
  holdSeconds: 60,
  severity: 'CRITICAL',
  activeFrom: null,
  activeTo: null,
  opensCase: true,
  caseCategoryId: null,
  ...over,
});

const closed: RuleState = { breachSince: null, lastTs: null, open: false };
const types = (r: ReturnType<typeof evaluateRule>) =>
  r.transitions.map((t) => `${t.type}@${(t.at - T0) / 1000}`);

describe('evaluateRule', () => {
  it.each<[string, Partial<Rule>, RuleState, [number, number][], string[], Partial<RuleState>]>([
    [
      'no breach, nothing',
      {},
      closed,
      [
        [0, 0.1],
        [30, 0.25],
      ],
      [],
      { breachSince: null, open: false },
    ],
    [
      'hold not yet met',
      {},
      closed,
      [
        [0, 0.4],
        [30, 0.5],
      ],
      [],
      { breachSince: s(0), open: false },
    ],
    [
      'hold met after 60 s of reading time',
      {},
      closed,
      [
        [0, 0.4],
        [30, 0.5],
        [60, 0.45],
      ],
      ['raise@60'],
      { open: true },
    ],
    [
      'a dip breaks the hold',
      {},
      closed,
      [
        [0, 0.4],
        [30, 0.25],
        [60, 0.45],
        [90, 0.5],
      ],
      [],
      { breachSince: s(60) },
    ],
    ['hold 0 raises at once', { holdSeconds: 0 }, closed, [[0, 0.31]], ['raise@0'], { open: true }],
    ['threshold itself is not a breach', { holdSeconds: 0 }, closed, [[0, 0.3]], [], { open: false }],
    [
      'open: repeats while breaching, stays in the hysteresis band, clears below 0.2',
      {},
      { breachSince: s(-60), lastTs: s(-1), open: true },
      [
        [0, 0.5],
        [10, 0.25],
        [20, 0.35],
        [30, 0.2],
        [40, 0.19],
      ],
      ['repeat@0', 'repeat@20', 'clear@40'],
      { open: false, breachSince: null },
    ],
    [
      'readings out of order are evaluated in time order',
      { holdSeconds: 0 },
      closed,
      [
        [20, 0.1],
        [0, 0.5],
        [10, 0.6],
      ],
      ['raise@0', 'repeat@10', 'clear@20'],
      { open: false, lastTs: s(20) },
    ],
    [
      'late readings (not newer than lastTs) are skipped',
      { holdSeconds: 0 },
      { breachSince: null, lastTs: s(100), open: false },
      [
        [50, 0.9],
        [100, 0.9],
      ],
      [],
      { lastTs: s(100), open: false },
    ],
    [
      'BELOW with clear above',
      { condition: 'BELOW', threshold: 20, clearThreshold: 30, holdSeconds: 0 },
      closed,
      [
        [0, 19],
        [10, 25],
        [20, 31],
      ],
      ['raise@0', 'clear@20'],
      { open: false },
    ],
    [
      'OUTSIDE a band',
      {
        condition: 'OUTSIDE',
        threshold: 20,
        thresholdHigh: 200,
        clearThreshold: 25,
        clearThresholdHigh: 190,
        holdSeconds: 0,
      },
      closed,
      [
        [0, 100],
        [10, 210],
        [20, 195],
        [30, 150],
        [40, 10],
      ],
      ['raise@10', 'clear@30', 'raise@40'],
      { open: true },
    ],
  ])('%s', (_name, over, state, readings, expected, after) => {
    const r = evaluateRule(
      rule(over),
      state,
      readings.map(([sec, value]) => ({ ts: s(sec), value })),
    );
    expect(types(r)).toEqual(expected);
    expect(r.state).toMatchObject(after);
  });

  it('is idempotent: replaying the same readings changes nothing', () => {
    const readings = [0, 30, 60, 90].map((sec) => ({ ts: s(sec), value: 0.5 }));
    const first = evaluateRule(rule(), closed, readings);
    const again = evaluateRule(rule(), first.state, readings);
    expect(again.transitions).toEqual([]);
    expect(again.state).toEqual(first.state);
  });
});

describe('active hours (Asia/Shanghai)', () => {
  const night = { activeFrom: '22:00:00', activeTo: '06:00:00' };
  const at = (h: number, m = 0) => Date.UTC(2026, 10, 27, h - 8, m); // local h:m
  it.each([
    [21, 59, false],
    [22, 0, true],
    [23, 30, true],
    [3, 0, true],
    [5, 59, true],
    [6, 0, false],
    [12, 0, false],
  ])('%i:%i → %s', (h, m, expected) => {
    expect(isActiveAt(night, at(h, m))).toBe(expected);
  });

  it('outside active hours a breach does not raise, and an open alarm clears', () => {
    const noise = rule({ metric: 'laeq', threshold: 70, clearThreshold: null, holdSeconds: 0, ...night });
    const r = evaluateRule(noise, closed, [
      { ts: at(21, 0), value: 80 },
      { ts: at(22, 30), value: 80 },
      { ts: at(6, 30) + 86_400_000, value: 80 },
    ]);
    expect(r.transitions.map((t) => t.type)).toEqual(['raise', 'clear']);
  });
});

describe('rulesFor', () => {
  const kindRule = rule({ id: 1 });
  const other = rule({ id: 2, metric: 'other' });
  const override = rule({ id: 3, sensorId: 42, threshold: 0.5 });
  it('a per-sensor override replaces the kind rule for that sensor and metric only', () => {
    const all = [kindRule, other, override];
    expect(rulesFor(all, { id: 42, kind: 'water_level' }, 'level').map((r) => r.id)).toEqual([3]);
    expect(rulesFor(all, { id: 7, kind: 'water_level' }, 'level').map((r) => r.id)).toEqual([1]);
    expect(rulesFor(all, { id: 42, kind: 'water_level' }, 'other').map((r) => r.id)).toEqual([2]);
    expect(rulesFor(all, { id: 42, kind: 'noise' }, 'level').map((r) => r.id)).toEqual([3]);
  });
});
