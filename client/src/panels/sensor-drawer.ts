/** The sensor drawer: the device, its latest values and a 24-hour chart of its first metric. */
import { h } from '../dom';
import type { Request } from '../graphql/client';
import { sensorDetail, sensorReadings } from '../graphql/operations';
import { formatDateTime, t } from '../i18n';
import { renderSeries } from './trends';

export class SensorDrawer {
  readonly element = h('aside', {
    class: 'drawer',
    role: 'dialog',
    'data-testid': 'sensor-drawer',
    hidden: true,
  });
  private loadToken = 0;

  constructor(
    private readonly request: Request,
    private readonly onClose: () => void,
  ) {}

  async open(id: string): Promise<void> {
    const token = ++this.loadToken;
    this.element.hidden = false;
    this.element.dataset.sensorId = id;
    this.element.replaceChildren(this.header(`#${id}`), h('div', { class: 'spinner' }));
    try {
      const sensor = await sensorDetail(this.request, id);
      const metrics = Object.keys(sensor.latest ?? {});
      const metric = metrics[0];
      const to = new Date();
      const buckets = metric
        ? await sensorReadings(this.request, id, metric, new Date(to.getTime() - 86_400_000), to)
        : [];
      if (token !== this.loadToken) return;
      const list = h('dl', { class: 'cg-popup__rows' });
      const facts: [string, string][] = [
        [t('popup.code'), sensor.deviceId],
        [t('popup.status'), sensor.status],
        [t('sensor.lastSeen'), sensor.lastSeenAt ? formatDateTime(sensor.lastSeenAt) : '—'],
        ...metrics.map((m): [string, string] => [
          m,
          `${sensor.latest[m]!.value} ${sensor.unit ?? ''}`.trim(),
        ]),
      ];
      for (const [label, value] of facts) list.append(h('dt', {}, label), h('dd', {}, value));
      const chart = metric
        ? renderSeries(
            buckets.map((b) => ({ at: new Date(b.at).getTime() / 1000, value: b.avg })),
            300,
            metric,
          )
        : h('p', { class: 'empty' }, t('sensor.noReadings'));
      this.element.replaceChildren(
        this.header(sensor.name),
        h(
          'div',
          { class: 'drawer__body' },
          list,
          h('h3', { class: 'panel__title' }, `${t('sensor.readings')}${metric ? ` · ${metric}` : ''}`),
          chart,
        ),
      );
    } catch (error) {
      if (token === this.loadToken)
        this.element.replaceChildren(
          this.header(`#${id}`),
          h('p', { class: 'login__error' }, (error as Error).message),
        );
    }
  }

  close(): void {
    this.loadToken++;
    this.element.hidden = true;
    this.onClose();
  }

  private header(title: string): HTMLElement {
    return h(
      'header',
      { class: 'drawer__head' },
      h('span', { class: 'cg-popup__kind' }, t('sensor.title')),
      h('strong', { class: 'drawer__title' }, title),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn--ghost drawer__close',
          'aria-label': t('drawer.close'),
          onclick: () => this.close(),
        },
        '✕',
      ),
    );
  }
}
