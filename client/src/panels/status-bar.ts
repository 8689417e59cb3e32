/** The bottom strip: what is loaded, and the coordinates under the cursor. */
import { h } from '../dom';
import { formatNumber, t } from '../i18n';

export interface LoadedCounts {
  districts: number;
  streets: number;
  /** From the choropleth's counts: absent until they arrive, and for users not shown them. */
  gridCells?: number;
  cases?: number;
}

export function renderStatusBar(counts: LoadedCounts | null): {
  element: HTMLElement;
  setPointer: (p: { lon: number; lat: number } | null) => void;
} {
  const pointer = h('span', { class: 'statusbar__pointer' });
  const item = (n: number, label: string) =>
    h('span', { class: 'statusbar__item' }, h('b', {}, formatNumber(n)), ` ${label}`);
  const element = h(
    'footer',
    { class: 'statusbar' },
    counts
      ? h(
          'span',
          { class: 'statusbar__counts', 'data-testid': 'loaded-counts' },
          item(counts.districts, t('map.districts')),
          item(counts.streets, t('map.streets')),
          counts.gridCells === undefined ? null : item(counts.gridCells, t('map.gridCells')),
          counts.cases === undefined ? null : item(counts.cases, t('map.cases')),
        )
      : h('span', { class: 'statusbar__counts' }, t('map.loading')),
    h('span', { class: 'topbar__spacer' }),
    pointer,
    h('span', { class: 'statusbar__crs' }, 'WGS84'),
  );
  return {
    element,
    setPointer: (p) => {
      pointer.textContent = p ? `${p.lon.toFixed(5)}°E  ${p.lat.toFixed(5)}°N` : '';
    },
  };
}
