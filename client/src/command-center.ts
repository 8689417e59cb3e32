/**
 * The command-center page: top bar, the city map, the situation panel and the status strip.
 * The map is created once per sign-in; the panels re-render on data and language changes.
 */
import type * as maplibregl from 'maplibre-gl';
import { h } from './dom';
import type { Request } from './graphql/client';
import {
  allCases,
  type CaseStatus,
  type CaseSummary,
  gridCells,
  regions,
  type SessionUser,
} from './graphql/operations';
import { t } from './i18n';
import { CommandMap } from './map/command-map';
import { CASE_STATUSES } from './map/palette';
import type { LayerGroup } from './map/style';
import { renderHeader } from './panels/header';
import { renderOverview } from './panels/overview';
import { type LoadedCounts, renderStatusBar } from './panels/status-bar';

declare global {
  interface Window {
    /** Read-only test hook: the browser test queries rendered features through it. */
    __citygrid?: { readonly map: maplibregl.Map };
  }
}

/** Width of a side panel plus its margins, kept clear when the city is fitted. */
const SIDEBAR_SPACE = 336;

export interface CommandCenterOptions {
  root: HTMLElement;
  request: Request;
  user: SessionUser;
  onLogout: () => void;
}

export class CommandCenter {
  private readonly options: CommandCenterOptions;
  private readonly headerSlot = h('div', { class: 'shell__header' });
  private readonly sidebarSlot = h('div', { class: 'shell__sidebar' });
  private readonly activitySlot = h('div', { class: 'shell__sidebar shell__sidebar--right' });
  private readonly statusSlot = h('div', { class: 'shell__status' });
  private readonly overlay = h('div', { class: 'map-overlay', role: 'status' });
  private readonly commandMap: CommandMap;
  private cases: CaseSummary[] = [];
  private counts: LoadedCounts | null = null;
  private readonly visibleStatuses = new Set<CaseStatus>(CASE_STATUSES);
  private readonly visibleLayers = new Set<LayerGroup>(['districts', 'streets', 'grid', 'cases']);
  private setPointer: (p: { lon: number; lat: number } | null) => void = () => {};

  constructor(options: CommandCenterOptions) {
    this.options = options;
    const mapContainer = h('div', { class: 'map', id: 'map', 'data-testid': 'map' });
    options.root.replaceChildren(
      h(
        'div',
        { class: 'shell' },
        this.headerSlot,
        h('div', { class: 'shell__body' }, mapContainer, this.sidebarSlot, this.activitySlot, this.overlay),
        this.statusSlot,
      ),
    );
    this.commandMap = new CommandMap({
      container: mapContainer,
      padding: { top: 40, right: SIDEBAR_SPACE, bottom: 40, left: SIDEBAR_SPACE },
      onPointer: (p) => this.setPointer(p),
    });
    Object.defineProperty(window, '__citygrid', {
      value: Object.freeze({ map: this.commandMap.map }),
      writable: false,
      configurable: true,
    });
    this.render();
  }

  /** Loads the city and its cases and draws them; resolves when the map has rendered them. */
  async load(): Promise<void> {
    setMapState('loading');
    this.showOverlay(h('div', { class: 'spinner' }), t('map.loading'));
    try {
      const { request } = this.options;
      const [districts, streets, cells, cases] = await Promise.all([
        regions(request, 'DISTRICT'),
        regions(request, 'STREET'),
        gridCells(request),
        allCases(request),
      ]);
      this.cases = cases;
      this.counts = {
        districts: districts.length,
        streets: streets.length,
        gridCells: cells.length,
        cases: cases.length,
      };
      this.render();
      await this.commandMap.show({ districts, streets, gridCells: cells, cases });
      this.overlay.hidden = true;
      setMapState('ready');
    } catch (error) {
      if (!this.options.root.contains(this.overlay)) return; // signed out meanwhile
      setMapState('error');
      console.error('citygrid: loading the map data failed', error);
      this.showOverlay(
        h('strong', {}, t('map.loadFailed')),
        (error as Error).message,
        h(
          'button',
          { type: 'button', class: 'btn btn--primary', onclick: () => void this.load() },
          t('map.retry'),
        ),
      );
    }
  }

  /** Re-renders the panels (after a language change); the map and its data stay. */
  render(): void {
    this.headerSlot.replaceChildren(
      renderHeader({ user: this.options.user, onLogout: this.options.onLogout }),
    );
    const panels = renderOverview(
      { cases: this.cases, visibleStatuses: this.visibleStatuses, visibleLayers: this.visibleLayers },
      {
        onToggleStatus: (status) => {
          toggle(this.visibleStatuses, status);
          this.commandMap.setStatusFilter(this.visibleStatuses);
          this.render();
        },
        onToggleLayer: (group) => {
          this.commandMap.setLayerGroupVisible(group, toggle(this.visibleLayers, group));
          this.render();
        },
        onFocusCase: (id) => this.commandMap.focusCase(id),
      },
    );
    this.sidebarSlot.replaceChildren(panels.situation);
    this.activitySlot.replaceChildren(panels.activity);
    const statusBar = renderStatusBar(this.counts);
    this.setPointer = statusBar.setPointer;
    this.statusSlot.replaceChildren(statusBar.element);
    this.commandMap.closePopup();
  }

  destroy(): void {
    this.commandMap.destroy();
    Reflect.deleteProperty(window, '__citygrid');
    delete document.documentElement.dataset.mapState;
  }

  private showOverlay(...content: (Node | string)[]): void {
    this.overlay.hidden = false;
    this.overlay.replaceChildren(h('div', { class: 'map-overlay__card' }, ...content));
  }
}

/** Toggles membership; returns whether the item is now in the set. */
function toggle<T>(set: Set<T>, item: T): boolean {
  if (set.delete(item)) return false;
  set.add(item);
  return true;
}

/** `<html data-map-state>`: loading | ready | error, for people reading the DOM and for the browser test. */
function setMapState(state: 'loading' | 'ready' | 'error'): void {
  document.documentElement.dataset.mapState = state;
}
