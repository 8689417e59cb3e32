/**
 * The command-center map: a MapLibre map over our own GeoJSON layers, with hover highlight,
 * click popups (case details, grid cell, street and district), layer toggles and a status filter.
 */
import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import type { CaseStatus, CaseSummary, GridCell, Region } from '../graphql/operations';
import { formatDateTime, localName, t } from '../i18n';
import { type Bounds, boundsOf, caseFeatures, gridCellFeatures, regionFeatures } from './features';
import { CASE_STATUSES, STATUS_COLORS } from './palette';
import { commandCenterStyle, LAYER_GROUPS, LAYERS, type LayerGroup, SOURCES, URGENT_OPEN } from './style';
import { startMapWorkers } from './workers';

export interface CityData {
  districts: Region[];
  streets: Region[];
  gridCells: GridCell[];
  cases: CaseSummary[];
}

export interface CommandMapOptions {
  container: HTMLElement;
  /** Room the overlay panels take, so that fitting the city keeps it visible. */
  padding: { top: number; right: number; bottom: number; left: number };
  /** Called with the cursor position as it moves (null when it leaves the map). */
  onPointer?: (lngLat: { lon: number; lat: number } | null) => void;
}

type FeatureRef = { source: string; id: string | number };

export class CommandMap {
  readonly map: maplibregl.Map;
  private readonly padding: CommandMapOptions['padding'];
  private readonly loaded: Promise<void>;
  private popup: maplibregl.Popup | null = null;
  private hovered: FeatureRef | null = null;
  private selected: FeatureRef | null = null;
  private casesById = new Map<string, CaseSummary>();
  private districtsById = new Map<string, Region>();
  private streetsById = new Map<string, Region>();
  private cityBounds: Bounds | null = null;

  constructor(options: CommandMapOptions) {
    this.padding = options.padding;
    startMapWorkers();
    this.map = new maplibregl.Map({
      container: options.container,
      style: commandCenterStyle(),
      // Tongren until the data says where the city is.
      center: [109.19, 27.72],
      zoom: 12,
      minZoom: 9,
      maxZoom: 19,
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      // Every layer is our own data: nothing to attribute.
      attributionControl: false,
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new FitCityControl(() => this.fitCity()), 'bottom-right');
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
    this.map.addControl(new maplibregl.ScaleControl({ unit: 'metric', maxWidth: 120 }), 'bottom-right');
    this.loaded = new Promise((resolve) => {
      if (this.map.loaded()) resolve();
      else this.map.once('load', () => resolve());
    });
    this.bindPointer(options.onPointer);
  }

  /** Fills the layers and fits the view to the city; resolves once the map has rendered them. */
  async show(data: CityData): Promise<void> {
    await this.loaded;
    this.casesById = new Map(data.cases.map((c) => [c.id, c]));
    this.districtsById = new Map(data.districts.map((d) => [d.id, d]));
    this.streetsById = new Map(data.streets.map((s) => [s.id, s]));
    this.source(SOURCES.districts).setData(regionFeatures(data.districts));
    this.source(SOURCES.streets).setData(regionFeatures(data.streets));
    this.source(SOURCES.gridCells).setData(gridCellFeatures(data.gridCells));
    this.source(SOURCES.cases).setData(caseFeatures(data.cases));
    this.cityBounds =
      boundsOf(data.districts.map((d) => d.geometry)) ??
      boundsOf(data.gridCells.map((g) => g.geometry)) ??
      boundsOf(data.cases.map((c) => ({ type: 'Point', coordinates: [c.location.lon, c.location.lat] })));
    this.fitCity(false);
    await new Promise<void>((resolve) => this.map.once('idle', () => resolve()));
  }

  /** Frames the whole city. */
  fitCity(animate = true): void {
    if (!this.cityBounds) return;
    const [west, south, east, north] = this.cityBounds;
    this.map.fitBounds(
      [
        [west, south],
        [east, north],
      ],
      { padding: this.padding, animate, duration: animate ? 600 : 0 },
    );
  }

  setLayerGroupVisible(group: LayerGroup, visible: boolean): void {
    for (const layer of LAYER_GROUPS[group]) {
      this.map.setLayoutProperty(layer, 'visibility', visible ? 'visible' : 'none');
    }
    if (!visible) this.closePopup();
  }

  /** Shows only cases in the given statuses. */
  setStatusFilter(statuses: ReadonlySet<CaseStatus>): void {
    const filter: maplibregl.FilterSpecification =
      statuses.size === CASE_STATUSES.length
        ? ['boolean', true]
        : ['in', ['get', 'status'], ['literal', [...statuses]]];
    this.map.setFilter(LAYERS.cases, filter);
    this.map.setFilter(LAYERS.caseSelected, filter);
    this.map.setFilter(LAYERS.casesHalo, ['all', URGENT_OPEN, filter]);
  }

  /** Flies to a case and opens its popup. */
  focusCase(id: string): void {
    const c = this.casesById.get(id);
    if (!c) return;
    const lngLat: [number, number] = [c.location.lon, c.location.lat];
    this.map.flyTo({ center: lngLat, zoom: Math.max(this.map.getZoom(), 15.5), duration: 800 });
    this.select({ source: SOURCES.cases, id });
    this.openPopup(lngLat, casePopup(c));
  }

  closePopup(): void {
    this.popup?.remove();
    this.popup = null;
  }

  destroy(): void {
    this.closePopup();
    this.map.remove();
  }

  private source(id: string): maplibregl.GeoJSONSource {
    const source = this.map.getSource<maplibregl.GeoJSONSource>(id);
    if (!source) throw new Error(`map source ${id} is missing from the style`);
    return source;
  }

  private bindPointer(onPointer: CommandMapOptions['onPointer']): void {
    const map = this.map;
    const hoverLayers = [LAYERS.cases, LAYERS.gridCellsFill];
    map.on('mousemove', (event) => {
      onPointer?.({ lon: event.lngLat.lng, lat: event.lngLat.lat });
      const features = map.queryRenderedFeatures(event.point, { layers: hoverLayers });
      const onCase = features.some((f) => f.layer.id === LAYERS.cases);
      map.getCanvas().style.cursor = features.length > 0 ? 'pointer' : '';
      const cell = onCase ? undefined : features.find((f) => f.layer.id === LAYERS.gridCellsFill);
      this.setHover(cell?.id === undefined ? null : { source: SOURCES.gridCells, id: cell.id });
    });
    map.on('mouseout', () => {
      onPointer?.(null);
      this.setHover(null);
    });
    map.on('click', (event) => {
      const features = map.queryRenderedFeatures(event.point, {
        layers: [LAYERS.cases, LAYERS.gridCellsFill, LAYERS.streetsFill, LAYERS.districtsFill],
      });
      const byLayer = (id: string) => features.find((f) => f.layer.id === id);
      const caseFeature = byLayer(LAYERS.cases);
      const caseSummary = caseFeature ? this.casesById.get(String(caseFeature.properties.id)) : undefined;
      if (caseSummary) {
        this.select({ source: SOURCES.cases, id: caseSummary.id });
        this.openPopup([caseSummary.location.lon, caseSummary.location.lat], casePopup(caseSummary));
        return;
      }
      this.select(null);
      const district = this.districtsById.get(String(byLayer(LAYERS.districtsFill)?.properties.id));
      const street = this.streetsById.get(String(byLayer(LAYERS.streetsFill)?.properties.id));
      const cell = byLayer(LAYERS.gridCellsFill);
      if (cell) {
        const { name, code } = cell.properties as { name: string; code: string };
        this.openPopup(event.lngLat, placePopup(t('popup.grid'), name, code, street, district));
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
      if (this.popup === popup) {
        this.popup = null;
        this.select(null);
      }
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

function rows(entries: [string, string | HTMLElement][]): HTMLElement {
  const list = el('dl', 'cg-popup__rows');
  for (const [label, value] of entries) {
    list.append(el('dt', undefined, label));
    const dd = el('dd');
    dd.append(value);
    list.append(dd);
  }
  return list;
}

/** Popup content for a case (built from DOM nodes, so names never become markup). */
export function casePopup(c: CaseSummary): HTMLElement {
  const root = el('div', 'cg-popup__body');
  root.dataset.caseId = c.id;
  const head = el('div', 'cg-popup__head');
  head.append(el('span', 'cg-popup__kind', t('popup.case')), el('strong', 'cg-popup__title', c.code));
  const status = el('span', 'cg-badge', t(`status.${c.status}`));
  status.style.setProperty('--badge', STATUS_COLORS[c.status]);
  const priority = el(
    'span',
    `cg-priority cg-priority--${c.priority.toLowerCase()}`,
    t(`priority.${c.priority}`),
  );
  root.append(
    head,
    rows([
      [t('popup.category'), localName(c.category)],
      [t('popup.status'), status],
      [t('popup.priority'), priority],
      [t('popup.reportedAt'), formatDateTime(c.reportedAt)],
      [t('popup.location'), `${c.location.lon.toFixed(5)}, ${c.location.lat.toFixed(5)}`],
    ]),
  );
  return root;
}

function placePopup(
  kind: string,
  name: string,
  code: string,
  street?: Region,
  district?: Region,
): HTMLElement {
  const root = el('div', 'cg-popup__body');
  const head = el('div', 'cg-popup__head');
  head.append(el('span', 'cg-popup__kind', kind), el('strong', 'cg-popup__title', name));
  const entries: [string, string][] = [[t('popup.code'), code]];
  if (street) entries.push([t('popup.street'), localName(street)]);
  if (district) entries.push([t('popup.district'), localName(district)]);
  root.append(head, rows(entries));
  return root;
}
