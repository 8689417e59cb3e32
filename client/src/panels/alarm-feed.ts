/** The alarm feed: open alarms newest first, with acknowledge for commanders; a row opens the sensor. */
import { h } from '../dom';
import type { AlarmItem } from '../graphql/operations';
import { formatShortDateTime, t } from '../i18n';

export interface AlarmFeedActions {
  canAcknowledge: boolean;
  onAcknowledge: (id: string) => void;
  onOpenSensor: (id: string, location: { lon: number; lat: number }) => void;
}

export function renderAlarmFeed(alarms: readonly AlarmItem[], actions: AlarmFeedActions): HTMLElement {
  const open = alarms.filter((a) => a.status !== 'CLEARED');
  if (open.length === 0) return h('p', { class: 'empty', 'data-testid': 'alarm-feed' }, t('alarms.empty'));
  return h(
    'ul',
    { class: 'alarms', 'data-testid': 'alarm-feed' },
    ...open.map((a) =>
      h(
        'li',
        { class: `alarm alarm--${a.severity.toLowerCase()}`, 'data-alarm-id': a.id, 'data-status': a.status },
        h(
          'button',
          {
            type: 'button',
            class: 'alarm__main',
            onclick: () => actions.onOpenSensor(a.sensor.id, a.sensor.location),
          },
          h('span', { class: 'tag' }, t(`severity.${a.severity}`)),
          h('span', { class: 'alarm__name' }, `${a.sensor.name} · ${a.metric ?? a.kind}`),
          h(
            'span',
            { class: 'recent__meta' },
            `${a.sensor.deviceId} · ${formatShortDateTime(a.startedAt)}${a.peakValue !== null ? ` · ${a.peakValue}` : ''}`,
          ),
        ),
        a.status === 'ACTIVE' && actions.canAcknowledge
          ? h(
              'button',
              { type: 'button', class: 'btn btn--small', onclick: () => actions.onAcknowledge(a.id) },
              t('alarms.ack'),
            )
          : h('span', { class: 'alarm__acked' }, a.status === 'ACKNOWLEDGED' ? t('alarms.acked') : ''),
      ),
    ),
  );
}
