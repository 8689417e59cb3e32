/**
 * The command-center map style, built in code. Districts and streets are small GeoJSON sources;
 * grid cells, cases and sensors are vector tiles from our own server (`/tiles/…`, signed with the
 * Bearer token in `transformRequest`); fresh cases and workers are GeoJSON kept current by live
 * events. Nothing is fetched from outside the machine (no remote style, glyphs or sprites), which
 * is also why there are no symbol layers: names show in popups and drawers instead.
 */
import type { ExpressionSpecification, StyleSpecification } from 'maplibre-gl';
import {
  CASE_STATUSES,
  CHOROPLETH,
  DISTRICT_TINTS,
  MAP_COLORS,
  OVERDUE_COLOR,
  SENSOR_COLORS,
  SENSOR_STATES,
  STATUS_COLORS,
  URGENT_COLOR,
  WORKER_COLOR,
} from './palette';

export const SOURCES = {
  districts: 'districts',
  streets: 'streets',
  gridCells: 'grid-cells',
  cases: 'cases',
  heat: 'cases-heat',
  sensors: 'sensors',
  liveCases: 'live-cases',
  workers: 'workers',
} as const;

/** Layer names inside the vector tiles (see db/migrations/0002_tiles.sql). */
export const SOURCE_LAYERS = {
  gridCells: 'grid_cells',
  cases: 'cases',
  caseCells: 'case_cells',
  sensors: 'sensors',
} as const;

/**
 * Below this zoom the cases tiles hold counts per grid cell (`case_cells`); from it one point per
 * case (`cases`), except a tile that would hold more than 2,000 cases, which holds counts again
 * (db/migrations/0010_dense_case_tiles.sql). So the count layers draw at every zoom, and each tile
 * shows whichever of the two it holds.
 */
export const CASE_POINTS_MIN_ZOOM = 14;
/** Where a case is flown to: deep enough that its tile holds points even in a dense district. */
export const CASE_FOCUS_ZOOM = 17;

/** Layer ids; the browser tests and the click handlers query these. */
export const LAYERS = {
  districtsFill: 'districts-fill',
  districtsOutline: 'districts-outline',
  streetsFill: 'streets-fill',
  streetsOutline: 'streets-outline',
  gridCellsFill: 'grid-cells-fill',
  gridCellsOutline: 'grid-cells-outline',
  gridCellsHover: 'grid-cells-hover',
  heatCells: 'heat-cells',
  heatPoints: 'heat-points',
  caseCells: 'case-cells-circle',
  casesHalo: 'cases-halo',
  cases: 'cases-circle',
  caseSelected: 'cases-selected',
  liveCases: 'cases-live',
  sensors: 'sensors-circle',
  workers: 'workers-circle',
} as const;

export const LAYER_GROUPS = {
  districts: [LAYERS.districtsFill, LAYERS.districtsOutline],
  streets: [LAYERS.streetsOutline],
  grid: [LAYERS.gridCellsFill, LAYERS.gridCellsOutline, LAYERS.gridCellsHover],
  cases: [LAYERS.caseCells, LAYERS.casesHalo, LAYERS.cases, LAYERS.caseSelected, LAYERS.liveCases],
  sensors: [LAYERS.sensors],
  workers: [LAYERS.workers],
  heat: [LAYERS.heatCells, LAYERS.heatPoints],
} as const;
export type LayerGroup = keyof typeof LAYER_GROUPS;
export const DEFAULT_LAYERS: readonly LayerGroup[] = [
  'districts',
  'streets',
  'grid',
  'cases',
  'sensors',
  'workers',
];

const emptyCollection: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

function statusColor(): ExpressionSpecification {
  const pairs = CASE_STATUSES.flatMap((status) => [status, STATUS_COLORS[status]]);
  return ['match', ['get', 'status'], ...pairs, '#e2e8f0'] as unknown as ExpressionSpecification;
}

function sensorColor(): ExpressionSpecification {
  const pairs = SENSOR_STATES.flatMap((state) => [state, SENSOR_COLORS[state]]);
  return ['match', ['get', 'state'], ...pairs, SENSOR_COLORS.unknown] as unknown as ExpressionSpecification;
}

function districtTint(): ExpressionSpecification {
  const pairs = DISTRICT_TINTS.flatMap((tint, index) => [index, tint]);
  return [
    'match',
    ['%', ['get', 'index'], DISTRICT_TINTS.length],
    ...pairs,
    DISTRICT_TINTS[0]!,
  ] as unknown as ExpressionSpecification;
}

const open: ExpressionSpecification = ['coalesce', ['feature-state', 'open'], 0];
const overdue: ExpressionSpecification = ['coalesce', ['feature-state', 'overdue'], 0];

/** The choropleth: colours come from feature-state (open, overdue), so new counts need no new tiles. */
const choropleth: ExpressionSpecification = [
  'case',
  ['>', overdue, 0],
  CHOROPLETH.overdue,
  ['>=', open, 5],
  CHOROPLETH.many,
  ['>', open, 0],
  CHOROPLETH.few,
  CHOROPLETH.none,
];

/** Urgent cases still in the loop get a halo; a closed urgent case is history, not an alert. */
export const URGENT_OPEN: ExpressionSpecification = [
  'all',
  ['==', ['get', 'priority'], 'URGENT'],
  ['!', ['in', ['get', 'status'], ['literal', ['CLOSED', 'REJECTED']]]],
];

const isSettled: ExpressionSpecification = ['in', ['get', 'status'], ['literal', ['CLOSED', 'REJECTED']]];

/** Absolute tile URL (MapLibre needs absolute URLs), with the query string for the cases layer. */
export function tileUrl(layer: 'grid_cells' | 'cases' | 'sensors', query = ''): string {
  return `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt${query}`;
}

/**
 * The style. With `hidden`, every layer of the layer groups starts hidden (so no tiles are asked
 * for until the map shows them: see CommandMap.show).
 */
export function commandCenterStyle(options: {
  caseQuery: string;
  heatQuery: string;
  hidden?: boolean;
}): StyleSpecification {
  const caseCircle = (radius: ExpressionSpecification | number) => radius;
  const style: StyleSpecification = {
    version: 8,
    name: 'citygrid-command-center',
    sources: {
      [SOURCES.districts]: { type: 'geojson', data: emptyCollection, promoteId: 'id' },
      [SOURCES.streets]: { type: 'geojson', data: emptyCollection, promoteId: 'id' },
      [SOURCES.gridCells]: {
        type: 'vector',
        tiles: [tileUrl('grid_cells')],
        minzoom: 9,
        maxzoom: 16,
      },
      [SOURCES.cases]: {
        type: 'vector',
        tiles: [tileUrl('cases', options.caseQuery)],
        minzoom: 9,
        maxzoom: 16,
      },
      [SOURCES.heat]: {
        type: 'vector',
        tiles: [tileUrl('cases', options.heatQuery)],
        minzoom: 9,
        maxzoom: 16,
      },
      [SOURCES.sensors]: { type: 'vector', tiles: [tileUrl('sensors')], minzoom: 9, maxzoom: 16 },
      [SOURCES.liveCases]: { type: 'geojson', data: emptyCollection, promoteId: 'id' },
      [SOURCES.workers]: { type: 'geojson', data: emptyCollection, promoteId: 'workerId' },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': MAP_COLORS.background } },
      {
        id: LAYERS.districtsFill,
        type: 'fill',
        source: SOURCES.districts,
        paint: {
          // The outline layers draw the edges: the fill's own antialiased edge would be a second pass.
          'fill-antialias': false,
          'fill-color': districtTint(),
          'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.2, 0.1],
        },
      },
      {
        id: LAYERS.gridCellsFill,
        type: 'fill',
        source: SOURCES.gridCells,
        'source-layer': SOURCE_LAYERS.gridCells,
        paint: {
          'fill-antialias': false,
          'fill-color': choropleth,
          'fill-opacity': ['case', ['>', open, 0], 0.5, 0.22],
        },
      },
      {
        id: LAYERS.gridCellsOutline,
        type: 'line',
        source: SOURCES.gridCells,
        'source-layer': SOURCE_LAYERS.gridCells,
        paint: {
          'line-color': MAP_COLORS.gridOutline,
          'line-width': ['interpolate', ['linear'], ['zoom'], 11, 0.3, 14, 0.8, 17, 1.4],
          'line-opacity': ['interpolate', ['linear'], ['zoom'], 11, 0.45, 14, 0.8],
        },
      },
      {
        id: LAYERS.gridCellsHover,
        type: 'line',
        source: SOURCES.gridCells,
        'source-layer': SOURCE_LAYERS.gridCells,
        paint: {
          'line-color': MAP_COLORS.gridHover,
          'line-width': 2,
          'line-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 1, 0],
        },
      },
      {
        id: LAYERS.streetsFill,
        type: 'fill',
        source: SOURCES.streets,
        paint: { 'fill-color': '#000000', 'fill-opacity': 0 },
      },
      {
        id: LAYERS.streetsOutline,
        type: 'line',
        source: SOURCES.streets,
        layout: { 'line-join': 'round' },
        paint: {
          'line-color': MAP_COLORS.streetOutline,
          'line-width': ['interpolate', ['linear'], ['zoom'], 11, 0.8, 15, 1.6],
          'line-opacity': 0.7,
          'line-dasharray': [3, 2],
        },
      },
      {
        id: LAYERS.districtsOutline,
        type: 'line',
        source: SOURCES.districts,
        layout: { 'line-join': 'round' },
        paint: {
          'line-color': MAP_COLORS.districtOutline,
          'line-width': ['interpolate', ['linear'], ['zoom'], 11, 1.6, 15, 3],
          'line-opacity': 0.9,
        },
      },
      {
        id: LAYERS.heatCells,
        type: 'heatmap',
        source: SOURCES.heat,
        'source-layer': SOURCE_LAYERS.caseCells,
        layout: { visibility: 'none' },
        paint: {
          'heatmap-weight': ['interpolate', ['linear'], ['get', 'count'], 0, 0, 20, 1],
          'heatmap-radius': ['interpolate', ['linear'], ['zoom'], 10, 14, 13, 40],
          'heatmap-opacity': 0.75,
        },
      },
      {
        id: LAYERS.heatPoints,
        type: 'heatmap',
        source: SOURCES.heat,
        'source-layer': SOURCE_LAYERS.cases,
        minzoom: CASE_POINTS_MIN_ZOOM,
        layout: { visibility: 'none' },
        paint: { 'heatmap-radius': 24, 'heatmap-opacity': 0.75 },
      },
      {
        id: LAYERS.caseCells,
        type: 'circle',
        source: SOURCES.cases,
        'source-layer': SOURCE_LAYERS.caseCells,
        paint: {
          'circle-color': [
            'case',
            ['>', ['get', 'overdue'], 0],
            OVERDUE_COLOR,
            ['>', ['get', 'open'], 0],
            STATUS_COLORS.REPORTED,
            STATUS_COLORS.CLOSED,
          ],
          'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'count']], 1, 3, 10, 14],
          'circle-opacity': 0.8,
          'circle-stroke-color': MAP_COLORS.background,
          'circle-stroke-width': 1,
        },
      },
      {
        id: LAYERS.casesHalo,
        type: 'circle',
        source: SOURCES.cases,
        'source-layer': SOURCE_LAYERS.cases,
        minzoom: CASE_POINTS_MIN_ZOOM,
        filter: URGENT_OPEN,
        paint: {
          'circle-color': URGENT_COLOR,
          'circle-opacity': 0.18,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 14, 10, 17, 16],
          'circle-stroke-color': URGENT_COLOR,
          'circle-stroke-width': 1,
          'circle-stroke-opacity': 0.6,
        },
      },
      {
        id: LAYERS.cases,
        type: 'circle',
        source: SOURCES.cases,
        'source-layer': SOURCE_LAYERS.cases,
        minzoom: CASE_POINTS_MIN_ZOOM,
        paint: {
          'circle-color': statusColor(),
          'circle-radius': caseCircle([
            'interpolate',
            ['linear'],
            ['zoom'],
            14,
            ['case', isSettled, 3, 5],
            17,
            ['case', isSettled, 5, 8],
          ]),
          'circle-opacity': ['case', isSettled, 0.55, 0.95],
          'circle-stroke-color': [
            'case',
            ['boolean', ['get', 'overdue'], false],
            OVERDUE_COLOR,
            MAP_COLORS.background,
          ],
          'circle-stroke-width': ['case', ['boolean', ['get', 'overdue'], false], 2, 0.8],
        },
      },
      {
        id: LAYERS.caseSelected,
        type: 'circle',
        source: SOURCES.cases,
        'source-layer': SOURCE_LAYERS.cases,
        minzoom: CASE_POINTS_MIN_ZOOM,
        paint: {
          'circle-color': 'rgba(0,0,0,0)',
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 14, 9, 17, 13],
          'circle-stroke-color': MAP_COLORS.selection,
          'circle-stroke-width': 2,
          'circle-stroke-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 1, 0],
        },
      },
      {
        // Cases that changed since the tiles were cut: drawn at every zoom, on top, ringed white.
        id: LAYERS.liveCases,
        type: 'circle',
        source: SOURCES.liveCases,
        paint: {
          'circle-color': statusColor(),
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 4, 14, 6, 17, 9],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1.5,
        },
      },
      {
        id: LAYERS.sensors,
        type: 'circle',
        source: SOURCES.sensors,
        'source-layer': SOURCE_LAYERS.sensors,
        paint: {
          'circle-color': sensorColor(),
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 2.5, 14, 5, 17, 7],
          'circle-stroke-color': '#0b1220',
          'circle-stroke-width': 1,
          'circle-pitch-alignment': 'map',
        },
      },
      {
        id: LAYERS.workers,
        type: 'circle',
        source: SOURCES.workers,
        filter: ['==', ['get', 'onDuty'], true],
        paint: {
          'circle-color': WORKER_COLOR,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 2.5, 14, 5, 17, 7],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1,
        },
      },
    ],
  };
  if (options.hidden) {
    const grouped = new Set<string>(Object.values(LAYER_GROUPS).flat());
    for (const layer of style.layers) {
      if (grouped.has(layer.id) && layer.type !== 'background')
        layer.layout = { ...layer.layout, visibility: 'none' };
    }
  }
  return style;
}
