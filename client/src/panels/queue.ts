/**
 * The case queue: open cases in the scope, filtered by status, category and overdue, sorted by
 * time left on the current stage's deadline (overdue first, in red). Rows open the case drawer.
 */
import { h } from '../dom';
import type { CaseStatus, CategoryItem, QueueCase } from '../graphql/operations';
import { formatShortDateTime, localName, t } from '../i18n';
import { STATUS_COLORS } from '../map/palette';

export const QUEUE_STATUSES: readonly CaseStatus[] = [
  'REPORTED',
  'FILED',
  'DISPATCHED',
  'IN_PROGRESS',
  'RESOLVED',
];

export interface QueueState {
  cases: readonly QueueCase[];
  status: CaseStatus | null;
  category: string | null;
  overdueOnly: boolean;
  categories: readonly CategoryItem[];
  selectedId: string | null;
}

export interface QueueActions {
  onStatus: (status: CaseStatus | null) => void;
  onCategory: (code: string | null) => void;
  onOverdueOnly: (on: boolean) => void;
  onOpen: (id: string) => void;
}

/** Time left in minutes; cases without a running clock go last. */
export function sortByTimeLeft(cases: readonly QueueCase[]): QueueCase[] {
  const key = (c: QueueCase) => (c.overdue ? -1e9 + (c.remainingMinutes ?? 0) : (c.remainingMinutes ?? 1e9));
  return [...cases].sort((a, b) => key(a) - key(b) || (a.reportedAt < b.reportedAt ? -1 : 1));
}

export function formatMinutes(minutes: number): string {
  const m = Math.abs(minutes);
  if (m < 60) return `${m}m`;
  if (m < 60 * 48) return `${Math.floor(m / 60)}h${m % 60 ? ` ${m % 60}m` : ''}`;
  return `${Math.floor(m / 1440)}d ${Math.floor((m % 1440) / 60)}h`;
}

export function renderQueue(state: QueueState, actions: QueueActions): HTMLElement {
  const statusSelect = h(
    'select',
    {
      'data-testid': 'queue-status',
      'aria-label': t('popup.status'),
      onchange: (e: Event) =>
        actions.onStatus(((e.target as HTMLSelectElement).value || null) as CaseStatus | null),
    },
    h('option', { value: '', selected: state.status === null }, t('queue.allStatus')),
    ...QUEUE_STATUSES.map((s) => h('option', { value: s, selected: state.status === s }, t(`status.${s}`))),
  );
  const categorySelect = h(
    'select',
    {
      'data-testid': 'queue-category',
      'aria-label': t('popup.category'),
      onchange: (e: Event) => actions.onCategory((e.target as HTMLSelectElement).value || null),
    },
    h('option', { value: '', selected: state.category === null }, t('queue.category')),
    ...state.categories.map((c) =>
      h('option', { value: c.code, selected: state.category === c.code }, `${c.code} ${localName(c)}`),
    ),
  );
  const overdue = h(
    'label',
    { class: 'check' },
    h('input', {
      type: 'checkbox',
      'data-testid': 'queue-overdue',
      checked: state.overdueOnly,
      onchange: (e: Event) => actions.onOverdueOnly((e.target as HTMLInputElement).checked),
    }),
    t('queue.overdueOnly'),
  );
  const rows = sortByTimeLeft(state.cases);
  const list =
    rows.length === 0
      ? h('p', { class: 'empty' }, t('queue.empty'))
      : h(
          'ul',
          { class: 'queue', 'data-testid': 'case-queue' },
          ...rows.map((c) => {
            const left =
              c.remainingMinutes === null
                ? t('queue.noClock')
                : c.overdue || c.remainingMinutes < 0
                  ? `${t('queue.overdueBy')} ${formatMinutes(c.remainingMinutes)}`
                  : `${t('queue.left')} ${formatMinutes(c.remainingMinutes)}`;
            return h(
              'li',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: `queue__item${c.overdue ? ' queue__item--overdue' : ''}${state.selectedId === c.id ? ' queue__item--selected' : ''}`,
                  'data-case-id': c.id,
                  'data-status': c.status,
                  'data-category': c.category.code,
                  'data-overdue': String(c.overdue),
                  onclick: () => actions.onOpen(c.id),
                },
                h('span', { class: 'recent__dot', style: `--swatch:${STATUS_COLORS[c.status]}` }),
                h(
                  'span',
                  { class: 'recent__main' },
                  h(
                    'span',
                    { class: 'recent__title' },
                    h('span', { class: 'recent__name' }, localName(c.category)),
                    c.priority !== 'NORMAL'
                      ? h(
                          'span',
                          { class: `tag tag--${c.priority.toLowerCase()}` },
                          t(`priority.${c.priority}`),
                        )
                      : null,
                  ),
                  h(
                    'span',
                    { class: 'recent__meta' },
                    `${c.code} · ${formatShortDateTime(c.reportedAt)}${c.grid ? ` · ${c.grid.name}` : ''}`,
                  ),
                ),
                h(
                  'span',
                  { class: 'queue__side' },
                  h('span', { class: 'recent__status' }, t(`status.${c.status}`)),
                  h('span', { class: `queue__left${c.overdue ? ' queue__left--overdue' : ''}` }, left),
                ),
              ),
            );
          }),
        );
  return h(
    'div',
    { class: 'queue-panel' },
    h('div', { class: 'queue__filters' }, statusSelect, categorySelect, overdue),
    list,
  );
}
