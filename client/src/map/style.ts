/**
 * The command-center map style, built in code: a plain background and our own GeoJSON layers.
 * Nothing is fetched from outside the machine (no remote style, tiles, glyphs or sprites), which is
 * also why there are no symbol layers: labels would need glyphs, so names show in popups instead.
 */
import type { ExpressionSpecification, StyleSpecification } from 'maplibre-gl';
import { CASE_STATUSES, DISTRICT_TINTS, MAP_COLORS, STATUS_COLORS, URGENT_COLOR } from './palette';

/** Source ids, each a GeoJSON source filled after login. */
export const SOURCES = {
  districts: 'districts',
  streets: 'streets',
  gridCells: 'grid-cells',
  cases: 'cases',
} as const;

/** Layer ids; the browser test and the click handlers query these. */
export const LAYERS = {
  districtsFill: 'districts-fill',
  districtsOutline: 'districts-outline',
  streetsFill: 'streets-fill',
  streetsOutline: 'streets-outline',
  gridCellsFill: 'grid-cells-fill',
  gridCellsOutline: 'grid-cells-outline',
  gridCellsHover: 'grid-cells-hover',
  casesHalo: 'cases-halo',
  cases: 'cases-circle',
  caseSelected: 'cases-selected',
} as const;

/** Which layers each toggle in the layer panel shows or hides. */
export const LAYER_GROUPS = {
  districts: [LAYERS.districtsFill, LAYERS.districtsOutline],
  streets: [LAYERS.streetsOutline],
  grid: [LAYERS.gridCellsFill, LAYERS.gridCellsOutline, LAYERS.gridCellsHover],
  cases: [LAYERS.casesHalo, LAYERS.cases, LAYERS.caseSelected],
} as const;
export type LayerGroup = keyof typeof LAYER_GROUPS;

const emptyCollection: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

function statusColor(): ExpressionSpecification {
  const pairs = CASE_STATUSES.flatMap((status) => [status, STATUS_COLORS[status]]);
  return ['match', ['get', 'status'], ...pairs, '#e2e8f0'] as unknown as ExpressionSpecification;
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

/** Urgent cases still in the loop get a halo; a closed urgent case is history, not an alert. */
export const URGENT_OPEN: ExpressionSpecification = [
  'all',
  ['==', ['get', 'priority'], 'URGENT'],
  ['!', ['in', ['get', 'status'], ['literal', ['CLOSED', 'REJECTED']]]],
];

/** Closed and rejected cases recede so that the open ones stand out. */
const isSettled: ExpressionSpecification = ['in', ['get', 'status'], ['literal', ['CLOSED', 'REJECTED']]];

export function commandCenterStyle(): StyleSpecification {
  return {
    version: 8,
    name: 'citygrid-command-center',
    sources: {
      [SOURCES.districts]: { type: 'geojson', data: emptyCollection, promoteId: 'id' },
      [SOURCES.streets]: { type: 'geojson', data: emptyCollection, promoteId: 'id' },
      [SOURCES.gridCells]: { type: 'geojson', data: emptyCollection, promoteId: 'id' },
      [SOURCES.cases]: { type: 'geojson', data: emptyCollection, promoteId: 'id' },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': MAP_COLORS.background } },
      {
        id: LAYERS.districtsFill,
        type: 'fill',
        source: SOURCES.districts,
        paint: {
          'fill-color': districtTint(),
          'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.2, 0.12],
        },
      },
      {
        id: LAYERS.gridCellsFill,
        type: 'fill',
        source: SOURCES.gridCells,
        paint: {
          'fill-color': MAP_COLORS.gridFill,
          'fill-opacity': ['interpolate', ['linear'], ['zoom'], 11, 0.18, 15, 0.3],
        },
      },
      {
        id: LAYERS.gridCellsOutline,
        type: 'line',
        source: SOURCES.gridCells,
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
        paint: {
          'line-color': MAP_COLORS.gridHover,
          'line-width': 2,
          'line-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 1, 0],
        },
      },
      // Invisible, only so that a click can tell which street it fell in.
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
        id: LAYERS.casesHalo,
        type: 'circle',
        source: SOURCES.cases,
        filter: URGENT_OPEN,
        paint: {
          'circle-color': URGENT_COLOR,
          'circle-opacity': 0.18,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 6, 16, 14],
          'circle-stroke-color': URGENT_COLOR,
          'circle-stroke-width': 1,
          'circle-stroke-opacity': 0.6,
        },
      },
      {
        id: LAYERS.cases,
        type: 'circle',
        source: SOURCES.cases,
        paint: {
          'circle-color': statusColor(),
          'circle-radius': [
            'interpolate',
            ['linear'],
            ['zoom'],
            11,
            ['case', isSettled, 1.6, 3],
            14,
            ['case', isSettled, 3, 5],
            17,
            ['case', isSettled, 5, 8],
          ],
          'circle-opacity': ['case', isSettled, 0.55, 0.95],
          'circle-stroke-color': MAP_COLORS.background,
          'circle-stroke-width': ['case', isSettled, 0, 0.8],
        },
      },
      {
        id: LAYERS.caseSelected,
        type: 'circle',
        source: SOURCES.cases,
        paint: {
          'circle-color': 'rgba(0,0,0,0)',
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 11, 7, 16, 13],
          'circle-stroke-color': MAP_COLORS.selection,
          'circle-stroke-width': 2,
          'circle-stroke-opacity': ['case', ['boolean', ['feature-state', 'selected'], false], 1, 0],
        },
      },
    ],
  };
}
