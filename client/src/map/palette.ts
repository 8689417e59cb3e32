/** Colours of the command-center map, shared by the map layers, the legend and the panels. */
import type { CaseStatus } from '../graphql/operations';

/** Case statuses in workflow order, as the legend lists them. */
export const CASE_STATUSES: readonly CaseStatus[] = [
  'REPORTED',
  'FILED',
  'DISPATCHED',
  'IN_PROGRESS',
  'RESOLVED',
  'CLOSED',
  'REJECTED',
];

/** Statuses still in the loop (not closed, not rejected). */
export const OPEN_STATUSES: ReadonlySet<CaseStatus> = new Set([
  'REPORTED',
  'FILED',
  'DISPATCHED',
  'IN_PROGRESS',
  'RESOLVED',
]);

export const STATUS_COLORS: Record<CaseStatus, string> = {
  REPORTED: '#fb923c',
  FILED: '#facc15',
  DISPATCHED: '#38bdf8',
  IN_PROGRESS: '#a78bfa',
  RESOLVED: '#2dd4bf',
  CLOSED: '#4ade80',
  REJECTED: '#94a3b8',
};

export const URGENT_COLOR = '#f43f5e';
export const OVERDUE_COLOR = '#ef4444';

/** Sensor states as the sensor tiles name them. */
export const SENSOR_STATES = ['normal', 'alarm', 'offline', 'unknown'] as const;
export type SensorState = (typeof SENSOR_STATES)[number];
export const SENSOR_COLORS: Record<SensorState, string> = {
  normal: '#22c55e',
  alarm: '#f43f5e',
  offline: '#64748b',
  unknown: '#cbd5e1',
};

export const WORKER_COLOR = '#e879f9';

/** Grid-cell choropleth: no open case, some open, many open, any overdue. */
export const CHOROPLETH = {
  none: '#1e3a5f',
  few: '#b45309',
  many: '#ea580c',
  overdue: '#b91c1c',
} as const;

/** Fill tints for districts, picked by the district's index: cool hues that stay clear on navy. */
export const DISTRICT_TINTS = ['#0ea5e9', '#8b5cf6', '#14b8a6', '#6366f1', '#06b6d4', '#d946ef'];

export const MAP_COLORS = {
  background: '#070d19',
  districtOutline: '#7dd3fc',
  streetOutline: '#94a3b8',
  gridFill: '#1e3a5f',
  gridOutline: '#3b5b85',
  gridHover: '#38bdf8',
  selection: '#ffffff',
} as const;
