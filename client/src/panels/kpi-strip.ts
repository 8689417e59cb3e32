/** The KPI strip: reported, filed and closed today, on-time closure rate, active alarms, workers on duty. */
import { h } from '../dom';
import { formatNumber, type MessageKey, t } from '../i18n';

export interface Kpis {
  reported: number | null;
  filed: number | null;
  closed: number | null;
  /** closed on time ÷ due, in [0, 1]; null when nothing was due. */
  onTimeRate: number | null;
  activeAlarms: number | null;
  workersOnDuty: number | null;
}

const ORDER: [keyof Kpis, MessageKey][] = [
  ['reported', 'kpi.reported'],
  ['filed', 'kpi.filed'],
  ['closed', 'kpi.closed'],
  ['onTimeRate', 'kpi.onTime'],
  ['activeAlarms', 'kpi.alarms'],
  ['workersOnDuty', 'kpi.workers'],
];

export function renderKpiStrip(kpis: Kpis): HTMLElement {
  return h(
    'section',
    { class: 'kpi-strip', 'data-testid': 'kpi-strip', 'aria-label': t('panel.overview') },
    ...ORDER.map(([key, label]) => {
      const value = kpis[key];
      const text =
        value === null ? '—' : key === 'onTimeRate' ? `${(value * 100).toFixed(1)}%` : formatNumber(value);
      return h(
        'div',
        { class: `kpi kpi--${key}${key === 'activeAlarms' && value ? ' kpi--alert' : ''}`, 'data-kpi': key },
        h('span', { class: 'kpi__value' }, text),
        h('span', { class: 'kpi__label' }, t(label)),
      );
    }),
  );
}
