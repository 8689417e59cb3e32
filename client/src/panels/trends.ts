/** The 30-day trend chart (reported and closed per day), drawn with uPlot (a ~50 KB chart library). */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from '../dom';
import { t } from '../i18n';
import { STATUS_COLORS } from '../map/palette';

export interface TrendDay {
  /** Start of the day, epoch seconds. */
  day: number;
  reported: number;
  closed: number;
}

/** Draws into a fresh element; `width` in CSS pixels. */
export function renderTrend(days: readonly TrendDay[], width: number): HTMLElement {
  const root = h('div', { class: 'trend', 'data-testid': 'trend-chart', 'data-days': String(days.length) });
  if (days.length === 0) return root;
  const data: uPlot.AlignedData = [
    days.map((d) => d.day),
    days.map((d) => d.reported),
    days.map((d) => d.closed),
  ];
  new uPlot(
    {
      width,
      height: 150,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      axes: [
        { stroke: '#94a3b8', grid: { stroke: 'rgba(148,163,184,0.1)' }, ticks: { show: false } },
        { stroke: '#94a3b8', grid: { stroke: 'rgba(148,163,184,0.1)' }, ticks: { show: false }, size: 36 },
      ],
      series: [
        {},
        { label: t('trend.reported'), stroke: STATUS_COLORS.REPORTED, width: 2 },
        { label: t('trend.closed'), stroke: STATUS_COLORS.CLOSED, width: 2 },
      ],
    },
    data,
    root,
  );
  return root;
}

export function renderSeries(
  points: { at: number; value: number }[],
  width: number,
  label: string,
): HTMLElement {
  const root = h('div', {
    class: 'trend',
    'data-testid': 'readings-chart',
    'data-points': String(points.length),
  });
  if (points.length === 0) return root;
  new uPlot(
    {
      width,
      height: 140,
      axes: [
        { stroke: '#94a3b8', grid: { stroke: 'rgba(148,163,184,0.1)' } },
        { stroke: '#94a3b8', grid: { stroke: 'rgba(148,163,184,0.1)' }, size: 40 },
      ],
      series: [{}, { label, stroke: '#38bdf8', width: 2 }],
    },
    [points.map((p) => p.at), points.map((p) => p.value)],
    root,
  );
  return root;
}
