/**
 * The command-center map: districts and streets (GeoJSON), grid cells, cases and sensors (vector
 * tiles from our server, signed with the session's token), a choropleth of open and overdue cases
 * through feature-state, fresh cases and workers as live GeoJSON, a heatmap of reports over a
 * period, hover and click for details.
 */
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import type { CaseStatus, Region, WorkerPoint } from '../graphql/operations';
import { localName, t } from '../i18n';
import { type Bounds, boundsOf, regionFeatures } from './features';
import { CASE_STATUSES } from './palette';
import {
  CASE_FOCUS_ZOOM,
  commandCenterStyle,
  LAYER_GROUPS,
  LAYERS,
  type LayerGroup,
  SOURCE_LAYERS,
  SOURCES,
  tileUrl,
  URGENT_OPEN,
} from './style';
import { startMapWorkers } from './workers';

/** The pixel ratio the map draws at until the city is loaded (see the constructor). */
const LOADING_PIXEL_RATIO = 0.25;

export interface CityOutlines {
  districts: Region[];
  streets: Region[];
}

/** A case as the live layer draws it until the next tiles show it. */
export interface LiveCase {
  id: string;
  code: string;
  status: CaseStatus;
  priority: string;
  location: { lon: number; lat: number };
}

/** What the map tells its owner (which may be set after the map is made: see `setHandlers`). */
export interface CommandMapHandlers {
  onPointer?: (lngLat: { lon: number; lat: number } | null) => void;
  onCase?: (id: string) => void;
  onSensor?: (id: string) => void;
}

export interface CommandMapOptions extends CommandMapHandlers {
  container: HTMLElement;
  /** The layer groups shown once the view is placed (none unless given; see `setLayerGroupVisible`). */
  visibleGroups?: Iterable<LayerGroup>;
  /** Room the overlay panels take, so that fitting the city keeps it visible. */
  padding: { top: number; right: number; bottom: number; left: number };
  /** The session's token, read for every tile request. */
  token: () => string | null;
}

type FeatureRef = { source: string; sourceLayer?: string; id: string | number };

export class CommandMap {
  readonly map: maplibregl.Map;
  private readonly options: CommandMapOptions;
  private handlers: CommandMapHandlers;
  private readonly loaded: Promise<void>;
  private popup: maplibregl.Popup | null = null;
  private hovered: FeatureRef | null = null;
  private selected: FeatureRef | null = null;
  private districtsById = new Map<string, Region>();
  private streetsById = new Map<string, Region>();
  private cityBounds: Bounds | null = null;
  private statuses: ReadonlySet<CaseStatus> = new Set(CASE_STATUSES);
  private heatDays = 7;
  private tileVersion = 0;
  private cellStates = new Map<number, { open: number; overdue: number }>();
  private readonly liveCases = new Map<string, LiveCase>();
  private readonly workers = new Map<string, WorkerPoint>();
  /** Layer groups the operator wants shown; applied once the view is placed on the city. */
  private readonly visibleGroups: Set<LayerGroup>;
  private placed = false;
  private styleLoaded = false;
  /** Case points below CASE_POINTS_MIN_ZOOM too (see `showCasePointsAtEveryZoom`). */
  private casePointsAtEveryZoom = false;

  constructor(options: CommandMapOptions) {
    this.options = options;
    this.handlers = options;
    this.visibleGroups = new Set(options.visibleGroups ?? []);
    startMapWorkers();
    this.map = new maplibregl.Map({
      container: options.container,
      // Every layer starts hidden, so that no tile is fetched (nor drawn, at hundreds of
      // milliseconds a frame where WebGL runs on the CPU) for the placeholder view before `show`
      // has placed the view on the city.
      style: commandCenterStyle({ caseQuery: this.caseQuery(), heatQuery: this.heatQuery(), hidden: true }),
      center: [109.19, 27.72],
      zoom: 12,
      // A quarter of the pixels until `show` has drawn the city: the frames drawn while tiles
      // arrive lie behind the loading overlay, and where WebGL runs on the CPU each costs time in
      // proportion to its pixels. `show` ends with one frame at the screen's own resolution.
      pixelRatio: LOADING_PIXEL_RATIO,
      minZoom: 9,
      maxZoom: 19,
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      attributionControl: false,
      // Tiles come from our own server and need the session's token.
      transformRequest: (url) => {
        if (!url.startsWith(`${location.origin}/tiles/`)) return { url };
        const token = options.token();
        return { url, headers: token ? { authorization: `Bearer ${token}` } : {} };
      },
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.keyboard.enable();
    this.map.addControl(new FitCityControl(() => this.fitCity()), 'bottom-right');
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
    this.map.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 120 }), 'bottom-right');
    this.loaded = new Promise((resolve) => {
      if (this.map.loaded()) resolve();
      else this.map.once('load', () => resolve());
    });
    // Counts that came before the style are painted once it is there. MapLibre keeps feature-state
    // per source and gives it to every tile that loads later, so they are set once, not per tile.
    void this.loaded.then(() => {
      this.styleLoaded = true;
      this.paintCells();
      if (this.casePointsAtEveryZoom) this.applyCasePointZoom();
    });
    this.bindPointer();
  }

  /** Fills the outlines and fits the view to the city; resolves once the map has rendered it, sharp. */
  async show(data: CityOutlines): Promise<void> {
    await this.loaded;
    this.districtsById = new Map(data.districts.map((d) => [d.id, d]));
    this.streetsById = new Map(data.streets.map((s) => [s.id, s]));
    this.cityBounds =
      boundsOf(data.districts.map((d) => d.geometry)) ?? boundsOf(data.streets.map((s) => s.geometry));
    // The view and the layers first: the next frame asks for the vector tiles, which then travel
    // while the workers cut the outlines' GeoJSON. Handed over first, the outlines would hold up
    // the tile requests queued behind them on the same workers (and, set before the move, they
    // would be cut for the placeholder view as well).
    this.fitCity(false);
    this.placed = true;
    for (const group of Object.keys(LAYER_GROUPS) as LayerGroup[]) this.applyGroup(group);
    await new Promise((resolve) => {
      this.map.once('render', resolve);
      this.map.triggerRepaint();
    });
    this.geojson(SOURCES.districts).setData(regionFeatures(data.districts));
    this.geojson(SOURCES.streets).setData(regionFeatures(data.streets));
    await this.idle();
    if (this.map.getPixelRatio() !== LOADING_PIXEL_RATIO) return;
    // Everything is in: draw it once at full resolution. `null` ends the override, so the map
    // follows the screen's pixel ratio again (MapLibre documents null; its type says number).
    const idle = new Promise((resolve) => this.map.once('idle', resolve));
    (this.map.setPixelRatio as (ratio: number | null) => void)(null);
    this.map.triggerRepaint();
    await idle;
  }

  /** Who hears about pointer moves and clicks on cases and sensors (replaces what was set before). */
  setHandlers(handlers: CommandMapHandlers): void {
    this.handlers = { ...handlers };
  }

  /** Resolves when the map has loaded what it needs and stopped drawing. */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      if (this.map.loaded() && this.map.areTilesLoaded()) resolve();
      else this.map.once('idle', () => resolve());
    });
  }

  fitCity(animate = true): void {
    if (!this.cityBounds) return;
    const [west, south, east, north] = this.cityBounds;
    this.map.fitBounds(
      [
        [west, south],
        [east, north],
      ],
      { padding: this.options.padding, animate, duration: animate ? 600 : 0 },
    );
  }

  /**
   * Draws the case points at every zoom rather than from CASE_POINTS_MIN_ZOOM: a department user's
   * cases tiles hold its own cases as points at every zoom, never per-cell counts.
   */
  showCasePointsAtEveryZoom(): void {
    this.casePointsAtEveryZoom = true;
    // Before its style has loaded MapLibre refuses layer changes; `loaded` applies it then.
    if (this.styleLoaded) this.applyCasePointZoom();
  }

  private applyCasePointZoom(): void {
    for (const layer of [LAYERS.casesHalo, LAYERS.cases, LAYERS.caseSelected])
      this.map.setLayerZoomRange(layer, 0, 24);
  }

  setLayerGroupVisible(group: LayerGroup, visible: boolean): void {
    if (visible) this.visibleGroups.add(group);
    else this.visibleGroups.delete(group);
    this.applyGroup(group);
    if (!visible) this.closePopup();
  }

  private applyGroup(group: LayerGroup): void {
    if (!this.placed) return;
    const visibility = this.visibleGroups.has(group) ? 'visible' : 'none';
    for (const layer of LAYER_GROUPS[group]) this.map.setLayoutProperty(layer, 'visibility', visibility);
  }

  /** Shows only cases in the given statuses (new tiles for the cases source; the live layer filters). */
  setStatusFilter(statuses: ReadonlySet<CaseStatus>): void {
    this.statuses = new Set(statuses);
    // No status at all: hide the tile layers rather than ask for tiles of nothing.
    const none: maplibregl.FilterSpecification | null = statuses.size === 0 ? ['boolean', false] : null;
    this.map.setFilter(LAYERS.caseCells, none);
    this.map.setFilter(LAYERS.cases, none);
    this.map.setFilter(LAYERS.caseSelected, none);
    this.map.setFilter(LAYERS.casesHalo, none ?? URGENT_OPEN);
    if (statuses.size > 0) this.reloadCaseTiles();
    this.map.setFilter(LAYERS.liveCases, ['in', ['get', 'status'], ['literal', [...statuses]]]);
  }

  /** The heatmap's period: reports of the last `days` days. */
  setHeatPeriod(days: number): void {
    this.heatDays = days;
    this.map
      .getSource<maplibregl.VectorTileSource>(SOURCES.heat)
      ?.setTiles([tileUrl('cases', this.heatQuery())]);
  }

  /** Fetches case tiles again (after live changes); the ETag keeps unchanged tiles cheap. */
  reloadCaseTiles(): void {
    this.tileVersion++;
    this.map
      .getSource<maplibregl.VectorTileSource>(SOURCES.cases)
      ?.setTiles([tileUrl('cases', this.caseQuery())]);
  }

  /** Open and overdue counts per grid cell, painted through feature-state. */
  setCellCounts(cells: readonly [id: number, open: number, overdue: number][]): void {
    const next = new Map<number, { open: number; overdue: number }>();
    for (const [id, open, overdue] of cells) next.set(id, { open, overdue });
    // Cells that no longer have open cases go back to zero.
    for (const id of this.cellStates.keys()) if (!next.has(id)) next.set(id, { open: 0, overdue: 0 });
    // Only the cells whose counts changed: each state set costs the tiles holding it a repaint.
    const changed = [...next].filter(([id, state]) => {
      const was = this.cellStates.get(id);
      return was?.open !== state.open || was.overdue !== state.overdue;
    });
    this.cellStates = next;
    this.paintCells(changed);
  }

  /** Draws changed cases on top until the tiles catch up; settled ones leave the live layer. */
  upsertLiveCases(cases: readonly LiveCase[]): void {
    for (const c of cases) this.liveCases.set(c.id, c);
    this.geojson(SOURCES.liveCases).setData({
      type: 'FeatureCollection',
      features: [...this.liveCases.values()].map((c) => ({
        type: 'Feature',
        id: Number(c.id),
        geometry: { type: 'Point', coordinates: [c.location.lon, c.location.lat] },
        properties: { id: c.id, code: c.code, status: c.status, priority: c.priority },
      })),
    });
  }

  /** Replaces or moves workers; off-duty workers stay in the source but are not drawn. */
  updateWorkers(points: readonly WorkerPoint[], replace = false): void {
    if (replace) this.workers.clear();
    for (const p of points) this.workers.set(p.workerId, p);
    this.geojson(SOURCES.workers).setData({
      type: 'FeatureCollection',
      features: [...this.workers.values()].map((w) => ({
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [w.location.lon, w.location.lat] },
        properties: { workerId: w.workerId, onDuty: w.onDuty, at: w.at, name: w.worker?.displayName ?? '' },
      })),
    });
  }

  get onDutyWorkers(): number {
    let n = 0;
    for (const w of this.workers.values()) if (w.onDuty) n++;
    return n;
  }

  /** Flies to a point, close enough to see single cases. */
  focus(location: { lon: number; lat: number }, caseId?: string): void {
    this.map.flyTo({
      center: [location.lon, location.lat],
      zoom: Math.max(this.map.getZoom(), CASE_FOCUS_ZOOM),
      duration: 600,
    });
    if (caseId) this.select({ source: SOURCES.cases, sourceLayer: SOURCE_LAYERS.cases, id: Number(caseId) });
  }

  closePopup(): void {
    this.popup?.remove();
    this.popup = null;
  }

  destroy(): void {
    this.closePopup();
    this.map.remove();
  }

  private caseQuery(): string {
    const parts: string[] = [];
    if (this.statuses.size < CASE_STATUSES.length)
      parts.push(`status=${[...this.statuses].join(',') || 'NONE'}`);
    if (this.tileVersion) parts.push(`v=${this.tileVersion}`);
    return parts.length ? `?${parts.join('&')}` : '';
  }

  private heatQuery(): string {
    const since = new Date(Date.now() - this.heatDays * 86_400_000);
    since.setMinutes(0, 0, 0);
    return `?reportedAfter=${encodeURIComponent(since.toISOString())}`;
  }

  private paintCells(cells: Iterable<[number, { open: number; overdue: number }]> = this.cellStates): void {
    // Feature-state needs the style (MapLibre throws before it has loaded); `loaded` paints then.
    if (!this.styleLoaded) return;
    for (const [id, state] of cells) {
      this.map.setFeatureState(
        { source: SOURCES.gridCells, sourceLayer: SOURCE_LAYERS.gridCells, id },
        state,
      );
    }
  }

  private geojson(id: string): maplibregl.GeoJSONSource {
    const source = this.map.getSource<maplibregl.GeoJSONSource>(id);
    if (!source) throw new Error(`map source ${id} is missing from the style`);
    return source;
  }

  private bindPointer(): void {
    const map = this.map;
    const clickable = [
      LAYERS.liveCases,
      LAYERS.cases,
      LAYERS.caseCells,
      LAYERS.sensors,
      LAYERS.workers,
      LAYERS.gridCellsFill,
    ];
    map.on('mousemove', (event) => {
      this.handlers.onPointer?.({ lon: event.lngLat.lng, lat: event.lngLat.lat });
      const features = map.queryRenderedFeatures(event.point, { layers: clickable });
      map.getCanvas().style.cursor = features.length > 0 ? 'pointer' : '';
      const cell = features[0]?.layer.id === LAYERS.gridCellsFill ? features[0] : undefined;
      this.setHover(
        cell?.id === undefined
          ? null
          : { source: SOURCES.gridCells, sourceLayer: SOURCE_LAYERS.gridCells, id: cell.id },
      );
    });
    map.on('mouseout', () => {
      this.handlers.onPointer?.(null);
      this.setHover(null);
    });
    map.on('click', (event) => {
      const features = map.queryRenderedFeatures(event.point, {
        layers: [...clickable, LAYERS.streetsFill, LAYERS.districtsFill],
      });
      const top = features[0];
      const byLayer = (id: string) => features.find((f) => f.layer.id === id);
      if (top?.layer.id === LAYERS.liveCases || top?.layer.id === LAYERS.cases) {
        const id = String(top.layer.id === LAYERS.cases ? top.id : top.properties.id);
        this.closePopup();
        this.select(
          top.layer.id === LAYERS.cases
            ? { source: SOURCES.cases, sourceLayer: SOURCE_LAYERS.cases, id: Number(id) }
            : null,
        );
        this.handlers.onCase?.(id);
        return;
      }
      if (top?.layer.id === LAYERS.sensors) {
        this.closePopup();
        this.handlers.onSensor?.(String(top.id));
        return;
      }
      this.select(null);
      if (top?.layer.id === LAYERS.workers) {
        const p = top.properties as { name: string; at: string };
        this.openPopup(event.lngLat, placePopup(t('popup.worker'), p.name || t('popup.worker'), ''));
        return;
      }
      if (top?.layer.id === LAYERS.caseCells) {
        const p = top.properties as { count: number; open: number; overdue: number };
        this.openPopup(
          event.lngLat,
          placePopup(t('popup.cellCases'), `${p.count}`, '', undefined, undefined, [
            [t('popup.open'), String(p.open)],
            [t('popup.overdue'), String(p.overdue)],
          ]),
        );
        return;
      }
      const district = this.districtsById.get(String(byLayer(LAYERS.districtsFill)?.properties.id));
      const street = this.streetsById.get(String(byLayer(LAYERS.streetsFill)?.properties.id));
      const cell = byLayer(LAYERS.gridCellsFill);
      if (cell) {
        const { name, code } = cell.properties as { name: string; code: string };
        const state = this.cellStates.get(Number(cell.id)) ?? { open: 0, overdue: 0 };
        this.openPopup(
          event.lngLat,
          placePopup(t('popup.grid'), name, code, street, district, [
            [t('popup.open'), String(state.open)],
            [t('popup.overdue'), String(state.overdue)],
          ]),
        );
      } else if (district) {
        this.openPopup(event.lngLat, placePopup(t('popup.district'), localName(district), district.code));
      } else {
        this.closePopup();
      }
    });
  }

  private setHover(next: FeatureRef | null): void {
    if (this.hovered?.id === next?.id && this.hovered?.source === next?.source) return;
    if (this.hovered) this.map.setFeatureState(this.hovered, { hover: false });
    this.hovered = next;
    if (next) this.map.setFeatureState(next, { hover: true });
  }

  private select(next: FeatureRef | null): void {
    if (this.selected) this.map.setFeatureState(this.selected, { selected: false });
    this.selected = next;
    if (next) this.map.setFeatureState(next, { selected: true });
  }

  private openPopup(lngLat: maplibregl.LngLatLike, content: HTMLElement): void {
    this.closePopup();
    const popup = new maplibregl.Popup({
      closeButton: true,
      maxWidth: '320px',
      className: 'cg-popup',
      offset: 10,
    })
      .setLngLat(lngLat)
      .setDOMContent(content)
      .addTo(this.map);
    popup.on('close', () => {
      if (this.popup === popup) this.popup = null;
    });
    this.popup = popup;
  }
}

/** A map button that frames the whole city again. */
class FitCityControl implements maplibregl.IControl {
  private container: HTMLElement | null = null;
  constructor(private readonly onFit: () => void) {}

  onAdd(): HTMLElement {
    const button = el('button', 'cg-fit-city');
    button.type = 'button';
    button.title = t('map.fitCity');
    button.setAttribute('aria-label', t('map.fitCity'));
    button.dataset.testid = 'fit-city';
    button.innerHTML =
      '<svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.6">' +
      '<path d="M3 7V3h4M13 3h4v4M17 13v4h-4M7 17H3v-4"/><rect x="7" y="7" width="6" height="6" rx="1"/></svg>';
    button.addEventListener('click', () => this.onFit());
    this.container = el('div', 'maplibregl-ctrl maplibregl-ctrl-group');
    this.container.append(button);
    return this.container;
  }

  onRemove(): void {
    this.container?.remove();
    this.container = null;
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function placePopup(
  kind: string,
  name: string,
  code: string,
  street?: Region,
  district?: Region,
  extra: [string, string][] = [],
): HTMLElement {
  const root = el('div', 'cg-popup__body');
  const head = el('div', 'cg-popup__head');
  head.append(el('span', 'cg-popup__kind', kind), el('strong', 'cg-popup__title', name));
  const entries: [string, string][] = code ? [[t('popup.code'), code]] : [];
  if (street) entries.push([t('popup.street'), localName(street)]);
  if (district) entries.push([t('popup.district'), localName(district)]);
  entries.push(...extra);
  const list = el('dl', 'cg-popup__rows');
  for (const [label, value] of entries) list.append(el('dt', undefined, label), el('dd', undefined, value));
  root.append(head, list);
  return root;
}
