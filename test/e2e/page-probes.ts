/// <reference lib="dom" />
/**
 * Functions the browser tests run inside the page (through `page.evaluate`), reading the map
 * through the app's read-only `window.__citygrid` hook. Each is self-contained: Playwright sends
 * its source to the page, so it may use nothing from this module's scope.
 */

interface ProbeFeature {
  id?: string | number;
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown };
  layer: { id: string };
}

interface ProbeMap {
  queryRenderedFeatures(
    geometryOrOptions?: [number, number] | [[number, number], [number, number]] | { layers?: string[] },
    options?: { layers?: string[] },
  ): ProbeFeature[];
  project(lngLat: [number, number]): { x: number; y: number };
  getBounds(): { toArray(): [[number, number], [number, number]] };
  getZoom(): number;
  getCanvas(): HTMLCanvasElement;
  getContainer(): HTMLElement;
  loaded(): boolean;
  once(event: string, listener: () => void): unknown;
  triggerRepaint(): void;
}

declare global {
  interface Window {
    __citygrid?: { readonly map: ProbeMap };
  }
}

export interface RenderedSummary {
  districtIds: string[];
  gridCellIds: string[];
  caseIds: string[];
  caseStatuses: string[];
  bounds: [[number, number], [number, number]];
  zoom: number;
}

/** Unique ids of what the map has rendered, per layer. */
export function renderedSummary(layers: {
  districts: string;
  gridCells: string;
  cases: string;
}): RenderedSummary {
  const map = window.__citygrid!.map;
  const ids = (layer: string) => [
    ...new Set(map.queryRenderedFeatures({ layers: [layer] }).map((f) => String(f.properties.id))),
  ];
  const cases = map.queryRenderedFeatures({ layers: [layers.cases] });
  return {
    districtIds: ids(layers.districts),
    gridCellIds: ids(layers.gridCells),
    caseIds: [...new Set(cases.map((f) => String(f.properties.id)))],
    caseStatuses: [...new Set(cases.map((f) => String(f.properties.status)))].sort(),
    bounds: map.getBounds().toArray(),
    zoom: map.getZoom(),
  };
}

/** Resolves once the map has loaded everything it needs and stopped rendering. */
export function mapIdle(): Promise<void> {
  const map = window.__citygrid!.map;
  return new Promise((resolve) => {
    map.once('idle', () => resolve());
    map.triggerRepaint();
  });
}

export interface PixelCensus {
  sampled: number;
  /** Pixels that are not the map's background colour. */
  painted: number;
  /** Per legend status: pixels within a small distance of its legend colour. */
  byStatus: Record<string, number>;
}

/**
 * Reads back what WebGL actually drew (in the frame's `render` event, while the drawing buffer is
 * still intact) and counts pixels near each status colour of the legend.
 */
export function pixelCensus(): Promise<PixelCensus> {
  const map = window.__citygrid!.map;
  // A CSS colour as `#rrggbb` or `rgb(r, g, b)`.
  const parse = (css: string): [number, number, number] => {
    const text = css.trim();
    if (text.startsWith('#')) {
      const hex = text.slice(1);
      return [0, 2, 4].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)) as [number, number, number];
    }
    const [r = 0, g = 0, b = 0] = (text.match(/\d+(\.\d+)?/g) ?? []).map(Number);
    return [r, g, b];
  };
  const targets: [string, [number, number, number]][] = [];
  for (const row of document.querySelectorAll<HTMLElement>('[data-status]')) {
    const swatch = row.querySelector<HTMLElement>('.status-row__swatch');
    const colour = swatch ? getComputedStyle(swatch).getPropertyValue('--swatch') : '';
    if (colour) targets.push([row.dataset.status!, parse(colour)]);
  }
  // The map container's background is the same colour as the style's background layer.
  const background = parse(getComputedStyle(map.getContainer()).backgroundColor);
  return new Promise((resolve, reject) => {
    map.once('render', () => {
      const url = map.getCanvas().toDataURL('image/png');
      const image = new Image();
      image.onerror = () => reject(new Error('could not decode the map canvas'));
      image.onload = () => {
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(image, 0, 0);
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        const census: PixelCensus = { sampled: 0, painted: 0, byStatus: {} };
        for (const [status] of targets) census.byStatus[status] = 0;
        const near = (i: number, [r, g, b]: [number, number, number], tolerance: number) =>
          Math.abs(data[i]! - r) + Math.abs(data[i + 1]! - g) + Math.abs(data[i + 2]! - b) <= tolerance;
        for (let i = 0; i < data.length; i += 4) {
          census.sampled++;
          if (!near(i, background, 12)) census.painted++;
          for (const [status, colour] of targets) if (near(i, colour, 36)) census.byStatus[status]!++;
        }
        resolve(census);
      };
      image.src = url;
    });
    map.triggerRepaint();
  });
}

/**
 * A case circle in the open middle of the map (not under a panel), and the code of the case
 * drawn on top at that point; null when there is none.
 */
export function pickCase(args: {
  layer: string;
  panelMargin: number;
}): { x: number; y: number; code: string } | null {
  const map = window.__citygrid!.map;
  const { width, height } = map.getCanvas().getBoundingClientRect();
  for (const feature of map.queryRenderedFeatures({ layers: [args.layer] })) {
    const [lon, lat] = feature.geometry.coordinates as [number, number];
    const { x, y } = map.project([lon, lat]);
    if (x < args.panelMargin || x > width - args.panelMargin || y < 40 || y > height - 140) continue;
    const top = map.queryRenderedFeatures([x, y], { layers: [args.layer] })[0];
    if (top) return { x, y, code: String(top.properties.code) };
  }
  return null;
}

/** A point inside a grid cell, in the open middle of the map, with no case drawn near it. */
export function pickGridCellPoint(args: {
  gridLayer: string;
  caseLayers: string[];
  panelMargin: number;
}): { x: number; y: number; name: string; code: string } | null {
  const map = window.__citygrid!.map;
  const { width, height } = map.getCanvas().getBoundingClientRect();
  for (const feature of map.queryRenderedFeatures({ layers: [args.gridLayer] })) {
    const g = feature.geometry;
    const ring =
      (g.type === 'Polygon'
        ? (g.coordinates as number[][][])[0]
        : (g.coordinates as number[][][][])[0]?.[0]) ?? [];
    if (ring.length === 0) continue;
    const lon = ring.reduce((s, p) => s + p[0]!, 0) / ring.length;
    const lat = ring.reduce((s, p) => s + p[1]!, 0) / ring.length;
    const { x, y } = map.project([lon, lat]);
    if (x < args.panelMargin || x > width - args.panelMargin || y < 40 || y > height - 140) continue;
    const box: [[number, number], [number, number]] = [
      [x - 10, y - 10],
      [x + 10, y + 10],
    ];
    if (map.queryRenderedFeatures(box, { layers: args.caseLayers }).length > 0) continue;
    const here = map.queryRenderedFeatures([x, y], { layers: [args.gridLayer] })[0];
    if (!here) continue;
    return { x, y, name: String(here.properties.name), code: String(here.properties.code) };
  }
  return null;
}
