/**
 * The left panel: layer switches, the case-status legend (which doubles as the status filter),
 * the heatmap period, the rest of the legend, and the 30-day trend chart.
 */
import { h } from '../dom';
import type { CaseStatus } from '../graphql/operations';
import { type MessageKey, t } from '../i18n';
import {
  CASE_STATUSES,
  CHOROPLETH,
  OVERDUE_COLOR,
  SENSOR_COLORS,
  SENSOR_STATES,
  STATUS_COLORS,
  URGENT_COLOR,
  WORKER_COLOR,
} from '../map/palette';
import type { LayerGroup } from '../map/style';

export interface LayerPanelState {
  visibleStatuses: ReadonlySet<CaseStatus>;
  visibleLayers: ReadonlySet<LayerGroup>;
  /** The layer switches this user is offered (all of them unless given). */
  offeredLayers?: ReadonlySet<LayerGroup>;
  /** Whether the grid cells are painted by their open and overdue cases (true unless given). */
  cellCounts?: boolean;
  heatDays: number;
}

export interface LayerPanelActions {
  onToggleStatus: (status: CaseStatus) => void;
  onToggleLayer: (group: LayerGroup) => void;
  onHeatDays: (days: number) => void;
}

const LAYER_TOGGLES: LayerGroup[] = ['districts', 'streets', 'grid', 'cases', 'sensors', 'workers', 'heat'];

export function renderLayerPanel(
  state: LayerPanelState,
  actions: LayerPanelActions,
  trend: HTMLElement,
): HTMLElement {
  const layers = h(
    'div',
    { class: 'layer-toggles', role: 'group', 'aria-label': t('panel.layers') },
    ...LAYER_TOGGLES.filter((group) => state.offeredLayers?.has(group) ?? true).map((group) => {
      const on = state.visibleLayers.has(group);
      return h(
        'button',
        {
          type: 'button',
          class: `chip${on ? ' chip--on' : ''}`,
          'aria-pressed': String(on),
          'data-layer': group,
          onclick: () => actions.onToggleLayer(group),
        },
        t(`layer.${group}` as MessageKey),
      );
    }),
  );

  const statuses = h(
    'ul',
    { class: 'status-legend', 'data-testid': 'status-legend' },
    ...CASE_STATUSES.map((status) => {
      const on = state.visibleStatuses.has(status);
      return h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: `status-row${on ? '' : ' status-row--off'}`,
            'aria-pressed': String(on),
            'data-status': status,
            onclick: () => actions.onToggleStatus(status),
          },
          h('span', { class: 'status-row__swatch', style: `--swatch:${STATUS_COLORS[status]}` }),
          h('span', { class: 'status-row__label' }, t(`status.${status}`)),
        ),
      );
    }),
  );

  const heat = h(
    'label',
    { class: 'field field--inline' },
    h('span', { class: 'field__label' }, t('heat.period')),
    h(
      'select',
      {
        'data-testid': 'heat-period',
        onchange: (event: Event) => actions.onHeatDays(Number((event.target as HTMLSelectElement).value)),
      },
      ...[1, 7, 30].map((days) =>
        h(
          'option',
          { value: String(days), selected: days === state.heatDays },
          t(`heat.days${days}` as MessageKey),
        ),
      ),
    ),
  );

  const swatch = (color: string, label: string, shape = 'dot') =>
    h('li', {}, h('span', { class: `legend__${shape}`, style: `--swatch:${color}` }), label);
  const legend = h(
    'ul',
    { class: 'legend', 'data-testid': 'legend' },
    ...(state.cellCounts === false
      ? []
      : [
          swatch(CHOROPLETH.none, t('legend.none'), 'box'),
          swatch(CHOROPLETH.few, t('legend.few'), 'box'),
          swatch(CHOROPLETH.many, t('legend.many'), 'box'),
          swatch(CHOROPLETH.overdue, t('legend.overdue'), 'box'),
        ]),
    swatch(OVERDUE_COLOR, t('legend.overdueCase'), 'ring'),
    swatch(URGENT_COLOR, t('legend.urgent'), 'ring'),
    ...SENSOR_STATES.map((s) => swatch(SENSOR_COLORS[s], `${t('layer.sensors')} · ${t(`sensor.${s}`)}`)),
    swatch(WORKER_COLOR, t('legend.worker')),
  );

  return h(
    'aside',
    { class: 'sidebar', 'data-testid': 'overview' },
    section(t('panel.layers'), layers),
    section(t('panel.byStatus'), statuses),
    section(
      t('legend.title'),
      h('div', {}, legend, (state.offeredLayers?.has('heat') ?? true) ? heat : null),
    ),
    section(t('trend.title'), trend),
  );
}

export function section(title: string, body: HTMLElement, extra?: HTMLElement): HTMLElement {
  return h('section', { class: 'panel' }, h('h2', { class: 'panel__title' }, title, extra ?? null), body);
}
