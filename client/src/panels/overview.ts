/**
 * The side panels: on the left the key figures, the case-status legend (which doubles as the
 * status filter) and the layer switches; on the right the most frequent categories and the latest
 * reports.
 */
import { h } from '../dom';
import type { CaseStatus, CaseSummary } from '../graphql/operations';
import { formatNumber, formatShortDateTime, localName, t } from '../i18n';
import { CASE_STATUSES, OPEN_STATUSES, STATUS_COLORS } from '../map/palette';
import type { LayerGroup } from '../map/style';

export interface OverviewState {
  cases: CaseSummary[];
  visibleStatuses: Set<CaseStatus>;
  visibleLayers: Set<LayerGroup>;
}

export interface OverviewActions {
  onToggleStatus: (status: CaseStatus) => void;
  onToggleLayer: (group: LayerGroup) => void;
  onFocusCase: (id: string) => void;
}

const LAYER_TOGGLES: LayerGroup[] = ['districts', 'streets', 'grid', 'cases'];
const RECENT_COUNT = 8;
const TOP_CATEGORIES = 5;

export function renderOverview(
  state: OverviewState,
  actions: OverviewActions,
): { situation: HTMLElement; activity: HTMLElement } {
  const { cases } = state;
  const counts = new Map<CaseStatus, number>(CASE_STATUSES.map((s) => [s, 0]));
  let open = 0;
  let urgentOpen = 0;
  let today = 0;
  const startOfDay = new Date();
  startOfDay.setHours(0, 0, 0, 0);
  const categoryCounts = new Map<string, { name: string; count: number }>();
  for (const c of cases) {
    counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
    if (OPEN_STATUSES.has(c.status)) {
      open++;
      if (c.priority === 'URGENT') urgentOpen++;
    }
    if (new Date(c.reportedAt) >= startOfDay) today++;
    const category = categoryCounts.get(c.category.code) ?? { name: localName(c.category), count: 0 };
    category.count++;
    categoryCounts.set(c.category.code, category);
  }
  const maxCount = Math.max(1, ...counts.values());

  const kpis = h(
    'div',
    { class: 'kpis' },
    kpi(t('panel.casesTotal'), cases.length, 'total'),
    kpi(t('panel.casesOpen'), open, 'open'),
    kpi(t('panel.casesUrgent'), urgentOpen, 'urgent'),
    kpi(t('panel.casesToday'), today, 'today'),
  );

  const legend = h(
    'ul',
    { class: 'status-legend', 'data-testid': 'status-legend' },
    ...CASE_STATUSES.map((status) => {
      const count = counts.get(status) ?? 0;
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
          h('span', { class: 'status-row__count' }, formatNumber(count)),
          h(
            'span',
            { class: 'status-row__bar', 'aria-hidden': 'true' },
            h('span', { style: `width:${(100 * count) / maxCount}%;background:${STATUS_COLORS[status]}` }),
          ),
        ),
      );
    }),
  );

  const layers = h(
    'div',
    { class: 'layer-toggles' },
    ...LAYER_TOGGLES.map((group) => {
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
        t(`layer.${group}`),
      );
    }),
  );

  const top = [...categoryCounts.values()].sort((a, b) => b.count - a.count).slice(0, TOP_CATEGORIES);
  const topMax = Math.max(1, ...top.map((c) => c.count));
  const categories = h(
    'ol',
    { class: 'top-categories' },
    ...top.map((c) =>
      h(
        'li',
        {},
        h('span', { class: 'top-categories__name' }, c.name),
        h('span', { class: 'top-categories__count' }, formatNumber(c.count)),
        h('span', { class: 'top-categories__bar', style: `width:${(100 * c.count) / topMax}%` }),
      ),
    ),
  );

  const recent = [...cases]
    .sort((a, b) => (a.reportedAt < b.reportedAt ? 1 : a.reportedAt > b.reportedAt ? -1 : 0))
    .slice(0, RECENT_COUNT);
  const recentList =
    recent.length === 0
      ? h('p', { class: 'empty' }, t('panel.empty'))
      : h(
          'ul',
          { class: 'recent', 'data-testid': 'recent-cases' },
          ...recent.map((c) =>
            h(
              'li',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: 'recent__item',
                  'data-case-id': c.id,
                  onclick: () => actions.onFocusCase(c.id),
                },
                h('span', { class: 'recent__dot', style: `--swatch:${STATUS_COLORS[c.status]}` }),
                h(
                  'span',
                  { class: 'recent__main' },
                  h(
                    'span',
                    { class: 'recent__title' },
                    h('span', { class: 'recent__name' }, localName(c.category)),
                    c.priority === 'URGENT'
                      ? h('span', { class: 'tag tag--urgent' }, t('priority.URGENT'))
                      : null,
                  ),
                  h('span', { class: 'recent__meta' }, `${formatShortDateTime(c.reportedAt)} · ${c.code}`),
                ),
                h('span', { class: 'recent__status' }, t(`status.${c.status}`)),
              ),
            ),
          ),
        );

  return {
    situation: h(
      'aside',
      { class: 'sidebar', 'data-testid': 'overview' },
      section(t('panel.overview'), kpis),
      section(t('panel.byStatus'), legend),
      section(t('panel.layers'), layers),
    ),
    activity: h(
      'aside',
      { class: 'sidebar', 'data-testid': 'activity' },
      section(t('panel.topCategories'), categories),
      section(t('panel.recent'), recentList),
    ),
  };
}

function section(title: string, body: HTMLElement): HTMLElement {
  return h('section', { class: 'panel' }, h('h2', { class: 'panel__title' }, title), body);
}

function kpi(label: string, value: number, kind: string): HTMLElement {
  return h(
    'div',
    { class: `kpi kpi--${kind}`, 'data-kpi': kind },
    h('span', { class: 'kpi__value' }, formatNumber(value)),
    h('span', { class: 'kpi__label' }, label),
  );
}
